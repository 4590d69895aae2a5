#!/bin/sh
# credgw-notify.sh: a Password Reset Listener for ManageEngine PMP and
# PAM360 that tells the credgw gateways a password changed, so the cloud
# learns of the rotation (credgw docs/pmp-admin.md; protocol section 12).
# POSIX sh: runs under dash, bash, busybox ash.
#
# PMP runs it after each password reset of the resource types it is
# configured for, with the arguments (legacy PMP order):
#     resource-name dns-name account-name old-password new-password
# It drops the two passwords before anything else: they are never printed,
# never given to another program (not in any argv, not in the environment),
# and never written to a file. It then POSTs resource, DNS name, account
# and the time, as JSON, over HTTPS to each gateway of the pair, and exits
# 0 when at least one gateway took the notice (HTTP 202), 1 when none did,
# 2 when the configuration or the arguments are wrong.
#
# Files beside this script (same folder):
#   credgw-notify.conf   the configuration (or the path in $CREDGW_NOTIFY_CONF)
#   credgw-notify.token  the gateways' notices token, alone on the first line;
#                        owner the user PMP runs as, mode 0600
#
# credgw-notify.conf: KEY=VALUE lines; blank lines and lines starting
# with # are skipped; no quotes, no shell expansion (the file is read, not
# sourced).
#   VAULT=pmp-prod
#       The vault profile's name on the gateways (required).
#   GATEWAY=https://gw-a.corp.local:9470 sha256//<pin>
#   GATEWAY=https://gw-b.corp.local:9470 cafile:/etc/credgw-notify/gw-b.crt
#       One line per gateway (at least one; both of the pair). After the
#       URL, how to trust the gateway: its SPKI pin as `credgw status`
#       prints it (sha256//...; checked instead of a CA), or cafile:PATH
#       (a PEM CA or the gateway's own certificate), or nothing for the
#       system's CAs.
#   TOKEN_FILE=credgw-notify.token
#       Default as shown; a relative path is taken from this script's folder.
#   TIMEOUT=5
#       Seconds allowed per gateway (connect and answer). Default 5.
#   ARGS=resource dns account old new
#       The order in which the vault passes its arguments, one name per
#       argument: resource, dns, account, old, new (the passwords: dropped),
#       mode (PAM360's pre/post mode: a pre-reset run sends nothing),
#       skip (ignored). Arguments past the list are dropped unread.
#       Default: the legacy PMP order shown.
#   CURL=curl
#       The curl to use. Default: curl from PATH.
#
# The token goes to curl on its standard input (curl --config -), never on
# its command line; so does the request body.

# Tracing would print the arguments: never.
set +x

# 1. Before anything else: move the arguments into unexported shell
# variables and clear the positional parameters. Only the names, the DNS
# name and the mode are kept once the order is known (step 3).
argc=0
for a in "$@"; do
	argc=$((argc + 1))
	eval "arg_$argc=\$a"
done
a=
set --

LC_ALL=C
export LC_ALL
nl='
'
tab='	'
cr=$(printf '\r')

fail() {
	printf 'credgw-notify: %s\n' "$1" >&2
	exit 2
}

# The token reaches curl through printf: a printf program (not a builtin)
# would have it on its command line, visible to every local user.
case $(command -V printf 2>/dev/null) in
*builtin*) ;;
*) fail "this shell has no builtin printf; run the script with dash or bash" ;;
esac

# 2. The configuration.
case $0 in
*/*) dir=${0%/*} ;;
*) dir=. ;;
esac
conf=${CREDGW_NOTIFY_CONF:-$dir/credgw-notify.conf}
vault=
gateways=
token_file=credgw-notify.token
timeout=5
args_order='resource dns account old new'
curl_cmd=curl
[ -r "$conf" ] || fail "cannot read $conf"
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%"$cr"}
	case $line in
	'' | '#'*) continue ;;
	*=*) ;;
	*) fail "$conf: not KEY=VALUE: a line without =" ;;
	esac
	key=${line%%=*}
	value=${line#*=}
	case $key in
	VAULT) vault=$value ;;
	GATEWAY) gateways=$gateways$value$nl ;;
	TOKEN_FILE) token_file=$value ;;
	TIMEOUT) timeout=$value ;;
	ARGS) args_order=$value ;;
	CURL) curl_cmd=$value ;;
	*) fail "$conf: unknown key $key" ;;
	esac
done <"$conf"
[ -n "$vault" ] || fail "$conf: VAULT is required"
[ -n "$gateways" ] || fail "$conf: at least one GATEWAY is required"
case $timeout in '' | *[!0-9]*) fail "$conf: TIMEOUT must be a number of seconds" ;; esac

# 3. Keep what the order names, then forget every argument.
set -f
resource=
dns=
account=
mode=
bad_role=
i=0
oldifs=$IFS
IFS=" ,$tab"
for role in $args_order; do
	i=$((i + 1))
	eval "v=\${arg_$i-}"
	case $role in
	resource) resource=$v ;;
	dns) dns=$v ;;
	account) account=$v ;;
	mode) mode=$v ;;
	old | new | skip) ;;
	*) bad_role=$role ;;
	esac
done
IFS=$oldifs
v=
j=1
while [ "$j" -le "$argc" ]; do
	eval "arg_$j="
	unset "arg_$j"
	j=$((j + 1))
done
[ -z "$bad_role" ] || fail "$conf: ARGS: unknown name $bad_role (resource dns account old new mode skip)"

case $mode in
[Pp][Rr][Ee]*)
	printf 'credgw-notify: pre-reset run: nothing changed yet, no notice\n' >&2
	exit 0
	;;
esac
[ -n "$resource" ] || fail "no resource name in the arguments (ARGS=$args_order)"
[ -n "$account" ] || fail "no account name in the arguments (ARGS=$args_order)"

case $token_file in
/*) ;;
*) token_file=$dir/$token_file ;;
esac
[ -r "$token_file" ] || fail "cannot read the token file $token_file"
token=
IFS= read -r token <"$token_file" || [ -n "$token" ] || fail "the token file $token_file is empty"
token=${token%"$cr"}
[ -n "$token" ] || fail "the token file $token_file is empty"

# escape MODE TEXT: sets $esc to TEXT escaped for a JSON string (MODE json)
# or for a double-quoted curl config value (MODE cfg). Builtins only.
escape() {
	s=$2
	esc=
	while [ -n "$s" ]; do
		rest=${s#?}
		c=${s%"$rest"}
		s=$rest
		case $1:$c in
		*:\\) c='\\' ;;
		*:\") c='\"' ;;
		json:"$nl") c='\n' ;;
		json:"$cr") c='\r' ;;
		json:"$tab") c='\t' ;;
		json:[[:cntrl:]]) c=$(printf '\\u%04x' "'$c") ;;
		esac
		esc=$esc$c
	done
}

rotated_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body='{"vault":"'
escape json "$vault"
body=$body$esc'","resourceName":"'
escape json "$resource"
body=$body$esc'","accountName":"'
escape json "$account"
body=$body$esc'"'
if [ -n "$dns" ]; then
	escape json "$dns"
	body=$body',"dnsName":"'$esc'"'
fi
body=$body',"rotatedAt":"'$rotated_at'"}'

escape cfg "$token"
cfg_token=$esc
escape cfg "$body"
cfg_body=$esc
token=

# 4. Each gateway in turn; the notice is taken when one answers 202.
taken=0
tried=0
IFS=$nl
for gw in $gateways; do
	IFS=$oldifs
	tried=$((tried + 1))
	# shellcheck disable=SC2086
	set -- $gw
	url=${1%/}
	trust=${2-}
	set --
	case $url in
	https://*) ;;
	*)
		printf 'credgw-notify: %s: not an https:// URL, skipped\n' "$url" >&2
		continue
		;;
	esac
	case $trust in
	sha256//*) set -- --insecure --pinnedpubkey "$trust" ;;
	cafile:*) set -- --cacert "${trust#cafile:}" ;;
	'') ;;
	*)
		printf 'credgw-notify: %s: unknown trust %s (sha256//PIN or cafile:PATH), skipped\n' "$url" "$trust" >&2
		continue
		;;
	esac
	code=$(printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "%s"\n' "$cfg_token" "$cfg_body" |
		"$curl_cmd" --config - --silent --show-error --output /dev/null --write-out '%{http_code}' \
			--proto =https --tlsv1.2 --connect-timeout "$timeout" --max-time "$timeout" \
			"$@" "$url/v1/notices/rotation")
	status=$?
	set --
	if [ "$code" = 202 ]; then
		taken=$((taken + 1))
		printf 'credgw-notify: %s: notice taken\n' "$url" >&2
	else
		printf 'credgw-notify: %s: not taken (HTTP %s, curl exit %s)\n' "$url" "${code:-000}" "$status" >&2
	fi
done
IFS=$oldifs
cfg_token=

printf 'credgw-notify: %s/%s gateways took the notice for %s / %s\n' "$taken" "$tried" "$resource" "$account" >&2
[ "$taken" -gt 0 ] || exit 1
exit 0
