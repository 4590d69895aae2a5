import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SAMPLE_DATA, SAMPLE_TOKEN } from '../../src/sim/pmp/index.js';
import { cliMain, spawnCli, type CliProcess } from '../helpers/gateway-process.js';

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

/** The whole demo may take this long; a wait for one of its lines, too. */
const DEMO_WAIT_MS = 35_000;

function startDemo(args: string[] = []): CliProcess {
  return spawnCli(['demo', ...args]);
}

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

function printedPids(text: string): number[] {
  return [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
}

describe('credgw demo (built CLI as a real process)', () => {
  beforeAll(() => {
    cliMain(); // fails with a clear message when the CLI is not built
  });

  it('runs the console launch, fails over to the standby, shows no password and leaves nothing behind', async () => {
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
    line(/^✓ +1\/13 +PMP simulator +https:\/\/127\.0\.0\.1:\d+/);
    line(/^✓ +2\/13 +reference controller +wss:\/\/127\.0\.0\.1:\d+\/gateway \(TLS/);
    line(/^✓ +3\/13 +gateway gw-a +active at epoch 1, priority 200/);
    line(/^✓ +4\/13 +gateway gw-b +standby at epoch 1, priority 100/);
    line(/^✓ +5\/13 +listAccounts +"PMP Resource ID": "Windows_Jump_Box" → PMP resource 301 Windows_Jump_Box, 4 accounts · by gw-a/);
    line(/902 +administrator +Domain admin for the jump box/);
    line(/903 +svc_backup +Backup service; change ticket needed +ticket ID required/);
    line(new RegExp(`^✓ +6/13 +getPassword +administrator \\(902\\) with ticket INC-1042 → ${MASKED} · by gw-a`));
    line(/^✓ +7\/13 +getPassword, sealed +RSA-2048 recipient key → only sealedPassword .* matches the plain fetch · by gw-a/);
    line(/^✓ +8\/13 +getPassword, no ticket +svc_backup \(903\) without a ticket ID → refused: TICKET_ID_REQUIRED/);
    line(new RegExp(`^✓ +9/13 +getPassword, host name +hostName "WEB01.CORP.EXAMPLE" → PMP resource 302 \\(DNS NAME web01.corp.example\\), deploy \\(912\\) → ${masked(DEPLOY_PASSWORD)} · by gw-a`));
    line(/^✓ +10\/13 +kill -9 the active +gw-a \(pid \d+\) killed by SIGKILL at epoch 1/);
    line(/^✓ 11\/13 +standby promoted +gw-b active at epoch 2 \(was 1\)/);
    const served = line(new RegExp(`^✓ 12/13 +standby serves +getPassword administrator → ${MASKED} by gw-b at epoch 2`));
    line(/^✓ 13\/13 +clean up +3 running processes stopped \(of 4 started\)/);
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
  }, 40_000);

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
  }, 40_000);
});
