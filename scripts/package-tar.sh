#!/bin/bash
# Builds build/tar/credgw-<version>-linux-<arch>.tar.gz: the binary, the unit,
# install.sh (which installs the binary found beside it) and what it installs
# with it (generator, logrotate, man page, example config), the vault host's
# reset-listener scripts, plus the SBOM.
#
#   scripts/package-tar.sh [--arch x64|arm64] [--out DIR]
set -euo pipefail
umask 022
PROG=package-tar.sh
# shellcheck source-path=SCRIPTDIR source=lib/package-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/package-common.sh"
ARCH=$(node -p process.arch)
OUT=$SRC/build/tar
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "package-tar.sh: unknown option: $1" >&2; exit 2 ;;
  esac
done
BINARY=$SRC/build/bin/credgw-linux-$ARCH
[ -f "$BINARY" ] || { echo "package-tar.sh: $BINARY not found: node scripts/build-binary.mjs --arch $ARCH" >&2; exit 1; }
VERSION=$(package_json_version "$SRC/package.json")
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then SOURCE_DATE_EPOCH=$(git -C "$SRC" log -1 --format=%ct); fi
NAME=credgw-$VERSION-linux-$ARCH
package_work_dir
D=$WORK/$NAME
mkdir -p "$D"
install -m 0755 "$BINARY" "$D/credgw"
install -m 0755 "$SRC/installer/install.sh" "$SRC/installer/uninstall.sh" "$SRC/installer/credgw-credentials-compat" "$D/"
install -m 0644 "$SRC/systemd/credgw.service" "$SRC/installer/credgw.logrotate" "$SRC/installer/credgw.1" \
  "$SRC/config/credgw.example.json" "$D/"
# The vault host's reset-listener scripts (docs/pmp-admin.md); install.sh leaves them here.
package_reset_listener "$D/reset-listener"
find "$D" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$OUT"
TAR=$OUT/$NAME.tar.gz
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$WORK" -cf - "$NAME" | gzip -9n >"$TAR"
echo "$TAR"
