import type { PmpSimAccount, PmpSimData, PmpSimResource } from './sim-data.js';
import { PmpSimError } from './sim-errors.js';

/**
 * Generated data sets at scale for tests and benchmarks: resources with DNS
 * names of every spelling a real vault holds (fully qualified and short host
 * names, IPv4, IPv6 compressed, expanded and in capitals, trailing dots,
 * capitals), some shared by two resources on purpose, some resources named
 * after a host name that is not their own; and, for paging, one resource
 * with many accounts. Deterministic: the same options give the same data.
 * IDs stay clear of the built-in sample's (resources from 100000, accounts
 * from 10,000,001; the bulk resource's accounts from 50,000,001).
 */

export interface GenerateOptions {
  /** Generated resources (0–200,000). */
  resources: number;
  /** Accounts of each generated resource (0–50). Default 2. */
  accountsPerResource?: number;
  /** Accounts of one more resource, "Gen_Bulk_Accounts" (id 100000), for paging (0–1,000,000). Default 0: no such resource. */
  bulkAccounts?: number;
  /** Seed of the generator. Default 1. */
  seed?: number;
}

export interface GeneratedResources {
  resources: PmpSimResource[];
  /** DNS names shared by several resources, by normal form (lower case, no trailing dot, IPv6 compressed): their resource IDs. */
  duplicates: Map<string, string[]>;
  /** Resources named like another resource's host name (not their own DNS name): their IDs. */
  misleadingNames: string[];
}

export const GENERATED_RESOURCE_ID_BASE = 100_001;
export const GENERATED_BULK_RESOURCE_ID = '100000';
const ACCOUNT_ID_BASE = 10_000_001;
const BULK_ACCOUNT_ID_BASE = 50_000_001;

/** mulberry32: small, fast, and the same sequence on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bounded(value: number | undefined, dflt: number, max: number, what: string): number {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new PmpSimError('SIM_DATA_INVALID', `generate.${what}`, `must be a whole number from 0 to ${max}`);
  return v;
}

/** RFC 5952 text of eight 16-bit groups: lower case, the longest run (≥ 2) of zero groups as "::". */
function ipv6Compressed(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

interface DnsName {
  /** The normal form a lookup compares. */
  key: string;
  /** How the vault's DNS NAME field spells it. */
  text: string;
  kind: 'fqdn' | 'short' | 'ipv4' | 'ipv6';
  groups?: number[];
}

/** Another spelling of the same name (what a second admin would have typed). */
function respell(d: DnsName, rand: () => number): string {
  switch (d.kind) {
    case 'fqdn':
      return rand() < 0.5 ? `${d.key.toUpperCase()}` : `${d.key}.`;
    case 'short':
      return d.key.toUpperCase();
    case 'ipv4':
      return d.key;
    case 'ipv6':
      return rand() < 0.5
        ? d.groups!.map((g) => g.toString(16).padStart(4, '0')).join(':')
        : d.groups!.map((g) => g.toString(16).toUpperCase()).join(':');
  }
}

const PREFIXES = ['web', 'db', 'app', 'jump', 'mail', 'k8s', 'cache', 'files'];
const SITES = ['dc1', 'dc2', 'lab'];
const LINUX_ACCOUNTS = ['root', 'deploy', 'backup', 'oracle', 'postgres', 'ansible'];
const WINDOWS_ACCOUNTS = ['administrator', 'svc_backup', 'svc_sql', 'helpdesk', 'auditor', 'operator'];

function dnsName(i: number, rand: () => number): DnsName {
  const n = String(i).padStart(6, '0');
  const pick = rand();
  if (pick < 0.45) {
    const key = `${PREFIXES[i % PREFIXES.length]}-${n}.${SITES[i % SITES.length]}.corp.example`;
    const style = rand();
    return { key, kind: 'fqdn', text: style < 0.1 ? key.toUpperCase() : style < 0.15 ? `${key}.` : key };
  }
  if (pick < 0.6) {
    const key = `${PREFIXES[i % PREFIXES.length]}${n}`;
    return { key, kind: 'short', text: rand() < 0.1 ? key.toUpperCase() : key };
  }
  if (pick < 0.85) {
    const v = i + 1;
    const key = `10.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    return { key, kind: 'ipv4', text: key };
  }
  const groups = [0xfd00, 0, 0, (i >>> 16) & 0xffff, 0, 0, 0, (i & 0xffff) + 1];
  const key = ipv6Compressed(groups);
  const style = rand();
  const text =
    style < 0.6 ? key : style < 0.8 ? key.toUpperCase() : groups.map((g) => g.toString(16)).join(':');
  return { key, kind: 'ipv6', text, groups };
}

function accountsOf(type: string, resourceIndex: number, count: number, nextId: () => string, rand: () => number): PmpSimAccount[] {
  const names = type === 'Windows' ? WINDOWS_ACCOUNTS : LINUX_ACCOUNTS;
  return Array.from({ length: count }, (_, k) => {
    const id = nextId();
    const flag = rand();
    return {
      id,
      passwdId: id,
      name: names[k] ?? `user${String(k + 1).padStart(2, '0')}`,
      password: `Gen-${id}-${Math.floor(rand() * 0xffffff).toString(16).padStart(6, '0')}`,
      notes: k === 0 ? `Generated account of resource ${resourceIndex}` : '',
      ticketIdRequired: flag < 0.05,
      reasonRequired: flag >= 0.05 && flag < 0.1,
      accessControlled: false,
      accessDenied: false,
      customFields: [],
    };
  });
}

function resource(o: Pick<PmpSimResource, 'id' | 'name' | 'type' | 'dnsName' | 'description' | 'accounts'>): PmpSimResource {
  return { owner: 'admin', department: '', location: '', domainName: '', url: '', passwordPolicy: 'Strong', customFields: [], orgName: null, ...o };
}

export function generateResources(o: GenerateOptions): GeneratedResources {
  const count = bounded(o.resources, 0, 200_000, 'resources');
  const perResource = bounded(o.accountsPerResource, 2, 50, 'accountsPerResource');
  const bulk = bounded(o.bulkAccounts, 0, 1_000_000, 'bulkAccounts');
  const rand = prng(bounded(o.seed, 1, 0xffffffff, 'seed'));
  let accountId = ACCOUNT_ID_BASE;
  const nextId = (): string => String(accountId++);

  const names: DnsName[] = [];
  const byKey = new Map<string, string[]>();
  const takenNames = new Set<string>();
  const misleadingNames: string[] = [];
  const resources: PmpSimResource[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(GENERATED_RESOURCE_ID_BASE + i);
    let dns = dnsName(i, rand);
    let text = dns.text;
    const roll = rand();
    // About 1 in 100 shares an earlier resource's name, spelled as another admin would.
    if (roll < 0.01 && names.length > 0) {
      dns = names[Math.floor(rand() * names.length)]!;
      text = respell(dns, rand);
    }
    names.push(dns);
    byKey.set(dns.key, [...(byKey.get(dns.key) ?? []), id]);

    let name = `gen-res-${String(i + 1).padStart(6, '0')}`;
    const earlier = names[Math.floor(rand() * names.length)]!;
    if (roll >= 0.01 && roll < 0.2 && (dns.kind === 'fqdn' || dns.kind === 'short') && !takenNames.has(dns.key)) {
      name = dns.key; // named after its own host name
    } else if (roll >= 0.2 && roll < 0.25 && dns.kind === 'ipv4' && earlier.kind === 'fqdn' && !takenNames.has(earlier.key)) {
      name = earlier.key; // named after another resource's host name
      misleadingNames.push(id);
    }
    takenNames.add(name.toLowerCase());
    const type = rand() < 0.6 ? 'Linux' : 'Windows';
    resources.push(
      resource({ id, name, type, dnsName: text, description: i % 3 === 0 ? `Generated ${type} host ${i + 1}` : '', accounts: accountsOf(type, i + 1, perResource, nextId, rand) }),
    );
  }
  if (bulk > 0) {
    const accounts = Array.from({ length: bulk }, (_, k): PmpSimAccount => {
      const id = String(BULK_ACCOUNT_ID_BASE + k);
      const n = String(k + 1).padStart(7, '0');
      return { id, passwdId: id, name: `bulk${n}`, password: `Bulk-${n}`, notes: '', ticketIdRequired: false, reasonRequired: false, accessControlled: false, accessDenied: false, customFields: [] };
    });
    resources.push(resource({ id: GENERATED_BULK_RESOURCE_ID, name: 'Gen_Bulk_Accounts', type: 'Linux', dnsName: 'bulk.gen.corp.example', description: 'Generated: many accounts', accounts }));
  }
  const duplicates = new Map([...byKey].filter(([, ids]) => ids.length > 1));
  return { resources, duplicates, misleadingNames };
}

/** `data` with generated resources added after its own (their IDs must not clash; validation says so when they do). */
export function withGenerated(data: PmpSimData, o: GenerateOptions): PmpSimData {
  return { ...data, resources: [...data.resources, ...generateResources(o).resources] };
}
