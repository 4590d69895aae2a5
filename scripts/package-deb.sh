#!/bin/bash
# Builds build/deb/credgw_<version>-1_all.deb from a built tree (npm run package:deb).
#
#   scripts/package-deb.sh [--app-dir DIR] [--out DIR] [--revision N]
#
# The package holds the same files as installer/install.sh --files-only; its
# maintainer scripts do what the installer does on the machine (user, /etc,
# /var, enable, restart-if-running). Architecture "all": the production
# dependencies are pure JavaScript (checked below: no *.node addon).
set -euo pipefail
umask 022

PROG=package-deb.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP_DIR=$SRC
OUT=$SRC/build/deb
REVISION=1
while [ $# -gt 0 ]; do
  case "$1" in
    --app-dir) APP_DIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --revision) REVISION=$2; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "$PROG: unknown option: $1" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg-dev)"
command -v node >/dev/null || die "node not found"

NAME=credgw
UPSTREAM_VERSION=$(node -p 'require(process.argv[1]).version' "$APP_DIR/package.json")
VERSION=$UPSTREAM_VERSION-$REVISION
NODE_MIN=$(node -p 'String(require(process.argv[1]).engines.node).replace(/^>=\s*/, "")' "$APP_DIR/package.json")
MAINTAINER=${DEB_MAINTAINER:-credgw developers <credgw@example.com>}
# Reproducible dates: SOURCE_DATE_EPOCH, else the last commit, else now.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG=$WORK/pkg
mkdir -p "$PKG"

# --- files --------------------------------------------------------------------
# The installer checks the Node it runs with; the packaged wrapper always runs
# Debian's /usr/bin/node (Depends: nodejs).
bash "$SRC/installer/install.sh" --root "$PKG" --app-dir "$APP_DIR" --files-only >/dev/null
sed -i "s|^exec .* /usr/lib/credgw/dist/cli/main.js|exec /usr/bin/node /usr/lib/credgw/dist/cli/main.js|" "$PKG/usr/bin/credgw"
grep -q '^exec /usr/bin/node ' "$PKG/usr/bin/credgw" || die "could not point the wrapper at /usr/bin/node"
if find "$PKG/usr/lib/credgw" -name '*.node' | grep -q .; then
  die "native addons found in node_modules: the package cannot be Architecture: all"
fi
# The vault's side of rotation notices, copied onto the PMP/PAM360 server (docs/pmp-admin.md); never run here.
install -d "$PKG/usr/share/credgw/reset-listener"
install -m 0755 "$SRC/contrib/reset-listener/credgw-notify.sh" "$PKG/usr/share/credgw/reset-listener/"
install -m 0644 "$SRC/contrib/reset-listener/credgw-notify.ps1" "$SRC/contrib/reset-listener/credgw-notify.conf.example" "$PKG/usr/share/credgw/reset-listener/"

DOC=$PKG/usr/share/doc/$NAME
mkdir -p "$DOC"
{
  cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: credgw
Comment: credgw bundles its production npm dependencies under
 /usr/lib/credgw/node_modules; each keeps its own license file there.

Files: *
Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) credgw developers
License: proprietary
 credgw is distributed under the terms agreed with its authors
 (package.json: "UNLICENSED"); it is not free software.
EOF
  # One paragraph per bundled package, from its own package.json.
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    const seen = new Set();
    const walk = (dir) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir).sort()) {
        if (e.startsWith(".")) continue;
        const p = path.join(dir, e);
        if (e.startsWith("@")) { walk(p); continue; }
        const pj = path.join(p, "package.json");
        if (fs.existsSync(pj)) {
          const m = JSON.parse(fs.readFileSync(pj, "utf8"));
          let lic = m.license || (Array.isArray(m.licenses) ? m.licenses.map((l) => l.type || l).join(" or ") : "unknown");
          if (typeof lic === "object") lic = lic.type || "unknown";
          lic = String(lic).replace(/^\((.*)\)$/, "$1").replace(/ OR /g, " or ").replace(/ AND /g, " and ");
          const author = typeof m.author === "string" ? m.author : (m.author && m.author.name) || "the " + m.name + " authors";
          console.log("\nFiles: " + path.relative(path.dirname(root), p).replace(/^.*?node_modules/, "usr/lib/credgw/node_modules") + "/*");
          console.log("Copyright: " + author.replace(/\s*<[^>]*>/, "").replace(/\s*\([^)]*\)/, ""));
          console.log("License: " + lic);
          for (const part of lic.split(/ or | and /)) seen.add(part.trim());
        }
        walk(path.join(p, "node_modules"));
      }
    };
    walk(root);
    for (const l of [...seen].sort()) {
      console.log("\nLicense: " + l + "\n The full text is in the LICENSE file of each package listed with\n this license under /usr/lib/credgw/node_modules.");
    }
  ' "$PKG/usr/lib/credgw/node_modules"
} >"$DOC/copyright"

# Built for the project's own repository, not uploaded to Debian: there is no
# ITP bug for the first changelog entry to close.
mkdir -p "$PKG/usr/share/lintian/overrides"
cat >"$PKG/usr/share/lintian/overrides/$NAME" <<EOF
# Distributed outside the Debian archive; no ITP bug exists to close.
$NAME: initial-upload-closes-no-bugs
EOF
chmod 0644 "$PKG/usr/share/lintian/overrides/$NAME"

CHANGELOG_DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat >"$WORK/changelog" <<EOF
$NAME ($VERSION) unstable; urgency=medium

  * Release $UPSTREAM_VERSION of credgw, packaged from its source tree.

 -- $MAINTAINER  $CHANGELOG_DATE
EOF
gzip -9n -c "$WORK/changelog" >"$DOC/changelog.Debian.gz"
chmod 0644 "$DOC/copyright" "$DOC/changelog.Debian.gz"

# --- control ------------------------------------------------------------------
mkdir -p "$PKG/DEBIAN"
INSTALLED_SIZE=$(du -sk --apparent-size "$PKG" --exclude=DEBIAN | cut -f1)
cat >"$PKG/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: all
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Depends: nodejs (>= $NODE_MIN), adduser
Section: admin
Priority: optional
Description: on-premise gateway between a cloud controller and PMP/PAM360
 credgw holds an outbound WebSocket to a cloud operations controller and
 answers its list-accounts and get-password commands by calling the REST API
 of ManageEngine Password Manager Pro or PAM360. Secrets never touch disk or
 logs. It runs as the hardened systemd service credgw.service, as the
 unprivileged user credgw, with tokens passed through systemd credentials.
 .
 Needs Node.js $NODE_MIN or newer (Debian 12's own nodejs is 18: use a
 nodejs package of version 20 or 22, e.g. from NodeSource).
EOF

cat >"$PKG/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = "configure" ]; then
	if ! getent group credgw >/dev/null; then
		addgroup --system --quiet credgw
	fi
	if ! getent passwd credgw >/dev/null; then
		adduser --system --quiet --ingroup credgw --home /var/lib/credgw \
			--no-create-home --shell /usr/sbin/nologin \
			--gecos "credgw gateway" credgw
	fi
	# The service reads /etc/credgw through its group; only root writes it.
	install -d -m 0750 -o root -g credgw /etc/credgw
	if [ ! -e /etc/credgw/config.json ]; then
		# Not a conffile: credgw's own commands rewrite it (keeping this
		# owner, group and mode), which dpkg's conffile prompts would fight.
		printf '{}\n' >/etc/credgw/config.json.dpkg-new
		chown root:credgw /etc/credgw/config.json.dpkg-new
		chmod 0640 /etc/credgw/config.json.dpkg-new
		mv /etc/credgw/config.json.dpkg-new /etc/credgw/config.json
	fi
	# Token files for LoadCredential= (root:credgw 0640 each): the service gets
	# private copies from PID 1; root and group credgw read them with the CLI.
	install -d -m 0750 -o root -g credgw /etc/credgw/credentials
	install -d -m 0750 -o credgw -g credgw /var/lib/credgw
	# The unit's LogsDirectory= (for a telemetry.audit file; rotated by
	# /etc/logrotate.d/credgw).
	install -d -m 0750 -o credgw -g credgw /var/log/credgw
fi

# systemd, as dh_installsystemd does it (enable on first install, restart
# after an upgrade only if the service was running).
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper unmask 'credgw.service' >/dev/null || true
		if deb-systemd-helper --quiet was-enabled 'credgw.service'; then
			deb-systemd-helper enable 'credgw.service' >/dev/null || true
		else
			deb-systemd-helper update-state 'credgw.service' >/dev/null || true
		fi
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ] && command -v deb-systemd-invoke >/dev/null 2>&1; then
			deb-systemd-invoke try-restart 'credgw.service' >/dev/null || true
		fi
	fi
fi

if [ "$1" = "configure" ] && [ -z "$2" ]; then
	echo "credgw: put tokens in /etc/credgw/credentials/NAME (root:credgw 0640; referenced as"
	echo "credgw: credential://credgw_NAME), configure with 'credgw config init' and"
	echo "credgw: 'credgw vault add', then run 'systemctl start credgw'."
fi

exit 0
EOF

cat >"$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e

# On upgrade the service keeps running; postinst restarts it if it was.
if [ -d /run/systemd/system ] && [ "$1" = "remove" ] && command -v deb-systemd-invoke >/dev/null 2>&1; then
	deb-systemd-invoke stop 'credgw.service' >/dev/null || true
fi

exit 0
EOF

cat >"$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e

if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ] && command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper mask 'credgw.service' >/dev/null || true
fi
if [ "$1" = "purge" ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper purge 'credgw.service' >/dev/null || true
		deb-systemd-helper unmask 'credgw.service' >/dev/null || true
	fi
	# Configuration, credentials, state and the audit files. The credgw user
	# stays, as Debian does for system users (files elsewhere may still carry its ids).
	rm -rf /etc/credgw /var/lib/credgw /var/log/credgw
fi

exit 0
EOF
chmod 0755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"

# Every packaged file under /etc is a conffile (an admin's edit survives upgrades).
(cd "$PKG" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) >"$PKG/DEBIAN/conffiles"
grep -qx /etc/logrotate.d/credgw "$PKG/DEBIAN/conffiles" || die "/etc/logrotate.d/credgw missing from the package"
# md5sums of the other files (dpkg keeps conffiles' sums itself, as dh_md5sums does).
(cd "$PKG" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$PKG/DEBIAN/md5sums"

chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/md5sums" "$PKG/DEBIAN/conffiles"

# Normalise modes and times for a reproducible archive.
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
DEB=$OUT/${NAME}_${VERSION}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
