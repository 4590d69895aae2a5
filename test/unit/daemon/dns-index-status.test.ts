import { pino } from 'pino';
import { dnsIndexStatus } from '../../../src/daemon/dns-index-status.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { DnsIndex } from '../../../src/vault/dns-index.js';
import type { PmpResource, ResourceDirectory } from '../../../src/vault/types.js';

/** The status fields of a DNS-name index, read while it builds and once it is complete. */

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('dnsIndexStatus', () => {
  it('is empty for a profile without an index', () => {
    expect(dnsIndexStatus(null)).toEqual({});
    expect(dnsIndexStatus(undefined)).toEqual({});
  });

  it('counts the resources read against the listed ones, the duplicates, and says when the index is complete', async () => {
    const dns: Record<string, string> = { '1': 'a.corp.example', '2': 'b.corp.example', '3': 'B.corp.example.', '4': '10.0.0.4', '5': '10.0.0.5' };
    let releaseLast: () => void = () => undefined;
    const vault: ResourceDirectory = {
      listResources: async () => Object.keys(dns).map((id): PmpResource => ({ id, name: `Host_${id}`, type: 'Linux', description: undefined, dnsName: undefined })),
      // Resource 5's read is held until the test lets it go: the index is mid-build until then.
      resourceDnsName: (id) => (id === '5' ? new Promise((resolve) => (releaseLast = () => resolve(dns[id]))) : Promise.resolve(dns[id])),
    };
    const index = new DnsIndex({ vault, clock: new ManualClock(), logger: pino({ level: 'silent' }), maxCallsPerMinute: 120, refreshIntervalMs: 15 * 60_000 });
    expect(dnsIndexStatus(index)).toEqual({ dnsIndex: { state: 'idle', listed: 0, indexed: 0, complete: false, duplicates: 0 } });
    index.start();
    for (let i = 0; i < 5; i++) await flush();
    expect(dnsIndexStatus(index)).toEqual({ dnsIndex: { state: 'building', listed: 5, indexed: 4, complete: false, duplicates: 1 } });
    releaseLast();
    await index.whenReady();
    expect(dnsIndexStatus(index)).toEqual({ dnsIndex: { state: 'ready', listed: 5, indexed: 5, complete: true, duplicates: 1 } });
    index.stop();
  });
});
