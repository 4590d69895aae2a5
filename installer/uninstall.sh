#!/bin/bash
# Removes what installer/install.sh installed.
#
#   sudo installer/uninstall.sh            # keep /etc/credgw, /var/lib/credgw, /var/log/credgw and the credgw user
#   sudo installer/uninstall.sh --purge    # remove those too
#   installer/uninstall.sh --root DIR      # a staging root
#
# Exit codes: 0 ok, 1 failure, 2 usage.
set -euo pipefail

PROG=uninstall.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }
note() { echo "$PROG: $*"; }
usage() { echo "Usage: uninstall.sh [--root DIR] [--purge]"; }

ROOT=/
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { usage >&2; exit 2; }; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$PROG: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

[ -d "$ROOT" ] || die "root $ROOT does not exist"
ROOT=$(cd "$ROOT" && pwd)
R=${ROOT%/}
STAGING=0
[ "$ROOT" = / ] || STAGING=1
if [ "$STAGING" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "must run as root to uninstall from / (try: sudo $0 $*)"
fi

SYSTEMD_RUNNING=0
if [ "$STAGING" -eq 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  SYSTEMD_RUNNING=1
fi
if [ "$STAGING" -eq 0 ] && command -v systemctl >/dev/null && [ -e /lib/systemd/system/credgw.service ]; then
  if [ "$SYSTEMD_RUNNING" -eq 1 ]; then
    systemctl disable --now --quiet credgw.service || true
  else
    systemctl disable --quiet credgw.service || true
  fi
fi

rm -rf "$R/usr/lib/credgw" "$R/usr/lib/credgw.new" "$R/usr/lib/credgw.old"
rm -f "$R/usr/bin/credgw" "$R/lib/systemd/system/credgw.service" "$R/usr/share/man/man1/credgw.1.gz" "$R/etc/logrotate.d/credgw"
rm -f "$R/lib/systemd/system-generators/credgw-credentials-compat"
rm -rf "$R/usr/share/doc/credgw"
[ "$SYSTEMD_RUNNING" -eq 0 ] || systemctl daemon-reload

if [ "$PURGE" -eq 1 ]; then
  rm -rf "$R/etc/credgw" "$R/var/lib/credgw" "$R/var/log/credgw" "$R/etc/systemd/system/credgw.service.d"
  if [ "$STAGING" -eq 0 ]; then
    if getent passwd credgw >/dev/null; then userdel credgw; fi
    if getent group credgw >/dev/null; then groupdel credgw; fi
  else
    for f in passwd group; do
      if [ -f "$R/etc/$f" ]; then
        grep -v '^credgw:' "$R/etc/$f" >"$R/etc/$f.tmp" || true
        mv "$R/etc/$f.tmp" "$R/etc/$f"
      fi
    done
  fi
  note "credgw removed with its configuration, credentials, state and user"
else
  note "credgw removed; kept /etc/credgw, /var/lib/credgw, /var/log/credgw and the credgw user (--purge removes them)"
fi
