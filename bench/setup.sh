#!/usr/bin/env bash
# Installs what the benchmarks need beyond `npm ci`: OpenSSH's server and
# client for path (c) of bench/gateway.mjs (an ssh -R reverse tunnel on
# loopback). Idempotent; Debian/Ubuntu (apt). The benchmark starts its own
# sshd on a free loopback port with a throwaway config and host key: the
# system's ssh service is neither configured nor started by this script.
set -euo pipefail

if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; then
  echo "openssh-server and openssh-client are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install OpenSSH's server (/usr/sbin/sshd) and client (ssh, ssh-keygen) with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else echo "run as root (apt-get needs it)" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d in containers may refuse to start the service; that is fine: the benchmark runs its own sshd.
$SUDO apt-get install -y -qq --no-install-recommends openssh-server openssh-client
echo "installed: $(ssh -V 2>&1)"
