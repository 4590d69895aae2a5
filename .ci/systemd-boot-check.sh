#!/usr/bin/env bash
# Runs the .deb's credgw.service under a real systemd as PID 1: for each
# distribution named (default: bookworm bullseye jammy noble), a minimal root
# file system (debootstrap, cached in build/cache/rootfs/) is booted with
# systemd-nspawn, the .deb is installed in it with apt, and the service is
# started against a reference controller and two PMP simulators running on
# this host (the container shares the host's network). Checked there:
#   - Type=notify readiness (start returns once READY=1, active/running, STATUS=)
#   - the tokens: on systemd >= 251 through LoadCredential= (the controller
#     token on disk is root-only, so only PID 1 can have passed it); below 251
#     the generator's drop-in and the daemon reading /etc/credgw/credentials
#   - a console launch (listAccounts, getPassword) through the controller
#   - the watchdog: WATCHDOG=1 keeps arriving; a frozen process is killed by
#     systemd after WatchdogSec and restarted (--no-watchdog-kill skips this)
#   - systemctl reload (SIGHUP): same PID, link kept, a vault added by the reload serves
#   - systemctl stop: a command in flight finishes, exit status 0
#   - systemd-analyze security (exposure) and verify inside the container
#   - apt purge
# With --rpm FILE, the .rpm instead of the .deb, in a Debian container (the
# only systemd this machine can boot; bookworm's 252 is the one RHEL 9
# ships): rpm -i with its scriptlets run for real (the account, the enable,
# daemon-reload), the files RHEL provides for its Requires: checked present,
# a reinstall over the running service (try-restart), rpm -e.
# With --tar FILE, the .tar.gz's install.sh instead (where /bin/kill is
# missing: its warning, then procps added), an upgrade over the
# running service (install.sh again: stop, swap, start) and uninstall.sh --purge.
# Needs root and the Debian mirror (and archive.ubuntu.com for jammy and
# noble) on the first run; later runs reuse the cached root file systems. See
# docs/operations.md, "Checked on real systemd".
#
# Usage: .ci/systemd-boot-check.sh [--deb FILE | --rpm FILE | --tar FILE] [--no-watchdog-kill] [SUITE...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD

say() { echo "== boot-check${SUITE:+ [$SUITE]}: $*"; }
fail() {
  echo "!! boot-check${SUITE:+ [$SUITE]}: $*" >&2
  if [ -n "${LEADER:-}" ]; then # what the container's systemd says about the unit
    in_ct systemctl status credgw --no-pager -n 0 >&2 2>&1 || true
    in_ct journalctl -u credgw --no-pager -n 25 -o short-monotonic >&2 2>&1 || true
  fi
  exit 1
}
SUITE=

DEB=
RPM=
TAR=
WATCHDOG_KILL=1
SUITES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB=$2; shift 2 ;;
    --rpm) RPM=$2; shift 2 ;;
    --tar) TAR=$2; shift 2 ;;
    --no-watchdog-kill) WATCHDOG_KILL=0; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    bookworm|bullseye|jammy|noble) SUITES+=("$1"); shift ;;
    *) fail "unknown argument '$1' (suites: bookworm bullseye jammy noble)" ;;
  esac
done
[ ${#SUITES[@]} -gt 0 ] || SUITES=(bookworm bullseye jammy noble)
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, systemd-nspawn)"

# --- tools and inputs ---------------------------------------------------------------
missing=()
for p in systemd-container debootstrap curl python3 util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
[ $(( ${DEB:+1} + ${RPM:+1} + ${TAR:+1} + 0 )) -le 1 ] || fail "--deb, --rpm, --tar: one package per run"
KIND=deb
if [ -n "$TAR" ]; then
  KIND=tar
  TAR=$(realpath "$TAR")
  # (awk reads the whole listing: an early exit would fail tar with SIGPIPE under pipefail.)
  TAR_TOP=$(tar -tzf "$TAR" | awk -F/ '$2 == "install.sh" && $1 ~ /^credgw-/ { top = $1 } END { print top }')
  [ -n "$TAR_TOP" ] || fail "$TAR is not credgw's .tar.gz (no credgw-*/install.sh)"
  PKG=$TAR
elif [ -n "$RPM" ]; then
  KIND=rpm
  RPM=$(realpath "$RPM")
  # (The rpm magic: ed ab ee db.)
  [ "$(head -c 4 "$RPM" | od -An -tx1 | tr -d ' ')" = edabeedb ] || fail "$RPM is not an .rpm"
  PKG=$RPM
else
  if [ -z "$DEB" ]; then
    DEB=$(ls -t build/deb/credgw_*_amd64.deb 2>/dev/null | head -1 || true)
    [ -n "$DEB" ] || fail "no build/deb/credgw_*_amd64.deb: run 'npm run package:deb' (or pass --deb FILE)"
  fi
  DEB=$(realpath "$DEB")
  ar t "$DEB" 2>/dev/null | grep -q "^data.tar" || fail "$DEB is not a complete .deb (still being written?)"
  PKG=$DEB
fi
BIN=$ROOT_DIR/build/bin/credgw-linux-x64
[ -x "$BIN" ] || fail "no $BIN (the simulators run from it): run 'npm run package:binary'"
CACHE=${CREDGW_ROOTFS_CACHE:-$ROOT_DIR/build/cache/rootfs}
mkdir -p "$CACHE"

WORK=$(mktemp -d /var/tmp/credgw-boot-check.XXXXXX)
chmod 0755 "$WORK"
NSPAWN_PID=
# The simulators' PIDs, one per line: start_sim runs in a command
# substitution (a subshell), so a shell array would not reach this shell.
SIM_PIDS=$WORK/sim-pids
any_sim_alive() {
  local p
  while read -r p; do kill -0 "$p" 2>/dev/null && return 0; done <"$SIM_PIDS"
  return 1
}
cleanup() {
  set +e
  stop_container
  local p i
  if [ -f "$SIM_PIDS" ]; then
    while read -r p; do kill "$p" 2>/dev/null; done <"$SIM_PIDS"
    # Not this shell's children (their subshell has exited), so no `wait`: poll until they are gone.
    for i in $(seq 1 50); do any_sim_alive || break; sleep 0.1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The Ubuntu archive key, for debootstrap jammy and noble on a Debian host
# (Debian does not package it): ubuntu-keyring from the archive, pinned by its
# hash. Its 2018 key still signs noble's Release, so the 2021 package does.
UBUNTU_KEYRING_DEB=pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb
UBUNTU_KEYRING_SHA256=0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f

rootfs() { # SUITE -> prints the cached root file system, made once
  local suite=$1 dir=$CACHE/$1 mirror keyring=() script=() t0
  if [ ! -x "$dir/lib/systemd/systemd" ]; then
    case "$suite" in
      jammy|noble)
        mirror=http://archive.ubuntu.com/ubuntu
        if [ ! -f "$CACHE/ubuntu-archive-keyring.gpg" ]; then
          curl -fsS -m 60 -o "$WORK/ubuntu-keyring.deb" "$mirror/$UBUNTU_KEYRING_DEB"
          echo "$UBUNTU_KEYRING_SHA256  $WORK/ubuntu-keyring.deb" | sha256sum -c --quiet - || fail "ubuntu-keyring: hash mismatch"
          dpkg-deb --fsys-tarfile "$WORK/ubuntu-keyring.deb" |
            tar -xO ./usr/share/keyrings/ubuntu-archive-keyring.gpg >"$CACHE/ubuntu-archive-keyring.gpg"
        fi
        keyring=(--keyring="$CACHE/ubuntu-archive-keyring.gpg")
        # Debian 12's debootstrap stops at kinetic; every Ubuntu release
        # since gutsy bootstraps with the same script.
        [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=(/usr/share/debootstrap/scripts/gutsy) ;;
      *) mirror=http://deb.debian.org/debian ;;
    esac
    say "debootstrap $suite (once; cached in $dir)" >&2
    t0=$SECONDS
    rm -rf "$dir.tmp"
    debootstrap --variant=minbase "${keyring[@]}" --include=systemd,systemd-sysv,dbus,adduser \
      "$suite" "$dir.tmp" "$mirror" "${script[@]}" >"$WORK/debootstrap-$suite.log" 2>&1 ||
      { tail -20 "$WORK/debootstrap-$suite.log" >&2; fail "debootstrap $suite failed"; }
    echo "credgw-$suite" >"$dir.tmp/etc/hostname"
    mv "$dir.tmp" "$dir"
    say "debootstrap $suite took $((SECONDS - t0)) s" >&2
  fi
  echo "$dir"
}

# --- the container ------------------------------------------------------------------
# nspawn runs without machined or a system bus on the host (--register=no
# --keep-unit), so the container is driven through nsenter into its
# namespaces; `in_ct` runs a command there as root, with a clean environment.
LEADER=
in_ct() { nsenter -t "$LEADER" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb "$@"; }
start_container() { # DIR
  systemd-nspawn --quiet --register=no --keep-unit -D "$1" -M "credgw-$SUITE" --boot --console=passive \
    >"$WORK/nspawn-$SUITE.log" 2>&1 &
  NSPAWN_PID=$!
  local i
  for i in $(seq 1 100); do
    LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
    [ -n "$LEADER" ] && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || { cat "$WORK/nspawn-$SUITE.log" >&2; fail "systemd-nspawn exited"; }
    sleep 0.1
  done
  [ -n "$LEADER" ] || fail "no systemd in the container after 10 s"
  # Until PID 1 has its private socket, systemctl cannot connect: retry.
  local end=$((SECONDS + 120))
  while :; do
    BOOT_STATE=$(timeout 120 nsenter -t "$LEADER" -a -- /usr/bin/env -i PATH=/usr/bin:/bin systemctl is-system-running --wait 2>&1) || true
    case "$BOOT_STATE" in *'Failed to connect'*) ;; *) break ;; esac
    [ $SECONDS -lt $end ] || break
    sleep 0.2
  done
  case "$BOOT_STATE" in
    running) ;;
    degraded) in_ct systemctl --failed --no-legend --plain >&2 ;;
    *) fail "the container's systemd did not finish booting ($BOOT_STATE)" ;;
  esac
}
stop_container() {
  [ -n "$NSPAWN_PID" ] || return 0
  kill -TERM "$NSPAWN_PID" 2>/dev/null # nspawn asks the container's systemd to power off
  local i
  for i in $(seq 1 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  wait "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=
  LEADER=
}

show() { in_ct systemctl show credgw -p "$1" --value; }
wait_for() { # SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
  local limit=$1 what=$2 end=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "not within $limit s: $what"
    sleep 0.5
  done
}
status_matches() { show StatusText | grep -q "$1"; }
property_differs() { [ "$(show "$1")" != "$2" ]; }
restarted_once() { [ "$(show NRestarts)" = 1 ] && in_ct systemctl is-active -q credgw; }
# (grep without -q after journalctl: -q exits at the first match and, with pipefail, journalctl's SIGPIPE fails the pipe.)
journal_has() { in_ct journalctl -u credgw --no-pager -o cat | grep -i -- "$1" >/dev/null; }
vault_healthy() { # NAME: per `credgw status --json`, as an admin would ask
  in_ct credgw status --json | python3 -c 'import json, sys; sys.exit(0 if any(v["name"] == sys.argv[1] and v["healthy"] is True for v in json.load(sys.stdin)["vaults"]) else 1)' "$1"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- simulators on this host ------------------------------------------------------------
# One controller and two PMP simulators (one answering after 3 s, for the
# drain check), each on a free port; the gateways in the containers reach them on 127.0.0.1.
SIM=$WORK/sim
mkdir -p "$SIM"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$SIM/gw.token"
chmod 0600 "$SIM/gw.token"
start_sim() { # NAME ARGS...: prints the URL it listens on
  local name=$1 url i
  shift
  "$BIN" sim "$@" >"$SIM/$name.out" 2>"$SIM/$name.err" &
  echo "$!" >>"$SIM_PIDS"
  for i in $(seq 1 200); do
    # (2>/dev/null: the background job may not have created the file yet.)
    url=$(grep -o -m1 -E '(wss|https)://127\.0\.0\.1:[0-9]+(/gateway)?' "$SIM/$name.out" 2>/dev/null || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  cat "$SIM/$name.out" "$SIM/$name.err" >&2
  fail "simulator $name did not start"
}
CTL_WS=$(start_sim controller controller --port 0 --token "file://$SIM/gw.token" --cert-out "$SIM/ctl.crt" --state-file "$SIM/ctl-state.json" --log-level warn)
CTL_API=${CTL_WS/wss:/https:}
CTL_API=${CTL_API%/gateway}/api/v1/clusters
PMP_URL=$(start_sim pmp pmp --port 0 --cert-out "$SIM/pmp.crt")
SLOW_URL=$(start_sim pmp-slow pmp --port 0 --cert-out "$SIM/pmp-slow.crt" --latency-ms 3000)
say "controller $CTL_WS, PMP $PMP_URL, slow PMP $SLOW_URL (3 s per answer)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

command_json() { # CLUSTER NAME VAULT RESOURCE [ACCOUNT]
  local params
  params="\"vault\":\"$3\",\"resource\":{\"id\":\"opsramp-7d1\",\"customAttributes\":{\"PMP Resource ID\":\"$4\"}}"
  [ -z "${5:-}" ] || params="$params,\"accountId\":\"$5\",\"ticketId\":\"INC-1042\",\"reason\":\"boot check\",\"requestedBy\":\"ci@example.com\""
  curl -sS -m 40 --cacert "$SIM/ctl.crt" -H 'content-type: application/json' "$CTL_API/$1/commands" \
    -d "{\"name\":\"$2\",\"timeoutMs\":20000,\"params\":{$params}}"
}
cluster_json() { curl -sS -m 10 --cacert "$SIM/ctl.crt" "$CTL_API/$1"; }
connected_at() { # CLUSTER GATEWAY: when the controller accepted the gateway's current connection
  cluster_json "$1" | python3 -c 'import json, sys; print(next(g["connectedAt"] for g in json.load(sys.stdin)["gateways"] if g["gatewayId"] == sys.argv[1]))' "$2"
}

# --- the .rpm in a Debian container ----------------------------------------------------
# Debian's rpm keeps its own database, which knows none of the system's
# packages: the Requires are checked here against what RHEL provides them
# with (shadow-utils: useradd, groupadd; systemd: systemctl; logrotate;
# /usr/bin/kill), then rpm -i runs with --nodeps and its scriptlets.
# (--force-debian: Debian's rpm refuses to install into a dpkg system without it.)
RPM_OPTS=(--force-debian --nodeps)
has_library() { # 'libc.so.6(GLIBC_2.28)(64bit)': the soname known to ldconfig and, if named, the version in it
  local soname=${1%%(*} version path
  version=${1#"$soname"(}
  version=${version%%)*}
  path=$(in_ct ldconfig -p | awk -v so="$soname" '$1 == so && /x86-64/ { print $NF; exit }')
  [ -n "$path" ] || return 1
  [ -z "$version" ] || in_ct grep -qaF "$version" "$path"
}
install_rpm() {
  local req missing=() name reqs
  name=$(basename "$RPM")
  in_ct apt-get install -y -q --no-install-recommends rpm procps logrotate >>"$WORK/apt-$SUITE.log" 2>&1 ||
    { cat "$WORK/apt-$SUITE.log" >&2; fail "apt-get install rpm procps logrotate failed"; }
  reqs=$(in_ct rpm -qp --requires "/root/$name" 2>/dev/null | sed 's/ .*//' | sort -u)
  while read -r req; do
    case "$req" in
      rpmlib\(*|rtld\(*|config\(credgw\)|/bin/sh) ;; # rpm's own features, the package's own %config
      /*) in_ct test -x "$req" || missing+=("$req") ;;
      *.so*) # a shared library (rpm's automatic requires), and the symbol version named, if one is
        has_library "$req" || missing+=("$req") ;;
      shadow-utils) in_ct sh -c 'command -v useradd && command -v groupadd' >/dev/null || missing+=("$req") ;;
      systemd) in_ct sh -c 'command -v systemctl' >/dev/null || missing+=("$req") ;;
      logrotate) in_ct sh -c 'command -v logrotate' >/dev/null || missing+=("$req") ;;
      *) fail "the .rpm requires '$req', which this check does not know how to look for" ;;
    esac
  done <<<"$reqs"
  [ ${#missing[@]} -eq 0 ] || fail "the .rpm's Requires not met in the container: ${missing[*]}"
  in_ct rpm -i "${RPM_OPTS[@]}" "/root/$name" >"$WORK/rpm-$SUITE.log" 2>&1 || { cat "$WORK/rpm-$SUITE.log" >&2; fail "rpm -i $name failed"; }
  in_ct rpm -q credgw >/dev/null || fail "rpm -q credgw: not installed"
  in_ct rpm -V "${RPM_OPTS[@]}" credgw >&2 || fail "rpm -V reports changes right after rpm -i"
  account_and_config_made "%pre"
  say "rpm -i $name with its scriptlets: ok ($((SECONDS - t0)) s); its Requires present: $(grep -v -e '^rpmlib(' -e '^rtld(' -e '^config(' -e '\.so' <<<"$reqs" | tr '\n' ' ')and $(grep -c '\.so' <<<"$reqs") shared-library versions; user credgw, /etc/credgw root:credgw 0750; $(in_ct credgw version | head -1)"
}
# What installing made (by $1): the system user credgw, /etc/credgw and its config.json root:credgw 0750 / 0640.
account_and_config_made() {
  local account modes
  account=$(in_ct getent passwd credgw) || fail "$1 made no user credgw"
  case "$account" in *:/var/lib/credgw:*nologin) ;; *) fail "$1 made user credgw as '$account'" ;; esac
  modes=$(in_ct stat -c '%a %U:%G' /etc/credgw /etc/credgw/config.json | tr '\n' ' ')
  [ "$modes" = "750 root:credgw 640 root:credgw " ] || fail "/etc/credgw, config.json after $1: $modes"
}
# After a package was installed again over the running service (PID $1,
# by $2): running under a new PID, still enabled, its config kept, the link up.
restarted_since() {
  [ "$(in_ct systemctl is-active credgw)" = active ] && [ "$(show MainPID)" != "$1" ] ||
    fail "after $2: $(in_ct systemctl is-active credgw), PID $(show MainPID) (was $1)"
  [ "$(in_ct systemctl is-enabled credgw)" = enabled ] || fail "$2 disabled the unit"
  in_ct grep -q "$gw" /etc/credgw/config.json || fail "$2 replaced /etc/credgw/config.json"
  wait_for 20 "the link up again after $2" status_matches 'link up'
  say "$2 over the running service: restarted (PID $1 -> $(show MainPID)), still enabled, config kept, link up"
}
# Before the stop check: the same package again over the running service
# (rpm runs %post with 2, as for an upgrade: try-restart, a new PID).
reinstall_rpm() {
  local pid name
  name=$(basename "$RPM")
  pid=$(show MainPID)
  in_ct rpm -U --replacepkgs "${RPM_OPTS[@]}" "/root/$name" >>"$WORK/rpm-$SUITE.log" 2>&1 || { cat "$WORK/rpm-$SUITE.log" >&2; fail "rpm -U --replacepkgs failed"; }
  restarted_since "$pid" "rpm -U --replacepkgs"
}
erase_rpm() {
  in_ct rpm -e "${RPM_OPTS[@]}" credgw >>"$WORK/rpm-$SUITE.log" 2>&1 || { cat "$WORK/rpm-$SUITE.log" >&2; fail "rpm -e credgw failed"; }
  in_ct test ! -e /usr/bin/credgw || fail "rpm -e left /usr/bin/credgw"
  [ "$(show LoadState)" = not-found ] || fail "credgw.service still loaded after rpm -e"
  # As the README says: rpm keeps the config, tokens and state (the admin deletes them).
  in_ct test -e /etc/credgw/config.json -a -e /etc/credgw/credentials/controller || fail "rpm -e deleted the config or the tokens"
  say "rpm -e: binary and unit gone, /etc/credgw kept"
}

# --- the .tar.gz's install.sh -----------------------------------------------------------
# As the README says: unpack, run install.sh as root. Where the minimal root
# file system has no /bin/kill (Debian's minbase has no procps), install.sh
# must say so, and procps is added, as the admin it told would, for the
# reload check; where it has one (Ubuntu's), it must not.
install_tar() {
  local name top=$TAR_TOP kill_note
  name=$(basename "$TAR")
  in_ct tar -xzf "/root/$name" -C /root || fail "tar -xzf $name failed"
  in_ct "/root/$top/install.sh" >"$WORK/install-$SUITE.log" 2>&1 || { cat "$WORK/install-$SUITE.log" >&2; fail "install.sh failed"; }
  if in_ct test -x /bin/kill; then
    kill_note="/bin/kill present, no warning"
    grep 'warning: /bin/kill' "$WORK/install-$SUITE.log" && fail "install.sh warned about /bin/kill, which this system has"
  else
    kill_note="warned that /bin/kill is missing (procps then added)"
    grep -q 'warning: /bin/kill not found' "$WORK/install-$SUITE.log" || { cat "$WORK/install-$SUITE.log" >&2; fail "install.sh did not warn that /bin/kill is missing"; }
    in_ct apt-get install -y -q --no-install-recommends procps >>"$WORK/apt-$SUITE.log" 2>&1 || { cat "$WORK/apt-$SUITE.log" >&2; fail "apt-get install procps failed"; }
  fi
  account_and_config_made "install.sh"
  say "tar -xzf $name && $top/install.sh: ok ($((SECONDS - t0)) s), $kill_note; user credgw, /etc/credgw root:credgw 0750; $(in_ct credgw version | head -1)"
}
# Before the stop check: install.sh again over the running service, the upgrade path.
reinstall_tar() {
  local pid top=$TAR_TOP
  pid=$(show MainPID)
  in_ct "/root/$top/install.sh" >>"$WORK/install-$SUITE.log" 2>&1 || { cat "$WORK/install-$SUITE.log" >&2; fail "install.sh over the running service failed"; }
  grep -q 'credgw.service restarted' "$WORK/install-$SUITE.log" || fail "install.sh did not say it restarted the service"
  restarted_since "$pid" "install.sh (the upgrade path)"
}
erase_tar() {
  local top=$TAR_TOP
  in_ct "/root/$top/uninstall.sh" --purge >>"$WORK/install-$SUITE.log" 2>&1 || { cat "$WORK/install-$SUITE.log" >&2; fail "uninstall.sh --purge failed"; }
  in_ct sh -c '[ ! -e /etc/credgw ] && [ ! -e /var/lib/credgw ] && [ ! -e /usr/bin/credgw ]' || fail "uninstall.sh --purge left files"
  [ "$(show LoadState)" = not-found ] || fail "credgw.service still loaded after uninstall.sh --purge"
  in_ct getent passwd credgw >/dev/null && fail "uninstall.sh --purge left the user credgw"
  say "uninstall.sh --purge: files, unit and user gone"
}

# --- one distribution -------------------------------------------------------------------
check_suite() {
  SUITE=$1
  local t_suite=$SECONDS base dir sdver new_cred gw cluster tport t0 out pid pid2 wd1 wd2 since
  base=$(rootfs "$SUITE")
  dir=$WORK/root-$SUITE
  t0=$SECONDS
  cp -a "$base" "$dir"
  start_container "$dir"
  sdver=$(in_ct systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
  say "booted: $(in_ct sh -c '. /etc/os-release; echo "$PRETTY_NAME"'), $(in_ct systemctl --version | head -1), PID 1 $(in_ct cat /proc/1/comm), system $BOOT_STATE ($((SECONDS - t0)) s)"
  new_cred=0
  [ "$sdver" -ge 251 ] && new_cred=1

  cp "$PKG" "$dir/root/"
  in_ct sh -c 'command -v node nodejs' && fail "the container has a node"
  t0=$SECONDS
  in_ct apt-get update -q >"$WORK/apt-$SUITE.log" 2>&1 || { cat "$WORK/apt-$SUITE.log" >&2; fail "apt-get update failed"; }
  if [ "$KIND" = rpm ]; then
    install_rpm
  elif [ "$KIND" = tar ]; then
    install_tar
  else
    # Install with apt, as the README says; no Node.js in the container.
    # apt resolves the Depends from the distribution's archive (procps, absent from a minimal system).
    in_ct apt-get install -y -q "/root/$(basename "$DEB")" >>"$WORK/apt-$SUITE.log" 2>&1 ||
      { cat "$WORK/apt-$SUITE.log" >&2; fail "apt-get install of the .deb failed"; }
    say "apt-get update && apt-get install ./$(basename "$DEB"): ok ($((SECONDS - t0)) s), with $(grep -o -m1 '[0-9]* newly installed' "$WORK/apt-$SUITE.log"); $(in_ct credgw version | head -1)"
  fi
  [ "$(in_ct systemctl is-enabled credgw)" = enabled ] || fail "credgw.service is not enabled after install"

  # Wire it: tokens as credentials, the simulators' certificates, one vault.
  gw=gw-$SUITE
  cluster=site-$SUITE
  tport=$(free_port)
  in_ct install -m 0644 /dev/stdin /etc/credgw/ctl.crt <"$SIM/ctl.crt"
  in_ct install -m 0644 /dev/stdin /etc/credgw/pmp.crt <"$SIM/pmp.crt"
  in_ct install -m 0644 /dev/stdin /etc/credgw/pmp-slow.crt <"$SIM/pmp-slow.crt"
  printf %s pmp-sim-token-0001 | in_ct install -m 0640 -g credgw /dev/stdin /etc/credgw/credentials/pmp-prod
  if [ "$new_cred" -eq 1 ]; then
    # Only PID 1 can read this one: the link comes up only if LoadCredential= delivered it.
    in_ct install -m 0600 /dev/stdin /etc/credgw/credentials/controller <"$SIM/gw.token"
  else
    in_ct install -m 0640 -g credgw /dev/stdin /etc/credgw/credentials/controller <"$SIM/gw.token"
  fi
  in_ct credgw config set gatewayId "$gw" >/dev/null
  in_ct credgw config set clusterId "$cluster" >/dev/null
  in_ct credgw config set controller "{\"url\":\"$CTL_WS\",\"token\":\"credential://credgw_controller\",\"caFile\":\"/etc/credgw/ctl.crt\"}" >/dev/null
  in_ct credgw config set telemetry "{\"listen\":\"127.0.0.1:$tport\"}" >/dev/null
  in_ct credgw vault add pmp-prod --url "$PMP_URL" --token credential://credgw_pmp-prod --ca-file /etc/credgw/pmp.crt >/dev/null
  in_ct credgw config validate --secrets >/dev/null || fail "credgw config validate --secrets failed"

  if [ "$new_cred" -eq 0 ]; then
    # Why the generator exists: with the unit's LoadCredential= directory form
    # back (a drop-in after the generator's), this systemd refuses to start it.
    in_ct mkdir -p /etc/systemd/system/credgw.service.d
    printf '[Service]\nLoadCredential=credgw:/etc/credgw/credentials\n' |
      in_ct install -m 0644 /dev/stdin /etc/systemd/system/credgw.service.d/zz-boot-check.conf
    in_ct systemctl daemon-reload
    in_ct systemctl start credgw 2>/dev/null && fail "systemd $sdver started the unit with the LoadCredential= directory form"
    say "without the generator's drop-in systemd $sdver does not start it: Result=$(show Result), ExecMainStatus=$(show ExecMainStatus) ($(in_ct journalctl -u credgw --no-pager -o cat | grep -m1 'Failed to set up credentials' || echo 'no journal line'))"
    in_ct systemctl stop credgw 2>/dev/null || true
    in_ct rm /etc/systemd/system/credgw.service.d/zz-boot-check.conf
    in_ct systemctl daemon-reload
    in_ct systemctl reset-failed credgw
  fi

  # --- start: readiness through sd_notify ---
  t0=$(date +%s%N)
  in_ct systemctl start credgw || { in_ct journalctl -u credgw --no-pager -n 30 >&2; fail "systemctl start credgw failed"; }
  say "systemctl start credgw returned after $(ms_since "$t0") ms: $(show Type) $(show ActiveState)/$(show SubState), STATUS=\"$(show StatusText)\""
  [ "$(show Type)" = notify ] && [ "$(show ActiveState)" = active ] || fail "not active after start"
  wait_for 20 "STATUS= says active and link up" status_matches 'active epoch [0-9]*, link up'
  out=$(cluster_json "$cluster")
  echo "$out" | grep -q "\"gatewayId\":\"$gw\"" || fail "the controller does not list $gw: $out"
  say "STATUS=\"$(show StatusText)\"; the controller lists $gw"

  # --- the tokens ---
  pid=$(show MainPID)
  if [ "$new_cred" -eq 1 ]; then
    in_ct sh -c "tr '\0' '\n' </proc/$pid/environ" | grep -qx 'CREDENTIALS_DIRECTORY=/run/credentials/credgw.service' ||
      fail "no CREDENTIALS_DIRECTORY in the service's environment"
    out=$(in_ct ls /run/credentials/credgw.service | tr '\n' ' ')
    [ "$out" = "credgw_controller credgw_pmp-prod " ] || fail "credentials in /run/credentials/credgw.service: '$out'"
    [ -z "$(show DropInPaths)" ] || fail "a drop-in on systemd $sdver: $(show DropInPaths)"
    say "credentials: LoadCredential= directory form; \$CREDENTIALS_DIRECTORY holds: $out(the controller token on disk is root 0600, so PID 1 passed it)"
  else
    out=$(show DropInPaths)
    [ "$out" = /run/systemd/generator/credgw.service.d/50-credentials-before-251.conf ] ||
      fail "systemd $sdver: expected the generator's drop-in, DropInPaths='$out'"
    in_ct sh -c "tr '\0' '\n' </proc/$pid/environ" | grep -q '^CREDENTIALS_DIRECTORY=' &&
      fail "CREDENTIALS_DIRECTORY set although LoadCredential= is cleared"
    say "credentials: systemd $sdver < 251: drop-in $out (LoadCredential= cleared); the daemon reads /etc/credgw/credentials itself"
  fi

  # --- a console launch through the controller ---
  out=$(command_json "$cluster" listAccounts pmp-prod Windows_Jump_Box)
  echo "$out" | grep -q '"ok":true' || fail "listAccounts: $out"
  out=$(command_json "$cluster" getPassword pmp-prod 301 902)
  echo "$out" | grep -q '"ok":true' || fail "getPassword: $(echo "$out" | sed 's/"password":"[^"]*"/"password":"…"/g')"
  say "console launch through the controller: listAccounts ok, getPassword ok (answered by $gw)"

  # --- watchdog ---
  [ "$(show WatchdogUSec)" = 30s ] || fail "WatchdogUSec=$(show WatchdogUSec)"
  wd1=$(show WatchdogTimestampMonotonic)
  t0=$(date +%s%N)
  wait_for 35 "a WATCHDOG=1 after the one at $wd1 µs (now $(show WatchdogTimestampMonotonic))" property_differs WatchdogTimestampMonotonic "$wd1"
  wd2=$(show WatchdogTimestampMonotonic)
  say "watchdog: WatchdogSec=30s, a WATCHDOG=1 arrived $(( (wd2 - wd1) / 1000 )) ms after the previous one (waited $(ms_since "$t0") ms)"
  [ "$(show NRestarts)" = 0 ] || fail "restarted $(show NRestarts) time(s) before any fault: a missed watchdog?"
  if [ "$WATCHDOG_KILL" -eq 1 ]; then
    pid=$(show MainPID)
    t0=$(date +%s%N)
    in_ct sh -c "kill -STOP $pid"
    wait_for 60 "systemd restarting the frozen service" restarted_once
    pid2=$(show MainPID)
    [ "$pid2" != "$pid" ] || fail "the same PID after a watchdog restart"
    journal_has 'watchdog timeout' || fail "no 'Watchdog timeout' in the journal"
    journal_has 'code=killed, status=6/ABRT' || fail "the frozen process did not die of SIGABRT"
    say "watchdog: PID $pid frozen (SIGSTOP) -> 'Watchdog timeout', killed and restarted as PID $pid2 after $(ms_since "$t0") ms (NRestarts=1)"
    wait_for 20 "the link up again after the restart" status_matches 'link up'
  fi

  # --- reload (SIGHUP): add the slow vault ---
  pid=$(show MainPID)
  since=$(connected_at "$cluster" "$gw")
  in_ct credgw vault add pmp-slow --url "$SLOW_URL" --token credential://credgw_pmp-prod --ca-file /etc/credgw/pmp-slow.crt >/dev/null
  in_ct journalctl -u credgw --no-pager -o cat >"$WORK/j-before"
  in_ct systemctl reload credgw
  wait_for 15 "'configuration reloaded' in the journal" journal_has 'configuration reloaded'
  [ "$(show MainPID)" = "$pid" ] || fail "reload changed the main PID"
  in_ct journalctl -u credgw --no-pager -o cat | tail -n +"$(($(wc -l <"$WORK/j-before") + 1))" >"$WORK/j-reload"
  grep -q '"signal":"SIGHUP"' "$WORK/j-reload" || fail "no SIGHUP in the journal after systemctl reload"
  grep -E '"msg":"controller connection down"|"from":"up"' "$WORK/j-reload" && fail "the link dropped during the reload"
  [ "$(connected_at "$cluster" "$gw")" = "$since" ] || fail "the controller saw a new connection after the reload"
  wait_for 20 "pmp-slow healthy in credgw status" vault_healthy pmp-slow
  say "systemctl reload: SIGHUP to PID $pid, 'configuration reloaded', same PID, link kept (the controller's connectedAt unchanged), vault pmp-slow added and healthy"

  [ "$KIND" != rpm ] || reinstall_rpm
  [ "$KIND" != tar ] || reinstall_tar

  # --- stop: drain a command in flight ---
  command_json "$cluster" getPassword pmp-slow 301 902 >"$WORK/inflight.json" 2>&1 &
  local inflight=$!
  sleep 1.5 # the command is at the gateway, waiting for the slow PMP's answer
  t0=$(date +%s%N)
  in_ct systemctl stop credgw
  local stop_ms
  stop_ms=$(ms_since "$t0")
  wait "$inflight" || true
  grep -q '"ok":true' "$WORK/inflight.json" || fail "the command in flight at stop: $(sed 's/"password":"[^"]*"/"password":"…"/g' "$WORK/inflight.json")"
  [ "$(show Result)" = success ] && [ "$(show ExecMainStatus)" = 0 ] ||
    fail "stop: Result=$(show Result) ExecMainStatus=$(show ExecMainStatus)"
  say "systemctl stop took $stop_ms ms: the getPassword in flight (slow PMP) answered ok, exit status 0, Result=success"

  # --- systemd-analyze ---
  out=$(in_ct systemd-analyze security credgw 2>&1 | grep 'Overall exposure level' || true)
  [ -n "$out" ] || fail "no exposure level from systemd-analyze security"
  say "systemd-analyze security (systemd $sdver): ${out#→ }"
  out=$(in_ct systemd-analyze verify --man=no credgw.service 2>&1 | grep -i credgw || true)
  if [ -n "$out" ]; then
    say "systemd-analyze verify (systemd $sdver) says:"
    echo "$out" | sed 's/^/     /'
    [ "$new_cred" -eq 0 ] || fail "systemd-analyze verify reports problems on systemd $sdver"
  else
    say "systemd-analyze verify (systemd $sdver): clean"
  fi

  # --- purge ---
  if [ "$KIND" = rpm ]; then
    erase_rpm
  elif [ "$KIND" = tar ]; then
    erase_tar
  else
    in_ct apt-get purge -y -q credgw >/dev/null 2>&1 || fail "apt-get purge credgw failed"
    in_ct sh -c '[ ! -e /etc/credgw ] && [ ! -e /var/lib/credgw ] && [ ! -e /usr/bin/credgw ]' || fail "purge left files"
    [ "$(show LoadState)" = not-found ] || fail "credgw.service still loaded after purge"
    say "apt-get purge: files and unit gone"
  fi

  stop_container
  rm -rf "$dir"
  say "ok in $((SECONDS - t_suite)) s"
  SUITE=
}

t_all=$SECONDS
for s in "${SUITES[@]}"; do check_suite "$s"; done
say "all ok (${SUITES[*]}) in $((SECONDS - t_all)) s"
