#!/usr/bin/env bash
# An attacker with write access to mcimd's store (issue 15, findings 1-3;
# docs/store.md "Rollback"), against the real daemon on swtpm:
#   1. a copy restored within the current generation (no file edit) brings
#      back no SQN that was answered: every one is refused (sync failure);
#   2. SQL edits (generation patched on an old copy, SEQ_MS zeroed on the
#      live store, nv_base deleted from a restored copy, PIN counters
#      reset) are refused at start (exit 3), never silently re-anchored;
#   3. a deleted profile does not come back from an old copy, with or
#      without its generation patched.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
# Through tpm2-abrmd: it flushes what a killed daemon had loaded.
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-rollback.XXXXXX)
mcimd_pid=
trap '[ -n "${KEEP:-}" ] && cp -r $dir $KEEP; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
db=$dir/store.db
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2

kill9() { kill -9 "$mcimd_pid" 2>/dev/null; wait "$mcimd_pid" 2>/dev/null; }
save() { cp $db "$dir/$1"; }   # of a stopped daemon's store
put() { cp "$dir/$1" $db; rm -f $db-wal $db-shm; }
# refused: mcimd exits 3 at start without serving.
refused() {
	timeout -s KILL 15 "$MCIMD" -c $dir/mcimd.conf >$dir/start.log 2>&1
	local rc=$?
	echo "# exit $rc: $(grep -i -m1 -e refused -e error $dir/start.log)"
	[ $rc = 3 ]
}
# replays_refused SQN...: each answered SQN is now refused (or the daemon
# refused the whole store, which answers nothing either).
replays_refused() {
	local q r
	start_mcimd $dir/mcimd.conf || { echo "# the daemon refused the store"; return 0; }
	for q in "$@"; do
		r=$(auth $q)
		[ "${r:0:4}" = dc0e ] || { echo "# SQN $q answered again: $r"; stop_mcimd; return 1; }
	done
	stop_mcimd
}
# fresh: the card's SQN_MS from the AUTS of a stale AUTN.
fresh() {
	local r
	r=$(auth 32)
	auts_sqn_ms "${r:4:28}"
}

write_conf "$dir/mcimd.conf" 0
start_mcimd $dir/mcimd.conf && CTL profile install --enable $P1 >/dev/null &&
	r=$(auth 32) && [ "${r:0:4}" = db08 ] || { echo "Bail out! setup failed"; exit 1; }

# --- 1: a copy of the current generation, taken while the daemon runs
sqlite3 $db ".backup $dir/live.db"
used=
for q in 64 96 128 160; do
	r=$(auth $q); [ "${r:0:4}" = db08 ] && used="$used $q"
done
t "four SQNs answered after the copy was taken" "[ \"$used\" = ' 64 96 128 160' ]"
kill9
put live.db
t "restoring it (no edit) answers none of them again" "replays_refused $used"
start_mcimd $dir/mcimd.conf
sq=$(fresh)
echo "# SQN_MS after the restore: ${sq:-?}"
r=$(auth $((sq + 32)))
t "the card authenticates again above its SQN_MS (one resynchronisation)" "[ -n \"$sq\" ] && [ \"\${r:0:4}\" = db08 ]"
stop_mcimd

# A copy of a stopped daemon's store, then more SQNs and a clean stop.
save stopped.db
start_mcimd $dir/mcimd.conf
base=$((sq + 64)) used=
for i in 0 1 2; do q=$((base + 32 * i)); r=$(auth $q); [ "${r:0:4}" = db08 ] && used="$used $q"; done
stop_mcimd
save good.db
put stopped.db
t "a copy taken at a clean stop, restored after three SQNs: no replay" "replays_refused $used"
put good.db

# --- 2: SQL edits
gen=$(sqlite3 $db "select value from meta where key = 'generation'")
put stopped.db
sqlite3 $db "update meta set value = $gen where key = 'generation'"
t "an old copy with its generation patched is refused (exit 3)" refused
put good.db
sqlite3 $db "update sqn set seq_ms = 0"
t "SEQ_MS zeroed on the live store is refused (exit 3)" refused
put stopped.db
sqlite3 $db "delete from meta where key = 'nv_base'"
t "an old copy without its NV base is refused, not re-anchored (exit 3)" refused
put good.db
sqlite3 $db "update pins set tries_left = 0"
t "PIN counters edited are refused (exit 3)" refused
put good.db
t "the untouched store starts" "start_mcimd $dir/mcimd.conf"

# --- 3: a deleted profile
CTL profile install $P2 >/dev/null
stop_mcimd
save with-p2.db
start_mcimd $dir/mcimd.conf && CTL profile delete $P2_ICCID >/dev/null
stop_mcimd
gen=$(sqlite3 $db "select value from meta where key = 'generation'")
save good.db
put with-p2.db
t "the copy with the deleted profile is refused (exit 3)" refused
put with-p2.db
sqlite3 $db "update meta set value = $gen where key = 'generation'"
t "... also with its generation patched (exit 3)" refused
put good.db
start_mcimd $dir/mcimd.conf
t "the current store starts, without the deleted profile" "! CTL profile list | grep -q $P2_ICCID"
stop_mcimd
echo "1..$n"
