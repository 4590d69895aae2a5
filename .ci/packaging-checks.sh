#!/usr/bin/env bash
# Packaging checks for CI (called from .ci/run, as root on Debian 12):
#   1. systemd-analyze verify on the unit, installed into a staging root
#   2. systemd-analyze security --offline: exposure must be <= 1.5
#   3. the .deb builds and lintian reports no error (warnings are printed)
#   4. the .deb installs, upgrades over itself and purges cleanly on this machine
# Installs what it needs from Debian's packages first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE_X10=15
say() { echo "== packaging: $*"; }
fail() { echo "!! packaging: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------
NEEDED=(systemd lintian dpkg-dev adduser python3)
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

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --- systemd-analyze verify -------------------------------------------------------
# verify resolves ExecStart= and the default dependencies (sysinit.target,
# ...) inside --root, so the root gets the installed files plus a copy of the
# distribution's units and /bin/kill (ExecReload=). Any message is a failure:
# verify exits 0 on unknown keys and bad values, it only prints them.
say "systemd-analyze verify"
VROOT=$WORK/verify-root
bash installer/install.sh --root "$VROOT" --files-only >/dev/null
mkdir -p "$VROOT/usr/lib/systemd" "$VROOT/etc/systemd/system"
cp -a /lib/systemd/system "$VROOT/usr/lib/systemd/"
rm -f "$VROOT/usr/lib/systemd/system/credgw.service"
cp /bin/kill "$VROOT/usr/bin/kill"
[ -e "$VROOT/bin" ] || ln -s usr/bin "$VROOT/bin"
if ! out=$(systemd-analyze verify --man=no --generators=no --root="$VROOT" credgw.service 2>&1) || [ -n "$out" ]; then
  echo "$out" >&2
  fail "systemd-analyze verify reported problems"
fi

# --- systemd-analyze security -----------------------------------------------------
say "systemd-analyze security --offline"
sec=$(systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE_X10 systemd/credgw.service 2>&1) && rc=0 || rc=$?
echo "$sec" | grep -E '✗|Overall exposure' || true
echo "$sec" | grep -q 'Overall exposure level' || fail "no exposure level in the output of systemd-analyze security"
[ "$rc" -eq 0 ] || fail "exposure above $((MAX_EXPOSURE_X10 / 10)).$((MAX_EXPOSURE_X10 % 10))"

# --- .deb and lintian -------------------------------------------------------------
say "building the .deb"
DEB=$(bash scripts/package-deb.sh --out "$WORK/deb")
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
  dpkg -i "$DEB" >/dev/null
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

say "ok"
