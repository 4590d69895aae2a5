import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { findResetListener } from '../../src/cli/demo-notices.js';
import { SAMPLE_DATA, SAMPLE_TOKEN } from '../../src/sim/pmp/index.js';
import { cliMain, cliUnderTest, spawnCli, type CliProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * `credgw demo` end to end: the built CLI (dist/ of this tree, which
 * `npm test` builds first, or CREDGW_TEST_DIST pointing at another built
 * dist/ directory) spawned as a real process, as the README runs it.
 */

const PASSWORDS = SAMPLE_DATA.resources.flatMap((r) => r.accounts.map((a) => a.password));
const passwordOf = (accountId: string): string => SAMPLE_DATA.resources.flatMap((r) => r.accounts).find((a) => a.id === accountId)!.password;
/** The masked form (as a RegExp source) the demo shows of a password. */
const masked = (pw: string): string => `${pw.slice(0, 2)}••• \\(${pw.length} chars\\)`;
/** administrator's (902) password, masked. */
const MASKED = masked(passwordOf('902'));
/** deploy (912) of Linux_Web_01, the resource the cloud knows only by host name. */
const DEPLOY_PASSWORD = passwordOf('912');

/** breakglass (905), the account behind access control, masked. */
const MASKED_BREAKGLASS = masked(passwordOf('905'));

/** The whole demo may take this long (the full suite on 2 busy cores: several times a lone run); a wait for one of its lines, too. */
const DEMO_WAIT_MS = 80_000;

function startDemo(args: string[] = [], env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['demo', ...args], { env });
}

/** Whether the demo will run the reset-listener script: found beside the CLI under test, and sh and curl there to run it. */
function scriptExpected(): boolean {
  return findResetListener(cliUnderTest()) !== undefined && existsSync('/bin/sh') && spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
}

/** A PATH with nothing on it: no curl, so the demo tells both gateways by syslog alone (as the single binary does on its own). */
const emptyPathDir = mkdtempSync(join(tmpdir(), 'credgw-demo-empty-path-'));
mkdirSync(join(emptyPathDir, 'bin'));
afterAll(() => rmSync(emptyPathDir, { recursive: true, force: true }));

/** Pids whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An HTTP answer's text and its JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { text: string; json: any };

function printedPids(text: string): number[] {
  return [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
}

describe('credgw demo (built CLI as a real process)', () => {
  beforeAll(() => {
    cliMain(); // fails with a clear message when the CLI is not built
  });

  it('runs the console launch, a rotation and an approval, fails over to the standby, shows no password and leaves nothing behind', async () => {
    const demo = startDemo();
    const { code } = await demo.exited;
    const out = demo.output();
    expect({ code, out }).toMatchObject({ code: 0 });

    const lines = out.split('\n');
    const line = (pattern: RegExp): string => {
      const found = lines.find((l) => pattern.test(l));
      if (!found) throw new Error(`no line matches ${pattern} in:\n${out}`);
      return found;
    };
    const withScript = scriptExpected();
    const setOffBy = withScript ? 'reset listener and syslog' : 'syslog';
    line(new RegExp(`^✓ +1/17 +PMP simulator +https://127\\.0\\.0\\.1:\\d+, built-in sample data, on a password change: ${setOffBy} to both gateways`));
    line(/^✓ +2\/17 +reference controller +wss:\/\/127\.0\.0\.1:\d+\/gateway \(TLS/);
    line(/^✓ +3\/17 +gateway gw-a +active at epoch 1, priority 200/);
    line(/^✓ +4\/17 +gateway gw-b +standby at epoch 1, priority 100/);
    line(/^✓ +5\/17 +listAccounts +"PMP Resource ID": "Windows_Jump_Box" → PMP resource 301 Windows_Jump_Box, 4 accounts · by gw-a/);
    line(/902 +administrator +Domain admin for the jump box/);
    line(/903 +svc_backup +Backup service; change ticket needed +ticket ID required/);
    line(new RegExp(`^✓ +6/17 +getPassword +administrator \\(902\\) with ticket INC-1042 → ${MASKED} · by gw-a`));
    line(/^✓ +7\/17 +getPassword, sealed +RSA-2048 recipient key → only sealedPassword .* matches the plain fetch · by gw-a/);
    line(/^✓ +8\/17 +getPassword, no ticket +svc_backup \(903\) without a ticket ID → refused: TICKET_ID_REQUIRED/);
    line(new RegExp(`^✓ +9/17 +getPassword, host name +hostName "WEB01.CORP.EXAMPLE" → PMP resource 302 \\(DNS NAME web01.corp.example\\), deploy \\(912\\) → ${masked(DEPLOY_PASSWORD)} · by gw-a`));

    // The rotation: one event at the controller, both gateways told by every source, one id.
    line(/^✓ 10\/17 +rotation → event +Linux_Web_01 \/ deploy rotated in the simulator → one credentialRotated stored at the controller (\d+ ms|\d+\.\d\d s) after the rotation began, [1-9]\d* later cop(y|ies) dropped by id/);
    line(
      withScript
        ? /^ +the vault set off: reset listener \S+\/credgw-notify\.sh \(exit 0\) and syslog over TCP to both gateways$/
        : /^ +the vault set off: syslog over TCP to both gateways \(no reset listener: .+\)$/,
    );
    const sources = withScript ? 'listener\\+syslog' : 'syslog';
    const recorded = line(new RegExp(`^ +each gateway, each source → one id: gw-a ${sources}, gw-b ${sources} → (ev-[0-9a-f]{32})$`));
    const stored = line(
      /^ +stored: #1 credentialRotated (ev-[0-9a-f]{32}) · vault pmp-demo · resource (302 )?Linux_Web_01( \(web01\.corp\.example\))? · account (912 )?deploy · rotatedAt \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z · source (listener|syslog) · first from gw-[ab]$/,
    );
    expect(/(ev-[0-9a-f]{32})/.exec(stored)![1]).toBe(/(ev-[0-9a-f]{32})/.exec(recorded)![1]);
    expect(lines.filter((l) => / stored: #\d+ /.test(l))).toHaveLength(1);

    // The approval: pending with a retry hint, approved in the simulator, released, checked in.
    line(/^✓ 11\/17 +access request +breakglass \(905\) with requestAccess → APPROVAL_PENDING \(retryable, retryAfterMs 30000\); PAM360 request 1 raised for "Emergency console access \(credgw demo\)", waits for an approver · by gw-a/);
    line(new RegExp(`^✓ 12/17 +approved → released +approver@example\\.com approves request 1 \\(the simulator's admin call, as in PAM360's UI\\) → getPassword breakglass → ${MASKED_BREAKGLASS}, request checkedOut · by gw-a`));
    line(/^✓ 13\/17 +checkInPassword +breakglass \(905\) given back → ok; request 1 checkedIn · by gw-a/);

    line(/^✓ 14\/17 +kill -9 the active +gw-a \(pid \d+\) killed by SIGKILL at epoch 1/);
    line(/^✓ 15\/17 +standby promoted +gw-b active at epoch 2 \(was 1\)/);
    const served = line(new RegExp(`^✓ 16/17 +standby serves +getPassword administrator → ${MASKED} by gw-b at epoch 2`));
    line(/^✓ 17\/17 +clean up +3 running processes stopped \(of 4 started\)/);
    line(/^#\s+step\s+result\s+time$/);
    line(/^demo complete: every step ok; kill -9 of the active → first password from the standby: /);
    expect(served).toMatch(/\((\d+ ms|\d+\.\d\d s)\)$/);

    for (const pw of PASSWORDS) expect(out).not.toContain(pw);
    expect(out).not.toContain(SAMPLE_TOKEN);

    const pids = [...new Set(printedPids(out))];
    expect(pids).toHaveLength(4);
    expect(pids.filter(isRunning)).toEqual([]);
    const dir = /working in (\S+)/.exec(out)![1]!;
    expect(existsSync(dir)).toBe(false);
  }, 100_000);

  it('Ctrl-C in the middle stops every child and removes the temp dir', async () => {
    const demo = startDemo();
    const dir = (await demo.waitForOutput(/working in (\S+)/, 'the working directory', DEMO_WAIT_MS))[1]!;
    // gw-a is up and gw-b is starting: four children, one of them mid-start.
    await demo.waitForOutput(/gateway gw-a +active/, 'gw-a active', DEMO_WAIT_MS);
    const children = childrenOf(demo.child.pid!);
    expect(children.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(dir)).toBe(true);
    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    const out = demo.output();
    expect({ code, out }).toMatchObject({ code: 130 });
    expect(out).toContain('SIGINT: stopping every process the demo started');
    expect(out).toMatch(/clean up +\d running process(es)? stopped/);
    expect(out).toContain('demo interrupted by SIGINT');
    const pids = [...new Set([...children, ...printedPids(out)])];
    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    for (const pw of PASSWORDS) expect(out).not.toContain(pw);
  }, 100_000);

  it('--keep (syslog only, no curl): the controller and the simulator hold what the steps said; the restarted gateway is told of the next rotation too', async () => {
    const demo = startDemo(['--keep'], { PATH: join(emptyPathDir, 'bin') });
    let stopped = false;
    const agents: Agent[] = [];
    try {
      await demo.waitForOutput(/^Press Ctrl-C to stop everything/m, 'the keep phase', DEMO_WAIT_MS);
      const text = demo.output();
      expect(text).toMatch(/^✓ 17\/18 +gw-a restarted +rejoined as standby at epoch 2/m);
      expect(text).toContain('the vault set off: syslog over TCP to both gateways (no reset listener: curl not on PATH)');
      const [, ctlCa, ctlUrl] = /curl --cacert (\S+) -sS (https:\/\/127\.0\.0\.1:\d+)\/api\/v1\/clusters\/demo-site$/m.exec(text)!;
      const [, simCa, simUrl] = /curl --cacert (\S+) -sS (https:\/\/127\.0\.0\.1:\d+)\/__sim\/rotate /m.exec(text)!;
      const ctl = new Agent({ connect: { ca: readFileSync(ctlCa!, 'utf8') } });
      const sim = new Agent({ connect: { ca: readFileSync(simCa!, 'utf8') } });
      agents.push(ctl, sim);
      const call = async (agent: Agent, url: string, body?: unknown): Promise<Answer> => {
        const res = await request(url, { dispatcher: agent, ...(body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
        const t = await res.body.text();
        expect([res.statusCode, url]).toEqual([200, url]);
        return { text: t, json: JSON.parse(t) };
      };
      const events = (): Promise<Answer> => call(ctl, `${ctlUrl}/api/v1/clusters/demo-site/events`);

      // Step 10, seen at the controller itself: one credentialRotated for deploy, the other gateway's copy a repeat
      // (more repeats are fine: gw-a, killed with SIGKILL, may send it again after its restart: at least once).
      const first = await events();
      expect(first.json.events).toEqual([
        expect.objectContaining({ seq: 1, name: 'credentialRotated', data: expect.objectContaining({ vault: 'pmp-demo', resourceName: 'Linux_Web_01', accountName: 'deploy', source: 'syslog' }) }),
      ]);
      expect(first.json.counts).toMatchObject({ held: 1, repeats: expect.any(Number), dropped: 0 });
      expect(first.json.counts.repeats).toBeGreaterThanOrEqual(1);
      expect(text).toContain(`stored: #1 credentialRotated ${first.json.events[0].id} `);

      // Steps 11-13, seen in the simulator: one request for breakglass, approved, checked out, checked in.
      const requests = (await call(sim, `${simUrl}/__sim/requests`)).json.requests;
      expect(requests).toEqual([expect.objectContaining({ requestId: '1', accountId: '905', state: 'checkedIn', decidedBy: 'approver@example.com', reason: 'Emergency console access (credgw demo)' })]);
      const ops = (await call(sim, `${simUrl}/__sim/audit`)).json.rows.map((r: { operation: string; accountName: string }) => `${r.operation} ${r.accountName}`);
      expect(ops).toEqual(['Password Reset deploy', 'Password Requested breakglass', 'Password Request Approved breakglass', 'Password Checked Out breakglass', 'Password Checked In breakglass']);

      // Another rotation, after the failover: one more event, which the restarted gw-a (standby) and gw-b (active) both recorded.
      // Syslog times are whole seconds, and two rotations of one account in one second are one change (one id,
      // docs/protocol.md "Event id"): a fast run reaches this point within the first rotation's second, so wait it out.
      const firstSecond = Math.floor(Date.parse(first.json.events[0].data.rotatedAt as string) / 1000);
      await waitFor(() => Math.floor(Date.now() / 1000) > firstSecond, 'a second after the first rotation', 5_000);
      await call(sim, `${simUrl}/__sim/rotate`, { resourceName: 'Linux_Web_01', accountName: 'deploy' });
      const second = await waitFor(async () => {
        const page = await events();
        return page.json.counts.held >= 2 ? page : undefined;
      }, 'the second rotation at the controller', 30_000);
      expect(second.json.events.map((e: { data: { accountName: string } }) => e.data.accountName)).toEqual(['deploy', 'deploy']);
      const secondId = second.json.events[1].id as string;
      expect(secondId).not.toBe(first.json.events[0].id);
      for (const gw of ['gw-a', 'gw-b']) {
        const log = new RegExp(`^ +${gw} +pid \\d+ +log (\\S+)$`, 'm').exec(text)![1]!;
        await waitFor(() => readFileSync(log, 'utf8').split('\n').some((l) => l.includes('"rotation notice recorded"') && l.includes(`"eventId":"${secondId}"`)), `${gw} recorded ${secondId}`, 30_000);
      }

      // The rotated password is served now, and appears nowhere in what the demo printed.
      const fetched = await call(ctl, `${ctlUrl}/api/v1/clusters/demo-site/commands`, {
        name: 'getPassword',
        params: { vault: 'pmp-demo', resource: { customAttributes: {}, hostName: 'web01.corp.example' }, accountId: '912' },
      });
      const rotated = fetched.json.data.password as string;
      expect(rotated).toMatch(/^Sim-Rot-/);
      for (const t of [first.text, second.text]) expect(t).not.toContain(rotated);

      demo.child.kill('SIGINT');
      stopped = true;
      const { code } = await demo.exited;
      const out = demo.output();
      expect({ code, out }).toMatchObject({ code: 0 });
      expect(out).toMatch(/^✓ 18\/18 +clean up +4 running processes stopped \(of 5 started\)/m);
      for (const pw of [...PASSWORDS, rotated]) expect(out).not.toContain(pw);
      expect(out).not.toContain(SAMPLE_TOKEN);
      expect([...new Set(printedPids(out))].filter(isRunning)).toEqual([]);
      expect(existsSync(/working in (\S+)/.exec(out)![1]!)).toBe(false);
    } finally {
      // SIGTERM: the demo stops its children itself (a SIGKILL would leave them running).
      if (!stopped) demo.child.kill('SIGTERM');
      await demo.exited;
      await Promise.all(agents.map((a) => a.close()));
    }
  }, 150_000);
});
