// Path (c) of the gateway benchmark: what an admin would set up instead of
// a gateway — an OpenSSH reverse tunnel (`ssh -R`) from the PMP side to a
// host the cloud reaches. Here both ends are on loopback: a private sshd
// (throwaway host key, public-key auth only, its own config and pid file)
// and `ssh -N -R 127.0.0.1:<tport>:127.0.0.1:<pmp port>`. Every process
// and file is removed at the end.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, stopChild, waitForPort } from './env.mjs';

export const SSHD = '/usr/sbin/sshd';
export const SSH = 'ssh';
export const SSH_KEYGEN = 'ssh-keygen';
export const INSTALL_HINT = 'apt-get install -y openssh-server openssh-client   (or: sudo bench/setup.sh)';

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the tunnel cannot be set up here, or null when it can. */
export function sshUnavailableReason() {
  const missing = [];
  if (!existsSync(SSHD)) missing.push(SSHD);
  if (!which(SSH)) missing.push(SSH);
  if (!which(SSH_KEYGEN)) missing.push(SSH_KEYGEN);
  if (missing.length > 0) return `${missing.join(', ')} not found; install with: ${INSTALL_HINT}`;
  if (process.getuid?.() !== 0) return 'sshd must be started as root (it drops privileges itself); run the benchmark as root';
  return null;
}

function keygen(file) {
  const r = spawnSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'credgw-bench', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

/**
 * Starts sshd and the reverse tunnel to 127.0.0.1:targetPort.
 * Resolves to { port (the tunnel's entry), sshdPid, sshPid, close() }.
 */
export async function startReverseTunnel(dir, targetPort, { timeoutMs = 10_000 } = {}) {
  const reason = sshUnavailableReason();
  if (reason) throw new Error(reason);
  const d = join(dir, 'ssh');
  mkdirSync(d, { mode: 0o700 });
  keygen(join(d, 'host_ed25519'));
  keygen(join(d, 'client_ed25519'));
  const pub = spawnSync('cat', [join(d, 'client_ed25519.pub')], { encoding: 'utf8' }).stdout;
  writeFileSync(join(d, 'authorized_keys'), pub, { mode: 0o600 });
  // sshd needs its privilege-separation directory (Debian creates it from the service unit).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshdPort = await freePort();
  const tunnelPort = await freePort();
  const config = [
    `HostKey ${join(d, 'host_ed25519')}`,
    `PidFile ${join(d, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(d, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'AllowTcpForwarding remote',
    'GatewayPorts no',
    'PermitTTY no',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel ERROR',
    '',
  ].join('\n');
  writeFileSync(join(d, 'sshd_config'), config, { mode: 0o600 });
  const sshd = spawnTracked(SSHD, ['-D', '-e', '-f', join(d, 'sshd_config'), '-p', String(sshdPort), '-o', 'ListenAddress=127.0.0.1']);
  const dead = (p) => () => p.exitCode !== null || p.signalCode !== null;
  try {
    await waitForPort(sshdPort, timeoutMs, dead(sshd));
  } catch (err) {
    await stopChild(sshd);
    throw new Error(`sshd did not start: ${err.message}; its output: ${sshd.tail().trim()}`);
  }
  const ssh = spawnTracked(SSH, [
    '-N',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'ExitOnForwardFailure=yes',
    '-o', 'ServerAliveInterval=10',
    '-o', 'LogLevel=ERROR',
    '-i', join(d, 'client_ed25519'),
    '-R', `127.0.0.1:${tunnelPort}:127.0.0.1:${targetPort}`,
    '-p', String(sshdPort),
    'root@127.0.0.1',
  ]);
  try {
    await waitForPort(tunnelPort, timeoutMs, dead(ssh));
  } catch (err) {
    await stopChild(ssh);
    await stopChild(sshd);
    throw new Error(`the ssh reverse tunnel did not come up: ${err.message}; ssh said: ${ssh.tail().trim()} sshd said: ${sshd.tail().trim()}`);
  }
  return {
    port: tunnelPort,
    sshdPort,
    sshdPid: sshd.pid,
    sshPid: ssh.pid,
    async close() {
      await stopChild(ssh);
      await stopChild(sshd);
    },
  };
}
