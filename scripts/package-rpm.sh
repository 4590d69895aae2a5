#!/bin/bash
# Builds build/rpm/credgw-<version>-1.<arch>.rpm (RHEL/Rocky/Alma 9) from the
# single-executable binary (npm run package builds it: scripts/build-binary.mjs).
#
#   scripts/package-rpm.sh [--arch x86_64|aarch64] [--binary FILE] [--out DIR] [--release N]
#
# Same files as the .deb (scripts/package-deb.sh), with the unit and the
# generator under /usr/lib/systemd (RHEL's paths); its scriptlets do what the
# .deb's maintainer scripts do (user, /etc, /var, enable on first install,
# restart after an upgrade if running). No nodejs dependency: rpm's own ELF
# scan adds glibc and libstdc++. rpmbuild from Debian's rpm package works.
set -euo pipefail
umask 022

PROG=package-rpm.sh
# shellcheck source-path=SCRIPTDIR source=lib/package-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/package-common.sh"

OUT=$SRC/build/rpm
RELEASE=1
package_options --release RELEASE "$@"
package_need rpmbuild "apt-get install rpm"
[ -n "$ARCH" ] || ARCH=$(uname -m)
package_binary x86_64 aarch64

NAME=credgw
VERSION=$(package_json_version "$SRC/package.json")
NODE_VERSION=$(package_json_version "$SRC/scripts/node-runtime.json")
PACKAGER=${RPM_PACKAGER:-credgw developers <credgw@example.com>}
package_source_date_epoch

package_work_dir
STAGE=$WORK/stage
mkdir -p "$STAGE"

# --- files: the installer's, systemd's part moved to /usr/lib (RHEL 9's /lib is a link to it) ---
package_install_files "$STAGE"
mkdir -p "$STAGE/usr/lib"
mv "$STAGE/lib/systemd" "$STAGE/usr/lib/systemd"
rmdir "$STAGE/lib"
# The vault host's reset-listener scripts, as the .deb ships them (docs/pmp-admin.md).
package_reset_listener "$STAGE/usr/share/credgw/reset-listener"
# The .deb's copyright file, as the package's license file: credgw, Node.js
# and the npm packages bundled into the binary.
LIC=$STAGE/usr/share/licenses/$NAME
mkdir -p "$LIC"
{
  cat <<EOF
/usr/bin/credgw is a Node.js single executable application: the official
Node.js $NODE_VERSION build with credgw and its production npm dependencies
bundled into it (scripts/build-binary.mjs). The CycloneDX SBOM beside this
package lists every component.

credgw: Copyright $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) credgw developers. Proprietary
(package.json: "UNLICENSED"), distributed under the terms agreed with its authors.

EOF
  node "$SRC/scripts/bundled-licenses.mjs" "$SRC/build/sea/meta.json"
} >"$LIC/COPYRIGHT"
chmod 0644 "$LIC/COPYRIGHT"
# Every file and directory the package owns, listed in the spec from the stage.
[ -z "$(find "$STAGE" -type l)" ] || die "symbolic links in the staging root"
for f in $(cd "$STAGE" && find . -type f | sed 's|^\.||' | LC_ALL=C sort); do
  case "$f" in
    /etc/*) echo "%config(noreplace) $f" ;;
    /usr/share/licenses/*) echo "%license $f" ;;
    /usr/share/man/*) echo "%doc $f" ;;
    *) echo "$f" ;;
  esac
done >"$WORK/files"
# Directories that are the package's own (not the system's), and the
# service's (rpm -V checks their owner and mode; an erase keeps them while
# they hold config, tokens, state or audit files, as dpkg -r does).
printf '%%dir %s\n' /usr/share/doc/$NAME /usr/share/doc/$NAME/examples /usr/share/licenses/$NAME /usr/share/$NAME /usr/share/$NAME/reset-listener >>"$WORK/files"
printf '%%dir %%attr(0750,%s) %s\n' root,credgw /etc/credgw root,credgw /etc/credgw/credentials \
  credgw,credgw /var/lib/credgw credgw,credgw /var/log/credgw >>"$WORK/files"
mkdir -p "$STAGE/etc/credgw/credentials" "$STAGE/var/lib/credgw" "$STAGE/var/log/credgw"

CHANGELOG_DATE=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')
cat >"$WORK/$NAME.spec" <<EOF
Name: $NAME
Version: $VERSION
Release: $RELEASE
Summary: On-premise gateway between a cloud controller and PMP/PAM360
License: LicenseRef-credgw-proprietary
Group: System Environment/Daemons
URL: https://example.com/credgw
Packager: $PACKAGER
Vendor: credgw developers
# The user, the directories and the unit's state, in the scriptlets below.
Requires(pre): shadow-utils
Requires(post): systemd
Requires(preun): systemd
Requires(postun): systemd
Requires: logrotate
# The unit's ExecReload= runs /bin/kill (/usr/bin/kill on RHEL).
Requires: /usr/bin/kill
# A prebuilt binary: no debuginfo, and rpm's post-install scripts must not
# strip it (that would drop the injected application).
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
credgw holds an outbound WebSocket to a cloud operations controller and
answers its list-accounts and get-password commands by calling the REST API
of ManageEngine Password Manager Pro or PAM360. Secrets never touch disk or
logs. It runs as the hardened systemd service credgw.service, as the
unprivileged user credgw, with tokens passed through systemd credentials.

One self-contained binary: Node.js $NODE_VERSION (LTS) is built in, no
nodejs package is needed.

%install
cp -a $STAGE/. %{buildroot}/

%pre
getent group credgw >/dev/null || groupadd -r credgw
getent passwd credgw >/dev/null || useradd -r -g credgw -d /var/lib/credgw -M -s /sbin/nologin -c "credgw gateway" credgw
exit 0

%post
# As the .deb's postinst (the directories are the package's, with their modes).
if [ ! -e /etc/credgw/config.json ]; then
	# Not a %config file: credgw's own commands rewrite it (keeping this
	# owner, group and mode).
	printf '{}\n' >/etc/credgw/config.json.rpm-new
	chown root:credgw /etc/credgw/config.json.rpm-new
	chmod 0640 /etc/credgw/config.json.rpm-new
	mv /etc/credgw/config.json.rpm-new /etc/credgw/config.json
fi
if [ \$1 -eq 1 ]; then
	# Enabled on first install, as the .deb does; an upgrade keeps the admin's choice.
	systemctl --no-reload enable credgw.service >/dev/null 2>&1 || :
	echo "credgw: put tokens in /etc/credgw/credentials/NAME (root:credgw 0640; referenced as"
	echo "credgw: credential://credgw_NAME), configure with 'credgw config init' and"
	echo "credgw: 'credgw vault add', then run 'systemctl start credgw'."
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	# After an upgrade, restart only if it was running (the new binary is in place).
	if [ \$1 -ge 2 ]; then
		systemctl try-restart credgw.service >/dev/null 2>&1 || :
	fi
fi
exit 0

%preun
# Erase (not upgrade): stop and disable; an upgrade keeps it running.
if [ \$1 -eq 0 ]; then
	systemctl --no-reload disable --now credgw.service >/dev/null 2>&1 || :
fi
exit 0

%postun
if [ \$1 -eq 0 ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0

%files
%defattr(-,root,root,-)
$(cat "$WORK/files")

%changelog
* $CHANGELOG_DATE $PACKAGER - $VERSION-$RELEASE
- Release $VERSION of credgw, packaged from its source tree.
EOF

# Reproducible: build time and file times from SOURCE_DATE_EPOCH, a fixed
# build host, single-threaded zstd (level 9: xz takes minutes on this binary;
# RHEL 9's own packages are zstd).
mkdir -p "$OUT"
rpmbuild -bb "$WORK/$NAME.spec" --target "$ARCH-linux" --nodeps --quiet \
  --define "_topdir $WORK/top" \
  --define "_rpmdir $WORK/rpms" \
  --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "_buildhost reproducible" \
  --define "use_source_date_epoch_as_buildtime 1" \
  --define "clamp_mtime_to_source_date_epoch 1" \
  --define "source_date_epoch_from_changelog 0" \
  --define "_binary_payload w9.zstdio" \
  --define "_binary_filedigest_algorithm 8" \
  --define "_host_vendor redhat" \
  --define "optflags -O2" >"$WORK/rpmbuild.log" 2>&1 || { cat "$WORK/rpmbuild.log" >&2; die "rpmbuild failed"; }
RPM=$OUT/$NAME-$VERSION-$RELEASE.$ARCH.rpm
mv "$WORK/rpms/$NAME-$VERSION-$RELEASE.$ARCH.rpm" "$RPM"
echo "$RPM"
