# shellcheck shell=bash
# Sourced by scripts/package-deb.sh, package-rpm.sh and package-tar.sh (bash,
# set -euo pipefail): the start they share, so that the three packages read
# options, map architectures and date their files the same way. The caller
# sets PROG (its name in messages) before sourcing this file.

die() { echo "$PROG: error: $*" >&2; exit 1; }

# The source tree (this file is scripts/lib/package-common.sh).
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# package_options NUMBER_OPTION NUMBER_VAR [ARG...]
# The .deb's and the .rpm's command line: --arch, --binary, --out, the
# package's own number (--revision into REVISION, --release into RELEASE) and
# -h/--help, which prints the calling script's header comment (from line 2 to
# the first line that is not a comment, so it follows edits to the header).
# Sets ARCH and BINARY (empty when not given); OUT and NUMBER_VAR keep the
# caller's defaults unless given.
package_options() {
  local number_option=$1 number_var=$2
  shift 2
  ARCH=
  BINARY=
  # shellcheck disable=SC2034 # OUT is the caller's
  while [ $# -gt 0 ]; do
    case "$1" in
      --arch) ARCH=$2; shift 2 ;;
      --binary) BINARY=$2; shift 2 ;;
      --out) OUT=$2; shift 2 ;;
      "$number_option") printf -v "$number_var" %s "$2"; shift 2 ;;
      -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
      *) echo "$PROG: unknown option: $1" >&2; exit 2 ;;
    esac
  done
}

# package_need TOOL HINT: the packaging tool and node, or a message saying how to get it.
package_need() {
  command -v "$1" >/dev/null || die "$1 not found ($2)"
  command -v node >/dev/null || die "node not found"
}

# package_binary X64_ARCH ARM64_ARCH: maps ARCH (the package's own name for
# it) to NODE_ARCH (x64, arm64) and checks BINARY, by default the binary
# scripts/build-binary.mjs builds for that arch.
package_binary() {
  case "$ARCH" in
    "$1") NODE_ARCH=x64 ;;
    "$2") NODE_ARCH=arm64 ;;
    *) die "unsupported architecture $ARCH ($1, $2)" ;;
  esac
  [ -n "$BINARY" ] || BINARY=$SRC/build/bin/credgw-linux-$NODE_ARCH
  [ -f "$BINARY" ] || die "$BINARY not found: build it first (npm run package, or node scripts/build-binary.mjs --arch $NODE_ARCH)"
}

# package_json_version FILE: the "version" of a JSON file of the tree.
package_json_version() {
  node -p 'require(process.argv[1]).version' "$1"
}

# Reproducible dates: SOURCE_DATE_EPOCH, else the last commit, else now.
package_source_date_epoch() {
  if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)
  fi
  export SOURCE_DATE_EPOCH
}

# package_work_dir: WORK, a scratch directory removed when the script exits.
package_work_dir() {
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
}

# package_install_files ROOT: what installer/install.sh --files-only puts on
# a machine, with BINARY as /usr/bin/credgw, under ROOT.
package_install_files() {
  bash "$SRC/installer/install.sh" --root "$1" --binary "$BINARY" --files-only >/dev/null
  [ -x "$1/usr/bin/credgw" ] || die "the installer did not put the binary at /usr/bin/credgw"
}

# package_reset_listener DIR: the vault host's reset-listener scripts
# (docs/pmp-admin.md), copied onto the PMP/PAM360 server; never run here.
package_reset_listener() {
  install -d "$1"
  install -m 0755 "$SRC/contrib/reset-listener/credgw-notify.sh" "$1/"
  install -m 0644 "$SRC/contrib/reset-listener/credgw-notify.ps1" "$SRC/contrib/reset-listener/credgw-notify.conf.example" "$1/"
}
