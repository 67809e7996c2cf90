#!/usr/bin/env bash
# Power cuts during authentications (issue 15; docs/store.md "Rollback"):
# mcimd and swtpm are killed together with SIGKILL at a random point of a
# stream of AUTHENTICATEs, swtpm restarts from its state directory as after
# a power cycle (TPM2_Startup(CLEAR): PCRs, sessions and objects gone), and
# mcimd starts again.  After every cut: the store is accepted, no answered
# SQN is accepted again (the last one and a random earlier one give a sync
# failure) and the card authenticates again after the network's
# resynchronisation from the AUTS.  MCIMD_CUTS cuts (default 50 in make
# check; make check-powercut runs 200).  The file system itself is not cut
# (the page cache survives a SIGKILL): docs/store.md "Durability" covers it.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen swtpm ss; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
cuts_min=${MCIMD_CUTS:-50}
dir=$(mktemp -d /tmp/mcimd-powercut.XXXXXX)
mkdir "$dir/tpm"
mcimd_pid= client= swtpm_pid=
trap '[ -n "$client" ] && kill -9 $client 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$swtpm_pid" ] && kill -9 $swtpm_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }

# swtpm on a fresh loopback port pair (below the ephemeral range, which the
# TCTI's own connections use), from the state directory.
swtpm_up() {
	local port _
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 12000))
		ss -Htan "( sport = :$port or sport = :$((port + 1)) )" | grep -q . && continue
		swtpm socket --tpm2 --tpmstate dir="$dir/tpm" \
			--server type=tcp,bindaddr=127.0.0.1,port=$port \
			--ctrl type=tcp,bindaddr=127.0.0.1,port=$((port + 1)) \
			--flags not-need-init,startup-clear >/dev/null 2>&1 &
		swtpm_pid=$!
		for _ in $(seq 100); do
			ss -Htln "sport = :$port" | grep -q . && break
			kill -0 $swtpm_pid 2>/dev/null || break
			sleep 0.02
		done
		kill -0 $swtpm_pid 2>/dev/null && ss -Htln "sport = :$port" | grep -q . && break
		wait $swtpm_pid 2>/dev/null; swtpm_pid=
	done
	[ -n "$swtpm_pid" ] || return 1
	MCIM_TEST_TCTI=swtpm:host=127.0.0.1,port=$port
	write_conf "$dir/mcimd.conf" 0
}

echo "1..4"
swtpm_up && start_mcimd $dir/mcimd.conf && CTL profile install --enable $P1 >/dev/null ||
	{ echo "Bail out! setup failed"; exit 1; }
echo 32 >$dir/next
: >$dir/answered
workload() {
	local sqn r
	while :; do
		sqn=$(cat $dir/next)
		echo $((sqn + 32)) >$dir/next.tmp && mv $dir/next.tmp $dir/next
		r=$(auth $sqn 2>/dev/null) && [ "${r:0:20}" = db08$RES1 ] && echo $sqn >>$dir/answered
	done
}

cuts=0 refused=0 replayed=0 fresh_failed=0 resyncs=0
t0=$SECONDS
while [ $cuts -lt $cuts_min ]; do
	workload &
	client=$!
	sleep "$(printf '0.%03d' $((50 + RANDOM % 450)))"
	kill -KILL $mcimd_pid $swtpm_pid 2>/dev/null
	kill -KILL $client 2>/dev/null
	wait $mcimd_pid $swtpm_pid $client 2>/dev/null
	client= mcimd_pid= swtpm_pid=
	cuts=$((cuts + 1))
	if ! swtpm_up || ! start_mcimd $dir/mcimd.conf; then
		refused=$((refused + 1))
		echo "# cut $cuts: no restart: $(tail -n 2 $dir/mcimd.log)"
		break
	fi
	for q in $(tail -n 1 $dir/answered) $(shuf -n 1 $dir/answered 2>/dev/null); do
		r=$(auth $q)
		[ "${r:0:4}" = dc0e ] || { replayed=$((replayed + 1)); echo "# cut $cuts: answered SQN $q accepted again: $r"; }
	done
	auth_resync $(cat $dir/next)
	sqn=$sqn_used r=$rsp
	if [ "${r:0:20}" = db08$RES1 ]; then
		echo $sqn >>$dir/answered
	else
		fresh_failed=$((fresh_failed + 1)); echo "# cut $cuts: fresh SQN $sqn refused: $r"
	fi
	echo $((sqn + 32)) >$dir/next
	[ $((refused + replayed + fresh_failed)) -ge 5 ] && break
done
stop_mcimd; mcimd_pid=
echo "# $cuts power cuts in $((SECONDS - t0)) s; $(wc -l <$dir/answered) SQNs answered; $resyncs resynchronisations"
[ $cuts -ge $cuts_min ] && [ $refused = 0 ] && echo "ok 1 - $cuts cuts of mcimd and swtpm together: the store was accepted every time" || echo "not ok 1 - $cuts cuts, $refused refused restarts"
[ $replayed = 0 ] && echo "ok 2 - no answered SQN accepted again" || echo "not ok 2 - $replayed replays accepted"
[ $fresh_failed = 0 ] && echo "ok 3 - the card authenticates after every cut (after one resynchronisation)" || echo "not ok 3 - $fresh_failed fresh SQNs refused"
[ "$(sqlite3 $dir/store.db 'pragma integrity_check')" = ok ] && echo "ok 4 - store integrity" || echo "not ok 4 - store integrity"
