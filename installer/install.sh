#!/bin/bash
# Installs (or upgrades) credgw: the single-executable binary (the
# credgw-*.tar.gz: binary, unit and this script side by side; no Node.js
# needed, the binary embeds Node 24 LTS), or a built source tree run by
# Node.js 24 LTS (the pinned one the build fetched; --node PATH for development).
#
#   sudo ./install.sh                          # from the unpacked .tar.gz
#   sudo installer/install.sh                  # from a built source tree
#   installer/install.sh --root /tmp/stage     # install into a staging root
#
# What it puts where (docs/operations.md has the full table):
#   /usr/bin/credgw                  the binary; or, from a source tree, a wrapper running
#   /usr/lib/credgw/                 the app (dist/, package.json, production node_modules)
#                                    and node/bin/node, the pinned Node.js 24 (not with --node)
#   /lib/systemd/system-generators/credgw-credentials-compat  (systemd < 251, see the file)
#   /usr/share/doc/credgw/examples/credgw.example.json
#   /lib/systemd/system/credgw.service
#   /etc/logrotate.d/credgw          rotation of an audit file under /var/log/credgw
#   /usr/share/man/man1/credgw.1.gz
#   user and group credgw (system account, no login, home /var/lib/credgw)
#   /etc/credgw/                     root:credgw 0750
#   /etc/credgw/config.json          root:credgw 0640, created only when absent
#   /etc/credgw/credentials/         root:credgw 0750: token files, root:credgw 0640 (LoadCredential=)
#   /var/lib/credgw/                 credgw:credgw 0750
#   /var/log/credgw/                 credgw:credgw 0750 (the unit's LogsDirectory=, for telemetry.audit)
#
# An upgrade replaces only the app, wrapper, unit and man page: config,
# credentials and state are kept, and the service is restarted only if it was
# running. Exit codes: 0 ok, 1 failure, 2 usage.
set -euo pipefail
umask 022

PROG=install.sh
SERVICE_USER=credgw
SERVICE_GROUP=credgw

usage() {
  cat <<'EOF'
Usage: install.sh [--root DIR] [--binary FILE | --app-dir DIR [--node PATH]] [--files-only]

  --root DIR      install into DIR instead of / (staging; no systemctl, no root needed)
  --binary FILE   the credgw single-executable binary (default: ./credgw next to
                  this script, as in the .tar.gz)
  --app-dir DIR   the built credgw tree (dist/, package.json, package-lock.json,
                  node_modules/); default: the directory above this script
  --node PATH     run the source tree with this Node.js instead (development: any
                  release package.json's devEngines allows, 20.18.1 or newer);
                  default: the pinned Node.js 24 LTS in build/cache (fetched by
                  'npm run package:binary'), copied in, else a Node.js 24 on PATH
  --files-only    install only the packaged files (app, wrapper, unit, man page);
                  no user, /etc or /var (used to build the .deb)
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
note() { echo "$PROG: $*"; }

ROOT=/
APP_SRC=
NODE_BIN=
BINARY=
FILES_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { usage >&2; exit 2; }; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --app-dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; APP_SRC=$2; shift 2 ;;
    --app-dir=*) APP_SRC=${1#--app-dir=}; shift ;;
    --binary) [ $# -ge 2 ] || { usage >&2; exit 2; }; BINARY=$2; shift 2 ;;
    --binary=*) BINARY=${1#--binary=}; shift ;;
    --node) [ $# -ge 2 ] || { usage >&2; exit 2; }; NODE_BIN=$2; shift 2 ;;
    --node=*) NODE_BIN=${1#--node=}; shift ;;
    --files-only) FILES_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$PROG: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The .tar.gz holds the binary beside this script; a source tree has none.
if [ -z "$BINARY" ] && [ -z "$APP_SRC" ] && [ -f "$SCRIPT_DIR/credgw" ]; then BINARY=$SCRIPT_DIR/credgw; fi
[ -z "$BINARY" ] || [ -z "$APP_SRC" ] || die "--binary and --app-dir exclude each other"
if [ -n "$BINARY" ]; then
  [ -f "$BINARY" ] || die "binary $BINARY not found"
  BINARY=$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")
else
  [ -n "$APP_SRC" ] || APP_SRC=$(cd "$SCRIPT_DIR/.." && pwd)
  [ -d "$APP_SRC" ] || die "app directory $APP_SRC does not exist"
  APP_SRC=$(cd "$APP_SRC" && pwd)
fi
# Files found beside this script (.tar.gz) or in the source tree's folders.
find_file() { # NAME SOURCE-TREE-PATH
  if [ -f "$SCRIPT_DIR/$1" ]; then echo "$SCRIPT_DIR/$1"; elif [ -f "$SCRIPT_DIR/../$2" ]; then (cd "$SCRIPT_DIR/.." && echo "$PWD/$2"); fi
}
mkdir -p "$ROOT" 2>/dev/null || die "cannot create root $ROOT"
ROOT=$(cd "$ROOT" && pwd)
STAGING=0
[ "$ROOT" = / ] || STAGING=1
# Paths below are written as "$R/usr/..." so that R is empty for the real root.
R=${ROOT%/}

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
if [ "$STAGING" -eq 0 ] && [ "$IS_ROOT" -eq 0 ]; then
  die "must run as root to install into / (try: sudo $0 $*), or use --root DIR for a staging root"
fi

# --- the source tree ------------------------------------------------------
UNIT_SRC=$(find_file credgw.service systemd/credgw.service)
[ -n "$UNIT_SRC" ] || die "credgw.service not found next to the installer"
LOGROTATE_SRC=$SCRIPT_DIR/credgw.logrotate
[ -f "$LOGROTATE_SRC" ] || die "$LOGROTATE_SRC not found"
MAN_SRC=$SCRIPT_DIR/credgw.1
GENERATOR_SRC=$SCRIPT_DIR/credgw-credentials-compat
[ -f "$GENERATOR_SRC" ] || die "$GENERATOR_SRC not found"
EXAMPLE_SRC=$(find_file credgw.example.json config/credgw.example.json)

if [ -z "$BINARY" ]; then
[ -f "$APP_SRC/dist/cli/main.js" ] ||
  die "no built app in $APP_SRC (dist/cli/main.js missing): run 'npm ci && npm run build' there first, or pass --app-dir"
[ -f "$APP_SRC/package.json" ] || die "$APP_SRC/package.json missing"
[ -f "$APP_SRC/package-lock.json" ] || die "$APP_SRC/package-lock.json missing (needed to pick the production dependencies)"
[ -d "$APP_SRC/node_modules" ] || die "$APP_SRC/node_modules missing: run 'npm ci' there first"

# --- Node.js ----------------------------------------------------------------
# credgw runs on Node.js 24 LTS (package.json "engines"); the source tree
# also runs on older releases for development ("devEngines"). Without
# --node: the pinned Node.js 24 that `npm run package:binary` fetched into
# build/cache (scripts/node-runtime.json), copied to /usr/lib/credgw/node so
# the service does not depend on the checkout; else a Node.js 24 on PATH.
# --node PATH is the development override: any release "devEngines" allows.
pinned_runtime() { # prints the pinned Node.js of this machine's architecture, if fetched
  local version arch
  version=$(sed -n 's/^ *"version": *"\([0-9.]*\)".*/\1/p' "$APP_SRC/scripts/node-runtime.json" 2>/dev/null | head -1)
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) return 0 ;; esac
  [ -z "$version" ] || [ ! -x "$APP_SRC/build/cache/node-linux-$arch-$version/bin/node" ] ||
    echo "$APP_SRC/build/cache/node-linux-$arch-$version/bin/node"
}
# node_fit NODE: "VERSION RUNTIME_OK DEV_OK RUNTIME_RANGE DEV_RANGE" against
# package.json (ranges of the forms it uses: ^X.Y.Z and >=X.Y.Z).
node_fit() {
  "$1" -e '
    const pkg = require(process.argv[1]);
    const have = process.version.replace(/^v/, "").split(".").map((n) => parseInt(n, 10) || 0);
    const fits = (range) => {
      const m = /^(\^|>=)\s*(\d+)\.(\d+)\.(\d+)$/.exec(range);
      if (!m) throw new Error("unsupported version range in package.json: " + range);
      const want = m.slice(2).map(Number);
      let cmp = 0;
      for (let i = 0; i < 3 && cmp === 0; i++) cmp = Math.sign(have[i] - want[i]);
      return cmp >= 0 && (m[1] === ">=" || have[0] === want[0]) ? 1 : 0;
    };
    const runtime = (pkg.engines && pkg.engines.node) || ">=0.0.0";
    const dev = (pkg.devEngines && pkg.devEngines.runtime && pkg.devEngines.runtime.version) || runtime;
    console.log([process.version, fits(runtime), fits(dev), runtime, dev].join(" "));
  ' "$APP_SRC/package.json" 2>&1
}
NODE_FROM=--node
COPY_NODE=0
if [ -z "$NODE_BIN" ]; then
  NODE_BIN=$(pinned_runtime)
  if [ -n "$NODE_BIN" ]; then
    NODE_FROM=pinned
    COPY_NODE=1
  else
    NODE_FROM=PATH
    NODE_BIN=$(command -v node || true)
    [ -n "$NODE_BIN" ] ||
      die "no Node.js 24 LTS: run 'npm run package:binary' in $APP_SRC (it fetches the pinned Node.js 24 into build/cache, which this installer copies in), or put Node.js 24 on PATH, or pass --node PATH (development: 20.18.1 or newer)"
  fi
fi
[ -x "$NODE_BIN" ] || die "Node.js binary $NODE_BIN is not executable"
case "$NODE_BIN" in /*) ;; *) NODE_BIN=$(cd "$(dirname "$NODE_BIN")" && pwd)/$(basename "$NODE_BIN") ;; esac
NODE_FIT=$(node_fit "$NODE_BIN") || die "cannot run $NODE_BIN: $NODE_FIT"
set -- $NODE_FIT
[ $# -eq 5 ] || die "unexpected answer from $NODE_BIN: $NODE_FIT"
NODE_VERSION=$1
case "$NODE_FROM:$2:$3" in
  pinned:1:*) note "Node.js $NODE_VERSION: the pinned runtime from build/cache, installed as /usr/lib/credgw/node/bin/node" ;;
  pinned:*) die "the pinned runtime $NODE_BIN is $NODE_VERSION, not $4 (package.json engines): check scripts/node-runtime.json" ;;
  PATH:1:*) note "Node.js $NODE_VERSION at $NODE_BIN" ;;
  PATH:*) die "Node.js $NODE_VERSION at $NODE_BIN is not the Node.js 24 LTS credgw runs on ($4): run 'npm run package:binary' in $APP_SRC (it fetches the pinned Node.js 24 into build/cache, which this installer copies in), or pass --node PATH (development: $5)" ;;
  --node:1:*) note "Node.js $NODE_VERSION at $NODE_BIN" ;;
  --node:0:1) note "Node.js $NODE_VERSION at $NODE_BIN: a development set-up; credgw ships on Node.js 24 LTS ($4)" ;;
  *) die "Node.js $NODE_VERSION at $NODE_BIN is too old: credgw needs ${5#>=} or newer, and ships on Node.js 24 LTS ($4) (pass --node PATH to use another)" ;;
esac
fi

# --- ownership helpers ------------------------------------------------------
# In a staging root the credgw account goes into the root's own etc/passwd and
# etc/group, and files get those numeric ids (chown needs root; without it the
# staging files keep the caller's ids and a note says so).
ensure_account() {
  if [ "$STAGING" -eq 0 ]; then
    getent group "$SERVICE_GROUP" >/dev/null || groupadd --system "$SERVICE_GROUP"
    getent passwd "$SERVICE_USER" >/dev/null ||
      useradd --system --gid "$SERVICE_GROUP" --home-dir /var/lib/credgw --no-create-home \
        --shell /usr/sbin/nologin --comment "credgw gateway" "$SERVICE_USER"
    SVC_UID=$(id -u "$SERVICE_USER"); SVC_GID=$(getent group "$SERVICE_GROUP" | cut -d: -f3)
    return
  fi
  mkdir -p "$R/etc"
  touch "$R/etc/passwd" "$R/etc/group"
  grep -q '^root:' "$R/etc/group" || echo 'root:x:0:' >>"$R/etc/group"
  grep -q '^root:' "$R/etc/passwd" || echo 'root:x:0:0:root:/root:/bin/sh' >>"$R/etc/passwd"
  SVC_GID=$(awk -F: -v n="$SERVICE_GROUP" '$1 == n { print $3 }' "$R/etc/group")
  if [ -z "$SVC_GID" ]; then
    SVC_GID=$(awk -F: '{ used[$3] = 1 } END { for (i = 999; i >= 100; i--) if (!(i in used)) { print i; exit } }' "$R/etc/group")
    echo "$SERVICE_GROUP:x:$SVC_GID:" >>"$R/etc/group"
  fi
  SVC_UID=$(awk -F: -v n="$SERVICE_USER" '$1 == n { print $3 }' "$R/etc/passwd")
  if [ -z "$SVC_UID" ]; then
    SVC_UID=$(awk -F: '{ used[$3] = 1 } END { for (i = 999; i >= 100; i--) if (!(i in used)) { print i; exit } }' "$R/etc/passwd")
    echo "$SERVICE_USER:x:$SVC_UID:$SVC_GID:credgw gateway:/var/lib/credgw:/usr/sbin/nologin" >>"$R/etc/passwd"
  fi
}

# own UID GID PATH: chown by number (works in a staging root too).
own() {
  if [ "$IS_ROOT" -eq 1 ]; then chown -h "$1:$2" "$3"; fi
}

# --- the packaged files -----------------------------------------------------
copy_production_modules() {
  local src=$1 dest=$2
  # package-lock.json (v2/v3) marks packages reached only through
  # devDependencies "dev"; everything else under node_modules/ is needed at
  # run time ("devOptional" ones are optional dependencies of production code). Each package is
  # copied without its nested node_modules/, whose packages are listed on their own.
  # Optional dependencies for other platforms are in the lock but not on disk:
  # skipped here, in the one node run (a process per package costs seconds on a busy host).
  "$NODE_BIN" -e '
    const fs = require("fs");
    const [lockFile, src] = process.argv.slice(1);
    const lock = require(lockFile);
    if (!lock.packages) { console.error("package-lock.json has no \"packages\" (lockfileVersion >= 2 needed)"); process.exit(1); }
    for (const [path, meta] of Object.entries(lock.packages)) {
      if (!path.startsWith("node_modules/") || meta.dev || meta.link) continue;
      if (meta.optional && !fs.existsSync(src + "/" + path)) continue;
      console.log(path);
    }
  ' "$src/package-lock.json" "$src" | sort >"$TMP_LIST"
  local path n=0
  while IFS= read -r path; do
    [ -d "$src/$path" ] || die "$src/$path missing: run 'npm ci' in $src"
    mkdir -p "$dest/$path"
    # One cp per package, not per entry (sh -c takes the destination as $0).
    find "$src/$path" -mindepth 1 -maxdepth 1 ! -name node_modules -exec sh -c 'cp -R "$@" "$0"' "$dest/$path/" {} +
    n=$((n + 1))
  done <"$TMP_LIST"
  # Development leftovers some packages publish: dotfiles (lint, VCS and CI
  # configs, git hooks) and web pages loading scripts from CDNs. None is
  # loaded at run time; Debian's lintian flags them.
  find "$dest/node_modules" -mindepth 2 -name '.*' -prune -exec rm -rf {} +
  find "$dest/node_modules" -type f -name '*.html' -delete
  note "copied $n production packages"
}

install_binary() {
  mkdir -p "$R/usr/bin"
  install -m 0755 "$BINARY" "$R/usr/bin/credgw.tmp"
  mv "$R/usr/bin/credgw.tmp" "$R/usr/bin/credgw"
  # An earlier source-tree install's app tree is no longer used.
  rm -rf "$R/usr/lib/credgw" "$R/usr/lib/credgw.new" "$R/usr/lib/credgw.old"
  [ "$IS_ROOT" -eq 0 ] || chown 0:0 "$R/usr/bin/credgw"
}

install_common() {
  mkdir -p "$R/lib/systemd/system" "$R/lib/systemd/system-generators"
  install -m 0644 "$UNIT_SRC" "$R/lib/systemd/system/credgw.service"
  install -m 0755 "$GENERATOR_SRC" "$R/lib/systemd/system-generators/credgw-credentials-compat"
  mkdir -p "$R/etc/logrotate.d"
  install -m 0644 "$LOGROTATE_SRC" "$R/etc/logrotate.d/credgw"
  if [ -n "$EXAMPLE_SRC" ]; then
    mkdir -p "$R/usr/share/doc/credgw/examples"
    install -m 0644 "$EXAMPLE_SRC" "$R/usr/share/doc/credgw/examples/credgw.example.json"
  fi
  if [ -f "$MAN_SRC" ]; then
    mkdir -p "$R/usr/share/man/man1"
    gzip -9n -c "$MAN_SRC" >"$R/usr/share/man/man1/credgw.1.gz"
    chmod 0644 "$R/usr/share/man/man1/credgw.1.gz"
  fi
  if [ "$IS_ROOT" -eq 1 ]; then
    chown 0:0 "$R/lib/systemd/system/credgw.service" "$R/lib/systemd/system-generators/credgw-credentials-compat" "$R/etc/logrotate.d/credgw"
    [ ! -f "$R/usr/share/man/man1/credgw.1.gz" ] || chown 0:0 "$R/usr/share/man/man1/credgw.1.gz"
    [ ! -d "$R/usr/share/doc/credgw" ] || chown -R 0:0 "$R/usr/share/doc/credgw"
  fi
}

install_files() {
  local app=$R/usr/lib/credgw new=$R/usr/lib/credgw.new
  rm -rf "$new"
  mkdir -p "$new"
  cp -R "$APP_SRC/dist" "$new/dist"
  # Source maps point at src/, which is not shipped; they only cost space.
  find "$new/dist" -name '*.map' -delete
  cp "$APP_SRC/package.json" "$new/package.json"
  if [ -d "$APP_SRC/config" ]; then cp -R "$APP_SRC/config" "$new/config"; fi
  copy_production_modules "$APP_SRC" "$new"
  # Files readable by all, writable by root only; nothing executable (the
  # wrapper runs node explicitly).
  chmod -R u=rwX,go=rX "$new"
  find "$new" -type f -exec chmod a-x {} +
  # Scripts (files starting with #!: the CLI entry, packages' bin entries)
  # keep an executable bit.
  find "$new" -type f \( -name '*.js' -o -name '*.cjs' -o -name '*.sh' \) -exec grep -l -m1 '^#!' {} + 2>/dev/null |
    while IFS= read -r f; do head -c2 "$f" | grep -q '^#!' && chmod a+x "$f"; done || true
  local run_node=$NODE_BIN
  if [ "$COPY_NODE" -eq 1 ]; then
    # After the mode changes above, which clear every execute bit.
    mkdir -p "$new/node/bin"
    install -m 0755 "$NODE_BIN" "$new/node/bin/node"
    [ ! -f "$(dirname "$NODE_BIN")/../LICENSE" ] || install -m 0644 "$(dirname "$NODE_BIN")/../LICENSE" "$new/node/LICENSE"
    run_node=/usr/lib/credgw/node/bin/node
  fi
  rm -rf "$app.old"
  if [ -e "$app" ]; then mv "$app" "$app.old"; fi
  mv "$new" "$app"
  rm -rf "$app.old"

  mkdir -p "$R/usr/bin"
  cat >"$R/usr/bin/credgw.tmp" <<EOF
#!/bin/sh
# credgw command, written by credgw's installer: runs the app with the
# Node.js chosen at install time.
exec $run_node /usr/lib/credgw/dist/cli/main.js "\$@"
EOF
  chmod 0755 "$R/usr/bin/credgw.tmp"
  mv "$R/usr/bin/credgw.tmp" "$R/usr/bin/credgw"
  [ "$IS_ROOT" -eq 0 ] || chown -R 0:0 "$app" "$R/usr/bin/credgw"
}

install_state() {
  ensure_account
  # /etc/credgw: root writes, the service reads.
  mkdir -p "$R/etc/credgw"
  own 0 "$SVC_GID" "$R/etc/credgw"
  chmod 0750 "$R/etc/credgw"
  if [ -e "$R/etc/credgw/config.json" ]; then
    note "keeping existing /etc/credgw/config.json"
    if [ "$IS_ROOT" -eq 1 ]; then
      local mode group
      mode=$(stat -c %a "$R/etc/credgw/config.json"); group=$(stat -c %g "$R/etc/credgw/config.json")
      if [ "$group" != "$SVC_GID" ] || [ $((0$mode & 040)) -eq 0 ]; then
        note "warning: /etc/credgw/config.json is mode $mode group $group; the service needs group $SERVICE_GROUP read (chgrp $SERVICE_GROUP, chmod 0640)"
      fi
    fi
  else
    # An empty object: `credgw config init` or `credgw vault add` fill it in.
    # Created here with its final owner and mode, which credgw's config store
    # keeps on every rewrite.
    printf '{}\n' >"$R/etc/credgw/config.json.tmp"
    own 0 "$SVC_GID" "$R/etc/credgw/config.json.tmp"
    chmod 0640 "$R/etc/credgw/config.json.tmp"
    mv "$R/etc/credgw/config.json.tmp" "$R/etc/credgw/config.json"
  fi
  # Token files for LoadCredential= (root:credgw 0640 each): PID 1 gives the
  # service private copies in $CREDENTIALS_DIRECTORY; root and members of
  # group credgw read them with the CLI (credential://credgw_FILE outside
  # systemd). An older install's root-only 0700 directory is opened up to the group.
  mkdir -p "$R/etc/credgw/credentials"
  own 0 "$SVC_GID" "$R/etc/credgw/credentials"
  chmod 0750 "$R/etc/credgw/credentials"
  mkdir -p "$R/var/lib/credgw"
  own "$SVC_UID" "$SVC_GID" "$R/var/lib/credgw"
  chmod 0750 "$R/var/lib/credgw"
  # systemd creates it too (LogsDirectory=); made here for another supervisor.
  mkdir -p "$R/var/log/credgw"
  own "$SVC_UID" "$SVC_GID" "$R/var/log/credgw"
  chmod 0750 "$R/var/log/credgw"
}

TMP_LIST=$(mktemp)
trap 'rm -f "$TMP_LIST"' EXIT

UPGRADE=0
{ [ -e "$R/usr/lib/credgw/package.json" ] || [ -e "$R/usr/bin/credgw" ]; } && UPGRADE=1
SYSTEMD_RUNNING=0
if [ "$STAGING" -eq 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  SYSTEMD_RUNNING=1
fi
WAS_RUNNING=0
if [ "$SYSTEMD_RUNNING" -eq 1 ] && systemctl is-active --quiet credgw.service; then
  WAS_RUNNING=1
  # Stop before swapping the tree so a running process never loads a module
  # from the new version.
  note "stopping credgw.service for the upgrade"
  systemctl stop credgw.service
fi

if [ -n "$BINARY" ]; then install_binary; else install_files; fi
install_common
[ "$FILES_ONLY" -eq 1 ] || install_state

if [ -n "$BINARY" ]; then
  # A binary for another architecture (a staging root for a package) does not run here.
  VERSION=$("$R/usr/bin/credgw" --version 2>/dev/null) || VERSION="(binary $(basename "$BINARY"))"
else
  VERSION=$("$NODE_BIN" -p 'require(process.argv[1]).version' "$R/usr/lib/credgw/package.json")
fi
if [ "$UPGRADE" -eq 1 ]; then note "upgraded credgw to $VERSION in $ROOT"; else note "installed credgw $VERSION in $ROOT"; fi
if [ "$STAGING" -eq 1 ]; then
  [ "$IS_ROOT" -eq 1 ] || note "not root: files in the staging root keep your ids (credgw is uid $SVC_UID gid $SVC_GID in $R/etc/passwd)"
  exit 0
fi

# The unit's ExecReload= is /bin/kill, which the .deb and .rpm pull in
# (procps, util-linux) and a tarball cannot: without it `systemctl reload`
# fails, and so does logrotate's reopen of the audit file.
if [ ! -x /bin/kill ] && command -v systemctl >/dev/null; then
  note "warning: /bin/kill not found: 'systemctl reload credgw' (the unit's ExecReload=, and logrotate's reopen of the audit file) will fail until it is installed (procps on Debian and Ubuntu, util-linux on RHEL)"
fi
if [ "$SYSTEMD_RUNNING" -eq 1 ]; then
  systemctl daemon-reload
  systemctl enable --quiet credgw.service
  if [ "$WAS_RUNNING" -eq 1 ]; then
    systemctl start credgw.service
    note "credgw.service restarted"
  else
    note "credgw.service enabled, not started: configure it, then run 'systemctl start credgw'"
  fi
elif command -v systemctl >/dev/null; then
  # systemd is installed but not running (a container or chroot): enabling
  # only creates the symlink, which takes effect when systemd boots.
  systemctl enable --quiet credgw.service || true
  note "systemd is not running here: credgw.service is enabled for the next boot"
else
  note "systemd not found: the unit is installed but nothing will start it."
  note "run the gateway under your supervisor as user $SERVICE_USER:"
  note "  credgw run --config-dir /etc/credgw"
  note "(credential://credgw_FILE is read from /etc/credgw/credentials/FILE there; file:// and env:// work too)"
fi
if [ "$UPGRADE" -eq 0 ]; then
  note "next: put tokens in /etc/credgw/credentials/NAME (root:credgw 0640; referenced as credential://credgw_NAME), configure with 'credgw config init' and 'credgw vault add', then start"
fi
