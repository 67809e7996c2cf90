#!/usr/bin/env bash
# A tamper event outlives a reboot, for every source (issue 15, finding 4;
# docs/security.md): after `mcimctl tamper`, or an event on the evdev tamper
# input, a TPM reset (swtpm_ioctl -i and TPM2_Startup(CLEAR): what a reboot
# does to the TPM, PCRs cleared) and a restart, no card is served, nothing
# authenticates and the tamper PCR is extended again; an older copy of the
# store (before the event) and an edit of the record are refused (exit 3).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 swtpm_ioctl tpm2_startup tpm2_pcrread tpm2_nvundefine; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-tamper.XXXXXX)
mcimd_pid=
trap '[ -n "${KEEP:-}" ] && cp -r $dir $KEEP; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
db=$dir/store.db
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2

# reboot: the TPM loses its volatile state (PCRs) as at a power cycle.
reboot_tpm() {
	swtpm_ioctl --tcp "$MCIM_TEST_SWTPM_CTRL" -i >/dev/null &&
		tpm2_startup -c -T "$MCIM_TEST_SWTPM_TCTI" >/dev/null 2>&1
}
pcr23() { tpm2_pcrread -T "$MCIM_TEST_SWTPM_TCTI" sha256:23 2>/dev/null | sed -n 's/.*23 *: *0x//p'; }
zero=0000000000000000000000000000000000000000000000000000000000000000
dead() {
	[ "$(CTL --json status | jget '["card"]')" = None ] &&
		[ "$(CTL --json status | jget '["tpm"]["platform_ok"]')" = False ] &&
		! auth "$1" >/dev/null 2>&1
}
refused() {
	timeout -s KILL 15 "$MCIMD" -c $dir/mcimd.conf >$dir/start.log 2>&1
	local rc=$?
	echo "# exit $rc: $(grep -i -m1 -e refused -e error $dir/start.log)"
	[ $rc = 3 ]
}

for src in control sensor; do
	# A new store: the old one's NV counters go (owner authorization).
	rm -f $db $db-wal $db-shm
	for i in 0x01800a00 0x01800a01; do
		tpm2_nvundefine -T "$MCIM_TEST_SWTPM_TCTI" -C o $i >/dev/null 2>&1
	done
	if [ $src = sensor ]; then
		mkfifo $dir/event0
		write_conf "$dir/mcimd.conf" 0 "[tamper]
input = $dir/event0
key = 0x1f0"
	else
		write_conf "$dir/mcimd.conf" 0
	fi
	reboot_tpm
	start_mcimd $dir/mcimd.conf && CTL profile install --enable $P1 >/dev/null 2>&1
	sq=$(( $(sqlite3 $db "select max(seq_ms) from sqn") * 32 + 64 ))
	r=$(auth $sq)
	t "$src: the card authenticates before the event" "[ \"\${r:0:4}\" = db08 ]"
	stop_mcimd
	cp $db $dir/before.db
	start_mcimd $dir/mcimd.conf
	if [ $src = sensor ]; then
		exec 7>"$dir/event0"
		printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\005\000\360\001\001\0\0\0' >&7
		for _ in $(seq 100); do grep -q 'TAMPER: tamper input' "$dir/mcimd.log" && break; sleep 0.05; done
	else
		CTL tamper "test tamper" >/dev/null
	fi
	t "$src: the event removes the card" "dead $((sq + 32))"
	stop_mcimd
	[ $src = sensor ] && exec 7>&-
	reboot_tpm
	t "$src: the TPM reset cleared the tamper PCR" "[ \"\$(pcr23)\" = $zero ]"
	write_conf "$dir/mcimd.conf" 0 # the sensor gone: the record alone counts
	start_mcimd $dir/mcimd.conf
	t "$src: after the reset and a restart no card, nothing authenticates" "dead $((sq + 64))"
	t "$src: ... the log says the event is recorded" "grep -q 'TAMPER: an event is recorded in the store' $dir/mcimd.log"
	t "$src: ... and the tamper PCR is extended again" "[ \"\$(pcr23)\" != $zero ]"
	stop_mcimd
	cp $db $dir/after.db
	reboot_tpm
	cp $dir/before.db $db; rm -f $db-wal $db-shm
	t "$src: the copy from before the event is refused" refused
	cp $dir/after.db $db
	sqlite3 $db "update meta set value = 0 where key = 'tampered'"
	t "$src: the record edited away is refused" refused
	cp $dir/after.db $db
	rm -f $dir/event0
done
echo "1..$n"
