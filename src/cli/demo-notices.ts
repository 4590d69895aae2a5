import { randomBytes, randomInt } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { DEMO_VAULT, GATEWAYS, writeSecret, type DemoNotices, type GatewayNoticePorts } from './demo-context.js';

/**
 * The demo's rotation notices, set up before anything starts (the
 * simulator's reset listener and syslog collectors are fixed when it
 * starts): a loopback port for each gateway's notice listener and syslog
 * receiver, the notices token, and the reset-listener script PAM360 would
 * run. That is the shipped credgw-notify.sh when it is found beside this
 * credgw (the source tree's contrib/, a package's /usr/share/credgw, a
 * tarball's reset-listener/) and sh and curl are there to run it; it is
 * copied into the demo's directory with its configuration, as an
 * administrator installs it (docs/pmp-admin.md). Otherwise (the single
 * binary on its own) syslog alone tells both gateways.
 */

/** What the simulator runs: the copy of the script beside its configuration and token. */
const SCRIPT = 'credgw-notify.sh';

/** Where a credgw installation keeps the script, relative to the CLI entry's directory, checked in this order. */
const SCRIPT_PLACES = [
  // dist/cli/main.js, and a binary built into build/bin/ of the source tree.
  '../../contrib/reset-listener',
  // The tarball: the binary beside reset-listener/.
  'reset-listener',
  // The .deb and .rpm: /usr/bin/credgw and /usr/share/credgw/reset-listener.
  '../share/credgw/reset-listener',
] as const;
const PACKAGED_SCRIPT_DIR = '/usr/share/credgw/reset-listener';

/** Picks the ports, writes the token, finds and copies the script. */
export async function prepareNotices(dir: string, cliEntry: string, env: NodeJS.ProcessEnv): Promise<DemoNotices> {
  const picked = await freePorts(GATEWAYS.length * 2);
  const ports = new Map<string, GatewayNoticePorts>(GATEWAYS.map((g, i) => [g.id, { listener: picked[2 * i]!, syslog: picked[2 * i + 1]! }]));
  const token = randomBytes(24).toString('base64url');
  const tokenRef = writeSecret(join(dir, 'notices.token'), token);

  const found = findResetListener(cliEntry);
  const missing = found === undefined ? `${SCRIPT} not found beside ${cliEntry}` : missingTools(env);
  if (found === undefined || missing !== null) return { tokenRef, ports, script: null, scriptWhyNot: missing };
  const scriptDir = join(dir, 'reset-listener');
  mkdirSync(scriptDir, { mode: 0o700 });
  const path = join(scriptDir, SCRIPT);
  writeFileSync(path, readFileSync(found), { mode: 0o700 });
  writeFileSync(join(scriptDir, 'credgw-notify.token'), `${token}\n`, { mode: 0o600 });
  return { tokenRef, ports, script: { path, from: found }, scriptWhyNot: null };
}

/** The simulator's flags: the script as its reset listener (post-reset, legacy PMP arguments), and a syslog collector per gateway over TCP. */
export function simNoticeArgs(n: DemoNotices): string[] {
  const listener = n.script ? ['--reset-listener', n.script.path] : [];
  const syslog = [...n.ports.values()].flatMap((p) => ['--syslog', `tcp://127.0.0.1:${p.syslog}`]);
  return [...listener, ...syslog];
}

/** A gateway's `notices` block: the listener and syslog over TCP on its loopback ports, only loopback senders. */
export function gatewayNotices(n: DemoNotices, gatewayId: string): Record<string, unknown> {
  const p = n.ports.get(gatewayId)!;
  return {
    listen: `127.0.0.1:${p.listener}`,
    token: n.tokenRef,
    allowFrom: ['127.0.0.1'],
    syslog: { tcp: `127.0.0.1:${p.syslog}`, sources: [{ vault: DEMO_VAULT, from: ['127.0.0.1'] }] },
  };
}

/** The script's credgw-notify.conf: the vault, and each gateway's URL with the pin its listener printed. */
export function writeNotifyConf(n: DemoNotices, pins: ReadonlyMap<string, string>): void {
  if (!n.script) return;
  const lines = ['# Written by credgw demo (docs/pmp-admin.md).', `VAULT=${DEMO_VAULT}`];
  for (const [id, p] of n.ports) {
    const pin = pins.get(id)!;
    lines.push(`GATEWAY=https://127.0.0.1:${p.listener} ${pin.startsWith('sha256//') ? pin : `sha256//${pin}`}`);
  }
  lines.push('TOKEN_FILE=credgw-notify.token', 'TIMEOUT=5', '');
  writeFileSync(join(dirname(n.script.path), 'credgw-notify.conf'), lines.join('\n'), { mode: 0o600 });
}

/**
 * The shipped script nearest the CLI entry (by its real path: /usr/bin/credgw
 * may be a link), else the package's place, else undefined.
 * @param packagedDir default /usr/share/credgw/reset-listener (a test's own stands in for it).
 */
export function findResetListener(cliEntry: string, packagedDir: string = PACKAGED_SCRIPT_DIR): string | undefined {
  let base: string;
  try {
    base = dirname(realpathSync(cliEntry));
  } catch {
    base = dirname(cliEntry);
  }
  const candidates = [...SCRIPT_PLACES.map((p) => join(base, p, SCRIPT)), join(packagedDir, SCRIPT)];
  return candidates.find((c) => existsSync(c) && readable(c));
}

/** What the script needs that is not there: its shell and curl (from the PATH the simulator passes on). */
function missingTools(env: NodeJS.ProcessEnv): string | null {
  if (!existsSync('/bin/sh')) return '/bin/sh not found';
  if (!onPath('curl', env['PATH'])) return 'curl not on PATH';
  return null;
}

function onPath(command: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((d) => {
    if (d === '') return false;
    try {
      accessSync(join(d, command), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function readable(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The kernel's ephemeral ports (Linux's default when /proc says nothing). */
const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
const DEFAULT_EPHEMERAL_LOW = 32_768;
/** Picks are made from here up to the ephemeral range: no privileged port, and a range wide enough to find free ones. */
const PICK_FROM = 10_000;
/** Random candidates tried before falling back to the kernel's picks. */
const PICK_ATTEMPTS = 200;

/**
 * `count` distinct loopback TCP ports, free a moment ago (all held until
 * the last is found): the simulator names its syslog collectors before the
 * gateways bind them, seconds later. They are taken below the kernel's
 * ephemeral range, where no outgoing connection or `listen(0)` of another
 * process is handed them meanwhile; the kernel's own picks when that range
 * leaves no room.
 */
export async function freePorts(count: number, ephemeralLow = ephemeralRangeLow()): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let attempt = 0; held.length < count && attempt < PICK_ATTEMPTS && ephemeralLow - PICK_FROM > count * 10; attempt++) {
      const port = PICK_FROM + randomInt(ephemeralLow - PICK_FROM);
      if (held.some((s) => (s.address() as AddressInfo).port === port)) continue;
      const server = await listenOn(port);
      if (server) held.push(server);
    }
    while (held.length < count) {
      const server = await listenOn(0);
      if (!server) throw new Error('no free loopback TCP port');
      held.push(server);
    }
    return held.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** A server listening on 127.0.0.1:port, or null when the port is taken. */
function listenOn(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function ephemeralRangeLow(): number {
  try {
    const low = Number(readFileSync(EPHEMERAL_RANGE_FILE, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 && low <= 65_535 ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}
