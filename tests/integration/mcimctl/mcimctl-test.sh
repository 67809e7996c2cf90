#!/usr/bin/env bash
# mcimctl against fake-mcimd (the real control server with canned
# answers): output, --json, --help, and exit codes (mcimctl(8)).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
CTL=$B/bin/mcimctl
FAKE=$B/tests/fake-mcimd
for x in "$CTL" "$FAKE"; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
dir=$(mktemp -d /tmp/mcimctl-test.XXXXXX)
chmod 755 "$dir"
sock=$dir/control
"$FAKE" "$sock" &
fake=$!
trap 'kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.05; done

n=0
# check NAME WANT-EXIT WANT-STDOUT-REGEX -- ARGS...
check() {
	local name=$1 want_rc=$2 want_out=$3
	shift 4
	n=$((n + 1))
	out=$("$CTL" -s "$sock" "$@" 2>"$dir/err")
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -Eq -- "$want_out"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (exit $rc, want $want_rc)"
		printf '%s\n' "$out" | sed 's/^/#   out: /'
		sed 's/^/#   err: /' "$dir/err"
	fi
}

check "status, human" 0 '^tpm\.mode: aes-ecb$' -- status
check "status --json" 0 '"store_generation":7' -- --json status
check "slot list table" 0 '^0 +/dev/vusim0 +present +89001010000000000018$' -- slot list
check "profile list table" 0 '^89001010000000000026 +disabled +provisioning +001010000000002 +bootstrap +mcim test$' -- profile list
check "profile show" 0 '^files: 42$' -- profile show 89001010000000000018
check "profile show unknown: exit 5" 5 '^$' -- profile show 1234
check "profile enable" 0 '^enabled 89001010000000000026$' -- profile enable 89001010000000000026
check "enable took effect" 0 '^enabled_profile: 89001010000000000026$' -- status
check "profile disable of a disabled one: exit 1" 1 '^$' -- profile disable 89001010000000000018
check "profile install (real profile file)" 0 '^installed 89001010000000000018$' -- profile install daemon/usim/profiles/test-usim.json
check "profile install --json" 0 '"imsi":"001010123456789"' -- --json profile install --enable daemon/usim/profiles/test-usim.json
check "profile install of a non-profile: exit 1" 1 '^$' -- profile install Makefile
check "profile install of a missing file: exit 2" 2 '^$' -- profile install /nonexistent.json
check "profile install of a directory: exit 2" 2 '^$' -- profile install daemon
head -c 200000 /dev/zero | tr '\0' ' ' >"$dir/big.json"
check "profile install of a file over 96 KiB: exit 2" 2 '^$' -- profile install "$dir/big.json"
check "profile delete" 0 '^deleted 89001010000000000026$' -- profile delete 89001010000000000026
check "tamper" 0 '^tamper event recorded$' -- tamper --revoke gpio
check "attest" 0 '^nonce: 0011223344556677$' -- attest 00:11:22:33:44:55:66:77
check "attest with a short nonce: exit 2" 2 '^$' -- attest 0011
check "apdu" 0 '^9000$' -- apdu 00A40004023F00
check "apdu: bad hex: exit 2" 2 '^$' -- apdu 00A4ZZ
check "trace on" 0 '^tracing to 127.0.0.1:4729$' -- trace on
check "trace on, remote refused: exit 4" 4 '^$' -- trace on 192.0.2.1:4729
check "trace off" 0 '^tracing off$' -- trace off
check "log debug" 0 '^log level debug$' -- log debug
check "log with a bad level: exit 2" 2 '^$' -- log loud
check "--version" 0 '^mcimctl [0-9]+\.[0-9]+\.[0-9]+$' -- --version
check "--help" 0 '^Exit status: 0 ok' -- --help
check "profile install --help" 0 '^Usage: mcimctl profile install' -- profile install --help
check "unknown command: exit 2" 2 '^$' -- frobnicate
check "missing operand: exit 2" 2 '^$' -- profile enable
check "no daemon: exit 3" 3 '^$' -- -s "$dir/none" status

# Admin-only methods from an unprivileged user: exit 4, read-only ones work.
n=$((n + 1))
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$sock" tamper >/dev/null 2>"$dir/err"
	rc1=$?
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$sock" profile list >/dev/null 2>&1
	rc2=$?
	if [ "$rc1" = 4 ] && [ "$rc2" = 0 ] && grep -q "admin group" "$dir/err"; then
		echo "ok $n - nobody: tamper denied (exit 4), profile list allowed"
	else
		echo "not ok $n - nobody: tamper exit $rc1, list exit $rc2"
	fi
else
	echo "ok $n # SKIP needs root and setpriv"
fi

# A daemon that never answers: exit 6 after --timeout.
n=$((n + 1))
kill -STOP "$fake"
"$CTL" -s "$sock" -t 300 status >/dev/null 2>&1
rc=$?
kill -CONT "$fake"
[ "$rc" = 6 ] && echo "ok $n - no answer in time: exit 6" || echo "not ok $n - exit $rc, want 6"
echo "1..$n"
