#!/usr/bin/env bash
# A crash of mcimd leaves no secret behind (issue 15, finding 8;
# docs/security.md): with core dumps allowed by the shell (ulimit -c
# unlimited) and the card's OPc and PIN values in memory, SIGSEGV leaves no
# core file holding the OPc or PIN1; mcimd runs non-dumpable with a core
# limit of 0.  Needs kernel.core_pattern to be a plain file name (else the
# dump goes elsewhere and the test is skipped).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
case $(cat /proc/sys/kernel/core_pattern) in
'|'* | /*) echo "kernel.core_pattern '$(cat /proc/sys/kernel/core_pattern)' is not a file in the cwd"; exit 77 ;;
esac
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-core.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
# holds FILE HEX: the bytes HEX occur in FILE.
holds() { /usr/bin/python3 -c 'import sys; sys.exit(0 if bytes.fromhex(sys.argv[2]) in open(sys.argv[1], "rb").read() else 1)' "$1" "$2"; }
PIN1=$(grep -o '"value": *"[0-9]*"' $P1 | head -1 | grep -o '[0-9][0-9]*' | head -1)
pin_hex=$(printf '%s' "$PIN1" | od -An -tx1 | tr -d ' \n')

write_conf "$dir/mcimd.conf" 0
ulimit -c unlimited
cd "$dir"
start_mcimd "$dir/mcimd.conf" && CTL profile install --enable "$OLDPWD/$P1" >/dev/null &&
	r=$(auth 32) && [ "${r:0:4}" = db08 ] || { echo "Bail out! setup failed"; exit 1; }
t "mcimd's core file size limit is 0" "grep -q '^Max core file size  *0  *0' /proc/$mcimd_pid/limits"
kill -SEGV $mcimd_pid; wait $mcimd_pid 2>/dev/null; mcimd_pid=
sleep 0.5
core=$(ls "$dir"/core* 2>/dev/null | head -1)
echo "# core file: ${core:-none}"
t "SIGSEGV leaves no core file with the OPc" "[ -z \"$core\" ] || ! holds $core $OPC"
t "... nor with PIN1 ($PIN1)" "[ -n \"$pin_hex\" ] && { [ -z \"$core\" ] || ! holds $core ${pin_hex}ff; }"
t "... and no core file at all" "[ -z \"$core\" ]"
echo "1..$n"
