#!/usr/bin/env bash
# kill -9 of the real mcimd (on swtpm, no slots: AUTHENTICATE through the
# `apdu` control method) at random points of a workload of installs,
# deletes, profile switches and authentications; after every kill the
# daemon is restarted and checked:
#   - it starts (the store and the TPM's generation counter agree, or the
#     counter is repaired), integrity_check ok, at most one profile enabled;
#   - no half profile: every listed profile has all its files and PINs;
#   - no lost SQN step: the last SQN that was answered is now a replay
#     (sync failure), and a fresh SQN authenticates: above every one
#     tried, or, when the start raised SEQ_MS to the SQN ceiling, above
#     the SQN_MS of the AUTS (one resynchronisation, docs/store.md).
# At least MCIMD_KILLS (default 200) kills.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
# Through tpm2-abrmd, as on a device: a resource manager flushes what a
# killed daemon had loaded (a bare TPM would run out of object slots).
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
kills_min=${MCIMD_KILLS:-200}
dir=$(mktemp -d /tmp/mcimd-kill.XXXXXX)
mcimd_pid= client=
trap '[ -n "${KEEP:-}" ] && cp -r $dir $KEEP; [ -n "$client" ] && kill -9 $client 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }

P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
write_conf "$dir/mcimd.conf" 0 "[control]
lifecycle_per_hour = 0" # the workload changes profiles many times a second
echo "1..5"
start_mcimd $dir/mcimd.conf || { echo "not ok 1 - mcimd does not start"; exit 1; }
CTL profile install --enable $P1 >/dev/null || { echo "not ok 1 - install"; exit 1; }
files=$(CTL --json profile show $P1_ICCID | jget '["files"]')
pins=$(CTL --json profile show $P1_ICCID | jget '["pins"]')
echo 32 >$dir/next
: >$dir/answered

# The workload; it records what it is doing, what it sent and what was
# answered.
workload() {
	while :; do
		case $((RANDOM % 8)) in
		0 | 1 | 2 | 3)
			echo auth >$dir/op
			CTL profile enable $P1_ICCID >/dev/null 2>&1 || continue
			sqn=$(cat $dir/next)
			echo $((sqn + 32)) >$dir/next.tmp && mv $dir/next.tmp $dir/next
			r=$(auth $sqn 2>/dev/null) && [ "${r:0:20}" = db08$RES1 ] &&
				echo $sqn >>$dir/answered ;;
		4 | 5)
			echo install >$dir/op
			CTL profile install $P2 >/dev/null 2>&1 ;;
		6)
			echo delete >$dir/op
			CTL profile delete $P2_ICCID >/dev/null 2>&1 ;;
		7)
			echo switch >$dir/op
			CTL profile enable $P2_ICCID >/dev/null 2>&1
			CTL profile enable $P1_ICCID >/dev/null 2>&1 ;;
		esac
	done
}

kills=0 bad=0 starts_failed=0 lost=0 half=0 fresh_failed=0 auths=0 resyncs=0
declare -A at
t0=$SECONDS
while [ $kills -lt $kills_min ]; do
	workload &
	client=$!
	sleep "$(printf '0.%03d' $((20 + RANDOM % 480)))"
	{ kill -KILL $mcimd_pid; wait $mcimd_pid; } 2>/dev/null
	{ kill -KILL $client; wait $client; } 2>/dev/null
	client=
	kills=$((kills + 1))
	op=$(cat $dir/op 2>/dev/null); op=${op:-none}; at[$op]=$((${at[$op]:-0} + 1))
	if ! start_mcimd $dir/mcimd.conf; then
		starts_failed=$((starts_failed + 1))
		echo "# kill $kills: mcimd does not start again: $(tail -n 2 $dir/mcimd.log)"
		break
	fi
	# integrity, one enabled at most, no half profile
	[ "$(sqlite3 $dir/store.db 'pragma integrity_check')" = ok ] || { bad=$((bad + 1)); echo "# kill $kills: integrity_check"; }
	[ "$(CTL profile list | grep -c ' enabled ')" -le 1 ] || { bad=$((bad + 1)); echo "# kill $kills: two enabled"; }
	for ic in $(CTL profile list | awk 'NR > 1 { print $1 }'); do
		s=$(CTL --json profile show $ic)
		if [ "$(echo "$s" | jget '["files"]')" != "$files" ] ||
		   [ "$(echo "$s" | jget '["pins"]')" != "$pins" ]; then
			half=$((half + 1)); echo "# kill $kills: half profile $ic: $s"
		fi
	done
	CTL profile list | grep -q "^$P1_ICCID" || { half=$((half + 1)); echo "# kill $kills: $P1_ICCID lost"; }
	# SQN: the last answered one is spent, a fresh one works
	CTL profile enable $P1_ICCID >/dev/null 2>&1
	last=$(tail -n 1 $dir/answered)
	if [ -n "$last" ]; then
		r=$(auth $last)
		[ "${r:0:4}" = dc0e ] || { lost=$((lost + 1)); echo "# kill $kills: answered SQN $last accepted again: $r"; }
	fi
	auth_resync $(cat $dir/next)
	sqn=$sqn_used r=$rsp
	if [ "${r:0:20}" = db08$RES1 ]; then
		echo $sqn >>$dir/answered
	else
		fresh_failed=$((fresh_failed + 1)); echo "# kill $kills: fresh SQN $sqn refused: $r"
	fi
	echo $((sqn + 32)) >$dir/next
	[ $((bad + half + lost + fresh_failed)) -ge 5 ] && break
done
{ kill -TERM $mcimd_pid; wait $mcimd_pid; } 2>/dev/null
mcimd_pid=
auths=$(wc -l <$dir/answered)
echo "# $kills kills in $((SECONDS - t0)) s (during: auth ${at[auth]:-0}, install ${at[install]:-0}, delete ${at[delete]:-0}, switch ${at[switch]:-0}); $auths SQNs answered"
echo "# $resyncs resynchronisations (SEQ_MS raised to the ceiling at a start after a kill); store generation $(sqlite3 $dir/store.db "select value from meta where key = 'generation'")"
[ $kills -ge $kills_min ] && [ $starts_failed = 0 ] && echo "ok 1 - $kills kills, mcimd restarted every time" || echo "not ok 1 - $kills kills, $starts_failed failed restarts"
[ $bad = 0 ] && echo "ok 2 - store integrity and one enabled profile at most after every kill" || echo "not ok 2 - $bad inconsistent stores"
[ $half = 0 ] && echo "ok 3 - no half profile" || echo "not ok 3 - $half half profiles"
[ $lost = 0 ] && echo "ok 4 - no lost SQN step ($auths answered)" || echo "not ok 4 - $lost lost SQN steps"
[ $fresh_failed = 0 ] && echo "ok 5 - a fresh SQN authenticates after every restart" || echo "not ok 5 - $fresh_failed fresh SQNs refused"
