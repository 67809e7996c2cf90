#!/usr/bin/env bash
# The provisioning profile (docs/store.md "Provisioning", docs/package-format.md
# 5): `mcimctl factory-install --expires`, enabled by mcimd while no
# operational profile exists, refused once an operational profile worked,
# deleted after its expiry (at start and every minute), enabled again when the
# last operational profile goes.  swtpm, no slots (the card answers `apdu`).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-factory.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0

# The operational profile: test-usim.json with another ICCID and IMSI; a
# second provisioning profile with a third.
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
P3=$dir/p3.json P3_ICCID=89001010000000000027
sed -e 's/"98000101000000000081"/"98000101000000000072"/' \
    -e 's/"080910101032547698"/"080910101032547697"/' $P1 >$P3
state() { CTL --json profile list | jget "$(printf '["profiles"]')" |
	python3 -c "import ast,sys; print(' '.join(p['iccid']+':'+p['class']+':'+p['state'] for p in ast.literal_eval(sys.stdin.read())))"; }

write_conf "$dir/mcimd.conf" 0
t "mcimd starts on the TPM" "start_mcimd $dir/mcimd.conf"
CTL factory-install $P1 >/dev/null 2>&1; rc=$?
t "factory-install without --expires is a usage error (exit $rc)" "[ $rc = 2 ]"
CTL factory-install --expires 1000 $P1 >$dir/out 2>&1; rc=$?
t "an expiry in the past is refused (exit $rc)" "[ $rc = 1 ] && grep -q 'in the future' $dir/out"
CTL factory-install --expires nonsense $P1 >/dev/null 2>&1; rc=$?
t "an expiry that is not a time is a usage error (exit $rc)" "[ $rc = 2 ]"
exp=$(( $(date +%s) + 86400 ))
t "factory-install --expires (Unix time): installed and enabled, no operational profile" \
	"CTL factory-install --expires $exp --nickname bootstrap $P1 | grep -q 'installed $P1_ICCID (enabled)'"
t "listed as provisioning, enabled, with its expiry" \
	"[ \"\$(state)\" = '$P1_ICCID:provisioning:enabled' ] && [ \"\$(CTL --json profile show $P1_ICCID | jget '[\"expires\"]')\" = $exp ]"
r=$(auth 32)
t "the provisioning profile's card authenticates (RES $RES1)" "[ \"\${r:0:20}\" = db08$RES1 ]"
CTL profile install --class operational --expires +1d $P2 >/dev/null 2>&1; rc=$?
t "--expires on an operational profile is refused (exit $rc)" "[ $rc = 1 ]"

t "an operational profile installed and enabled" "CTL profile install --enable $P2 >/dev/null"
t "the provisioning profile is disabled by the switch" \
	"[ \"\$(state)\" = '$P1_ICCID:provisioning:disabled $P2_ICCID:operational:enabled' ]"
t "before the operational profile worked, the provisioning one can be enabled again" \
	"CTL profile enable $P1_ICCID >/dev/null && CTL profile enable $P2_ICCID >/dev/null"
r=$(auth 64)
t "the operational profile works (AUTHENTICATE)" "[ \"\${r:0:20}\" = db08$RES1 ]"
CTL profile enable $P1_ICCID >$dir/out 2>&1; rc=$?
t "then enabling the provisioning profile is refused (exit $rc)" \
	"[ $rc = 4 ] && grep -q 'operational profile has worked' $dir/out"
t "still the operational profile enabled" \
	"[ \"\$(state)\" = '$P1_ICCID:provisioning:disabled $P2_ICCID:operational:enabled' ]"
CTL factory-install --expires +3s $P3 >/dev/null 2>&1; rc=$?
t "a second provisioning profile, expiring in 3 s, is installed (exit $rc) but not enabled" \
	"[ $rc = 0 ] && CTL profile list | grep -q '^$P3_ICCID  *installed'"
sleep 4
stop_mcimd
t "mcimd restarts" "start_mcimd $dir/mcimd.conf"
t "the expired provisioning profile was deleted at start" \
	"[ \"\$(state)\" = '$P1_ICCID:provisioning:disabled $P2_ICCID:operational:enabled' ]"
t "audited (provisioning-expired)" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT count(*) FROM audit WHERE event = 'provisioning-expired' AND iccid = '$P3_ICCID'\")\" = 1 ]"
t "deleting the last operational profile" "CTL profile delete $P2_ICCID >/dev/null"
t "brings the provisioning profile back, enabled" \
	"[ \"\$(state)\" = '$P1_ICCID:provisioning:enabled' ]"
r=$(auth 96)
t "and its card authenticates" "[ \"\${r:0:20}\" = db08$RES1 ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(sqlite3 $dir/store.db 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
