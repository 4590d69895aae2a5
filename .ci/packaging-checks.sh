#!/usr/bin/env bash
# Packaging checks for CI (called from .ci/run, as root on Debian 12):
#   1. systemd-analyze verify on the unit, installed into a staging root
#   2. systemd-analyze security --offline: exposure must be <= 1.5
#   3. package-deb.sh and package-rpm.sh --help print their whole header
#      comment; the .deb (of build/bin/credgw-linux-x64) builds (into
#      build/deb), the same bytes when built twice, and lintian reports no error
#   4. the .deb installs, upgrades over itself and purges cleanly on this machine,
#      with no Node.js on PATH; the installed binary runs the demo as user credgw
#      with the unit's environment
#   5. the .rpm (x86_64): files, modes and owners, requirements (no nodejs;
#      glibc and libstdc++ symbol versions within RHEL 9's),
#      rpmlint without errors, the same bytes when built twice, and an
#      rpm -i --noscripts into a scratch root (into build/rpm, where
#      .ci/systemd-boot-check.sh --rpm runs its scriptlets under systemd)
#   6. the .tar.gz: the same bytes when built twice, the binary, the unit and
#      the installer in it (into build/tar, for systemd-boot-check.sh --tar)
#   7. with build/bin/credgw-linux-arm64 built, the arm64 .deb and the
#      aarch64 .rpm: lintian and rpmlint without errors, no nodejs, the
#      symbol versions within RHEL 9's
# Installs what it needs from Debian's packages first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE_X10=15
say() { echo "== packaging: $*"; }
fail() { echo "!! packaging: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------
NEEDED=(systemd lintian dpkg-dev adduser python3 binutils util-linux rpm rpmlint)
missing=()
for p in "${NEEDED[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "need root to install: ${missing[*]}"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -f dist/cli/main.js ] || { say "building"; npm run build; }
[ -x build/bin/credgw-linux-x64 ] || { say "building the binary"; node scripts/build-binary.mjs --arch x64; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --- systemd-analyze verify -------------------------------------------------------
# verify resolves ExecStart= and the default dependencies (sysinit.target,
# ...) inside --root, so the root gets the installed files plus a copy of the
# distribution's units and /bin/kill (ExecReload=). Any message is a failure:
# verify exits 0 on unknown keys and bad values, it only prints them.
say "systemd-analyze verify"
VROOT=$WORK/verify-root
bash installer/install.sh --root "$VROOT" --binary build/bin/credgw-linux-x64 --files-only >/dev/null
mkdir -p "$VROOT/usr/lib/systemd" "$VROOT/etc/systemd/system"
cp -a /lib/systemd/system "$VROOT/usr/lib/systemd/"
rm -f "$VROOT/usr/lib/systemd/system/credgw.service"
cp /bin/kill "$VROOT/usr/bin/kill"
[ -e "$VROOT/bin" ] || ln -s usr/bin "$VROOT/bin"
if ! out=$(systemd-analyze verify --man=no --generators=no --root="$VROOT" credgw.service 2>&1) || [ -n "$out" ]; then
  echo "$out" >&2
  fail "systemd-analyze verify reported problems"
fi

# systemd < 251 (Ubuntu 22.04): the generator's drop-in must be written and
# the unit with it must verify too.
say "systemd-analyze verify, with the drop-in for systemd < 251"
mkdir -p "$WORK/fake249" "$WORK/gen"
printf '#!/bin/sh\necho "systemd 249 (249.11-0ubuntu3.12)"\n' >"$WORK/fake249/systemctl"
chmod +x "$WORK/fake249/systemctl"
PATH="$WORK/fake249:$PATH" sh installer/credgw-credentials-compat "$WORK/gen"
[ -f "$WORK/gen/credgw.service.d/50-credentials-before-251.conf" ] || fail "the generator wrote no drop-in for systemd 249"
sh installer/credgw-credentials-compat "$WORK/gen-here"
[ ! -e "$WORK/gen-here" ] || fail "the generator wrote a drop-in for systemd $(systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p')"
mkdir -p "$VROOT/etc/systemd/system/credgw.service.d"
cp "$WORK/gen/credgw.service.d/50-credentials-before-251.conf" "$VROOT/etc/systemd/system/credgw.service.d/"
if ! out=$(systemd-analyze verify --man=no --generators=no --root="$VROOT" credgw.service 2>&1) || [ -n "$out" ]; then
  echo "$out" >&2
  fail "systemd-analyze verify reported problems with the systemd < 251 drop-in"
fi

# --- systemd-analyze security -----------------------------------------------------
say "systemd-analyze security --offline"
sec=$(systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE_X10 systemd/credgw.service 2>&1) && rc=0 || rc=$?
echo "$sec" | grep -E '✗|Overall exposure' || true
echo "$sec" | grep -q 'Overall exposure level' || fail "no exposure level in the output of systemd-analyze security"
[ "$rc" -eq 0 ] || fail "exposure above $((MAX_EXPOSURE_X10 / 10)).$((MAX_EXPOSURE_X10 % 10))"

# --- --help ------------------------------------------------------------------------
# Each package script's --help is its whole header comment, up to its last line.
for kind in deb rpm; do
  want=$(sed -n '2,/^set -e/p' "scripts/package-$kind.sh" | sed '$d')
  [ "$(bash "scripts/package-$kind.sh" --help)" = "$want" ] || fail "package-$kind.sh --help is not its header comment"
done

# --- .deb and lintian -------------------------------------------------------------
# Into build/deb, where .ci/systemd-boot-check.sh takes it from.
say "building the .deb (twice)"
DEB=$(bash scripts/package-deb.sh --arch amd64 --out build/deb)
cmp "$DEB" "$(bash scripts/package-deb.sh --arch amd64 --out "$WORK/deb2")" || fail "the .deb is not the same bytes when built twice"
dpkg-deb -f "$DEB" Depends | grep -q nodejs && fail "the .deb depends on nodejs"
dpkg-deb -f "$DEB" Depends | grep -qw procps || fail "the .deb does not depend on procps (/bin/kill, the unit's ExecReload=)"
say "lintian $(basename "$DEB")"
# lintian warns about running as root; CI is root.
lintian --fail-on error --tag-display-limit 0 "$DEB" 2> >(grep -v 'running with root privileges' >&2) ||
  fail "lintian reported errors"

# --- install, upgrade, purge on this machine --------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  say "not root: skipping the dpkg install check"
elif dpkg-query -W -f='${Status}' credgw 2>/dev/null | grep -q 'install ok installed'; then
  say "a credgw package is installed here: skipping the dpkg install check"
else
  say "dpkg install / upgrade / purge"
  had_user=0
  getent passwd credgw >/dev/null && had_user=1
  # No Node.js on PATH for the install and the run: a directory of links to
  # everything in /usr/bin and /bin but node, nodejs, npm and npx.
  NONODE=$WORK/no-node-bin
  mkdir -p "$NONODE"
  chmod 0755 "$WORK" "$NONODE"  # user credgw runs from it
  for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      case "${f##*/}" in node|nodejs|npm|npx|corepack) continue ;; esac
      [ -e "$NONODE/${f##*/}" ] || ln -s "$f" "$NONODE/${f##*/}"
    done
  done
  PATH=$NONODE command -v node >/dev/null && fail "node is still on the PATH without node"
  PATH=$NONODE dpkg -i "$DEB" >/dev/null
  check() { # PATH MODE OWNER:GROUP
    local got
    got=$(stat -c '%a %U:%G' "$1") || fail "$1 missing after dpkg -i"
    [ "$got" = "$2 $3" ] || fail "$1 is '$got', expected '$2 $3'"
  }
  check /etc/credgw 750 root:credgw
  check /etc/credgw/config.json 640 root:credgw
  check /etc/credgw/credentials 750 root:credgw
  check /var/lib/credgw 750 credgw:credgw
  check /var/log/credgw 750 credgw:credgw
  check /etc/logrotate.d/credgw 644 root:root
  dpkg-query --control-show credgw conffiles | grep -qx /etc/logrotate.d/credgw || fail "/etc/logrotate.d/credgw is not a conffile"
  if command -v logrotate >/dev/null; then
    logrotate --debug /etc/logrotate.d/credgw >/dev/null 2>&1 || fail "logrotate does not accept /etc/logrotate.d/credgw"
  fi
  check /usr/bin/credgw 755 root:root
  check /lib/systemd/system/credgw.service 644 root:root
  [ ! -e /usr/lib/credgw ] || fail "the binary package left /usr/lib/credgw"
  # As the unit runs it (User=, WorkingDirectory=, Environment=), no node on PATH:
  # version, then the demo (simulators and two gateways, each this binary).
  say "the installed binary as user credgw, no node on PATH"
  unit_env=()
  while IFS= read -r line; do
    for kv in ${line#Environment=}; do unit_env+=("$kv"); done
  done < <(grep '^Environment=' /lib/systemd/system/credgw.service)
  as_service() {
    (cd /var/lib/credgw && setpriv --reuid credgw --regid credgw --init-groups \
      env -i PATH="$NONODE" HOME=/var/lib/credgw LANG=C.UTF-8 "${unit_env[@]}" "$@")
  }
  ver=$(as_service /usr/bin/credgw version --json) || fail "credgw version failed"
  echo "$ver"
  echo "$ver" | grep -q '"node":"v24\.' || fail "the installed binary does not run on Node 24"
  echo "$ver" | grep -q '"packaging":"binary"' || fail "the installed credgw is not the binary"
  demo_home=$(mktemp -d /tmp/credgw-demo.XXXXXX)
  chown credgw:credgw "$demo_home"
  as_service env HOME="$demo_home" TMPDIR="$demo_home" /usr/bin/credgw demo >"$WORK/demo.out" 2>&1 ||
    { cat "$WORK/demo.out" >&2; fail "credgw demo failed from the installed binary"; }
  grep 'demo complete' "$WORK/demo.out"
  rm -rf "$demo_home"
  echo '{"marker":true}' >/etc/credgw/config.json
  dpkg -i "$DEB" >/dev/null
  grep -q marker /etc/credgw/config.json || fail "the upgrade replaced /etc/credgw/config.json"
  check /etc/credgw/config.json 640 root:credgw
  dpkg --purge credgw >/dev/null
  [ ! -e /etc/credgw ] && [ ! -e /var/lib/credgw ] && [ ! -e /var/log/credgw ] && [ ! -e /usr/lib/credgw ] &&
    [ ! -e /etc/logrotate.d/credgw ] || fail "purge left files behind"
  # Debian keeps system users on purge; remove the one this check created.
  [ "$had_user" -eq 1 ] || { userdel credgw 2>/dev/null || true; groupdel credgw 2>/dev/null || true; }
fi

# --- .rpm -------------------------------------------------------------------------
# The binary's symbol versions (rpm's automatic requires) within RHEL 9's
# glibc 2.34 and GCC 11 libstdc++, the oldest of the distributions the README
# names (Ubuntu 22.04: 2.35 and GCC 12).
within_rhel9_symbols() { # RPM
  local floor prefix newest
  for floor in GLIBC_2.34 GLIBCXX_3.4.29 CXXABI_1.3.13; do
    prefix=${floor%%_*}_
    newest=$(rpm -qp --requires "$1" 2>/dev/null | grep -o "($prefix[0-9.]*)" | tr -d '()' | sort -V | tail -1)
    [ -n "$newest" ] || fail "$(basename "$1") requires no $prefix version: not the binary rpm's automatic requires?"
    [ "$(printf '%s\n%s\n' "$newest" "$floor" | sort -V | tail -1)" = "$floor" ] || fail "$(basename "$1"): the binary needs $newest, newer than RHEL 9's $floor"
    say "$(basename "$1"): the binary needs $prefix up to $newest (RHEL 9 has $floor)"
  done
}
say "building the .rpm (twice)"
RPM=$(bash scripts/package-rpm.sh --arch x86_64 --out build/rpm)
RPM2=$(bash scripts/package-rpm.sh --arch x86_64 --out "$WORK/rpm2")
cmp "$RPM" "$RPM2" || fail "the .rpm is not the same bytes when built twice"
rpm -qp --requires "$RPM" 2>/dev/null | grep -qi node && fail "the .rpm requires node"
rpm -qp --requires "$RPM" 2>/dev/null | grep -qx /usr/bin/kill || fail "the .rpm does not require /usr/bin/kill (the unit's ExecReload=)"
within_rhel9_symbols "$RPM"
# Expected: path, mode, owner, group (rpm -qp --queryformat over the file list).
rpm -qp --qf '[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME}\n]' "$RPM" 2>/dev/null >"$WORK/rpm-files"
for want in '/usr/bin/credgw -rwxr-xr-x root:root' \
  '/usr/lib/systemd/system/credgw.service -rw-r--r-- root:root' \
  '/usr/lib/systemd/system-generators/credgw-credentials-compat -rwxr-xr-x root:root' \
  '/etc/logrotate.d/credgw -rw-r--r-- root:root' \
  '/etc/credgw drwxr-x--- root:credgw' '/etc/credgw/credentials drwxr-x--- root:credgw' \
  '/var/lib/credgw drwxr-x--- credgw:credgw' '/var/log/credgw drwxr-x--- credgw:credgw' \
  '/usr/share/credgw/reset-listener/credgw-notify.sh -rwxr-xr-x root:root'; do
  grep -qxF "$want" "$WORK/rpm-files" || { cat "$WORK/rpm-files" >&2; fail ".rpm: no '$want'"; }
done
rpm -qp --scripts "$RPM" 2>/dev/null | grep -q 'useradd -r -g credgw' || fail ".rpm: no %pre creating user credgw"
say "rpmlint $(basename "$RPM")"
rpmlint -c scripts/rpmlint.toml "$RPM" || fail "rpmlint reported errors"
say "rpm -i --noscripts into a scratch root"
RROOT=$WORK/rpm-root
mkdir -p "$RROOT/etc"
printf 'root:x:0:0:root:/root:/bin/sh\ncredgw:x:990:990::/var/lib/credgw:/sbin/nologin\n' >"$RROOT/etc/passwd"
printf 'root:x:0:\ncredgw:x:990:\n' >"$RROOT/etc/group"
rpm -i --nodeps --noscripts --root "$RROOT" "$RPM" 2> >(grep -v 'RPM should not be used directly\|assuming you know what you are doing' >&2)
rpm -V --nodeps --noscripts --root "$RROOT" credgw || fail "rpm -V reports changes right after rpm -i"
[ "$(stat -c '%a %u:%g' "$RROOT/etc/credgw/credentials")" = "750 0:990" ] || fail ".rpm: /etc/credgw/credentials not root:credgw 0750 once installed"
"$RROOT/usr/bin/credgw" version --json | grep -q '"packaging":"binary"' || fail "the binary from the .rpm does not run"

# --- .tar.gz ----------------------------------------------------------------------
# Into build/tar, where .ci/systemd-boot-check.sh --tar takes it from.
say "building the .tar.gz (twice)"
TGZ=$(bash scripts/package-tar.sh --arch x64 --out build/tar)
cmp "$TGZ" "$(bash scripts/package-tar.sh --arch x64 --out "$WORK/tar2")" || fail "the .tar.gz is not the same bytes when built twice"
tar -tzf "$TGZ" >"$WORK/tar-list"
for f in credgw install.sh uninstall.sh credgw.service credgw-credentials-compat; do
  grep -q "^credgw-[^/]*/$f\$" "$WORK/tar-list" || fail "$(basename "$TGZ") has no $f"
done

# --- arm64 -------------------------------------------------------------------------
if [ -x build/bin/credgw-linux-arm64 ]; then
  say "the arm64 .deb and the aarch64 .rpm (of build/bin/credgw-linux-arm64)"
  DEB_ARM=$(bash scripts/package-deb.sh --arch arm64 --out "$WORK/arm64")
  dpkg-deb -f "$DEB_ARM" Depends | grep -q nodejs && fail "the arm64 .deb depends on nodejs"
  [ "$(dpkg-deb -f "$DEB_ARM" Architecture)" = arm64 ] || fail "$(basename "$DEB_ARM"): Architecture $(dpkg-deb -f "$DEB_ARM" Architecture)"
  lintian --fail-on error --tag-display-limit 0 "$DEB_ARM" 2> >(grep -v 'running with root privileges' >&2) ||
    fail "lintian reported errors on $(basename "$DEB_ARM")"
  RPM_ARM=$(bash scripts/package-rpm.sh --arch aarch64 --out "$WORK/arm64")
  rpm -qp --requires "$RPM_ARM" 2>/dev/null | grep -qi node && fail "the aarch64 .rpm requires node"
  within_rhel9_symbols "$RPM_ARM"
  rpmlint -c scripts/rpmlint.toml "$RPM_ARM" || fail "rpmlint reported errors on $(basename "$RPM_ARM")"
else
  say "no build/bin/credgw-linux-arm64: the arm64 packages not checked"
fi

say "ok"
