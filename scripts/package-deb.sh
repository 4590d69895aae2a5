#!/bin/bash
# Builds build/deb/credgw_<version>-1_<arch>.deb from the single-executable
# binary (npm run package builds it: scripts/build-binary.mjs).
#
#   scripts/package-deb.sh [--arch amd64|arm64] [--binary FILE] [--out DIR] [--revision N]
#
# The package holds the same files as installer/install.sh --binary FILE
# --files-only; its maintainer scripts do what the installer does on the
# machine (user, /etc, /var, enable, restart-if-running). No nodejs
# dependency: the binary embeds Node.js 24 LTS; it needs only glibc >= 2.28
# and libstdc++ (objdump -p lists them).
set -euo pipefail
umask 022

PROG=package-deb.sh
# shellcheck source-path=SCRIPTDIR source=lib/package-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/package-common.sh"

OUT=$SRC/build/deb
REVISION=1
package_options --revision REVISION "$@"
package_need dpkg-deb "apt-get install dpkg-dev"
[ -n "$ARCH" ] || ARCH=$(dpkg --print-architecture)
package_binary amd64 arm64

NAME=credgw
UPSTREAM_VERSION=$(package_json_version "$SRC/package.json")
VERSION=$UPSTREAM_VERSION-$REVISION
NODE_VERSION=$(package_json_version "$SRC/scripts/node-runtime.json")
MAINTAINER=${DEB_MAINTAINER:-credgw developers <credgw@example.com>}
package_source_date_epoch

package_work_dir
PKG=$WORK/pkg
mkdir -p "$PKG"

# --- files --------------------------------------------------------------------
package_install_files "$PKG"
# The vault's side of rotation notices (docs/pmp-admin.md).
package_reset_listener "$PKG/usr/share/credgw/reset-listener"

DOC=$PKG/usr/share/doc/$NAME
mkdir -p "$DOC"
{
  cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: credgw
Comment: /usr/bin/credgw is a Node.js single executable application: the
 official Node.js $NODE_VERSION build with credgw and its production npm
 dependencies bundled into it (scripts/build-binary.mjs). The CycloneDX SBOM
 beside this package lists every component.

Files: *
Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) credgw developers
License: proprietary
 credgw is distributed under the terms agreed with its authors
 (package.json: "UNLICENSED"); it is not free software.

EOF
  # The binary's paragraph: Node.js and the npm packages esbuild bundled (its metafile).
  node "$SRC/scripts/bundled-licenses.mjs" "$SRC/build/sea/meta.json"
} >"$DOC/copyright"

# Built for the project's own repository, not uploaded to Debian: there is no
# ITP bug for the first changelog entry to close.
mkdir -p "$PKG/usr/share/lintian/overrides"
cat >"$PKG/usr/share/lintian/overrides/$NAME" <<EOF
# Distributed outside the Debian archive; no ITP bug exists to close.
$NAME: initial-upload-closes-no-bugs
# The official Node.js build links zlib (a patched copy) statically; the
# binary is that build with credgw injected (a Node.js single executable).
$NAME: embedded-library zlib [usr/bin/credgw]
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
# procps: /bin/kill, the unit's ExecReload= (a minimal Debian, debootstrap
# minbase or a container image, has no procps; openssh-server depends on it
# for the same reason).
cat >"$PKG/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Depends: libc6 (>= 2.28), libgcc-s1 (>= 3.0), libstdc++6 (>= 5.2), adduser, procps
Section: admin
Priority: optional
Description: on-premise gateway between a cloud controller and PMP/PAM360
 credgw holds an outbound WebSocket to a cloud operations controller and
 answers its list-accounts and get-password commands by calling the REST API
 of ManageEngine Password Manager Pro or PAM360. Secrets never touch disk or
 logs. It runs as the hardened systemd service credgw.service, as the
 unprivileged user credgw, with tokens passed through systemd credentials.
 .
 One self-contained binary: Node.js $NODE_VERSION (LTS) is built in, no
 nodejs package is needed.
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
DEB=$OUT/${NAME}_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
