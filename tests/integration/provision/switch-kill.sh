#!/usr/bin/env bash
# kill -9 of mcimd at random points of a switch (docs/change-format.md 5):
# SWITCH_KILLS switches (default 10; 100 in make check-powercut), back and
# forth between SHO A and SHO B (switch-lib.sh), each killed once at a random
# moment between `mcimctl switch start` and its end, mcimd started again.
# Every other switch gets its proof (an AUTHENTICATE of the new profile with
# its operator's vector, after the restart's resynchronisation), the others
# are aborted after the restart.  Each must end in exactly one of done or
# fallback, nothing owed, with the device and both operators consistent:
# done: the new profile alone and enabled, authenticating, its subscription
# active at its operator and the old one ended; fallback: the old profile
# alone and enabled, authenticating, its subscription active, the new one
# not active.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/mcim-operator; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 tpm2_nvread tpm2_pcrread tpm2-abrmd jq openssl; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-switch-kill.XXXXXX)
mcimd_pid= pids= prover=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$prover" ] && kill $prover 2>/dev/null; for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0
. tests/integration/provision/switch-lib.sh
SWITCH_PROOF_TIMEOUT=10 switch_setup
t "mcimd starts on the TPM (tabrmd)" "start_mcimd $dir/mcimd.conf"

CUR=$(opa subscription create --sho op-a --template $dir/template.json --subscriber acme-meters | cut -d' ' -f1)
CTL provision >$dir/prov.out 2>&1
t "A's subscription $CUR installed and enabled" "CTL profile list | grep -q '^$CUR  *enabled'"
cur=a kills=${SWITCH_KILLS:-10} bad=0 done_n=0 fb_n=0 sqn=32
for i in $(seq $kills); do
	to=$(other $cur)
	switch_order $cur $to $CUR || { echo "Bail out! the order of switch $i"; exit 1; }
	prove=$((i % 2))
	# B's proof as soon as it is in trial, across the restart, with the keys
	# of the subscription B's DPF sent (after a download lost to a kill it
	# sends the one it assigned then, not $NEW).
	if [ $prove = 1 ]; then
		( got=
		  while :; do
			if [ "$(sw .state 2>/dev/null)" = trial ]; then
				x=$(sw .to 2>/dev/null)
				[ "$x" != "$got" ] && keys $to $x && got=$x
				sqn=$((sqn + 64)); auth_resync $sqn >/dev/null 2>&1
				echo "$sqn_used ${rsp:0:4} $K" >>$dir/prover.log
			fi
			sleep 0.05
		  done ) &
		prover=$!
	fi
	CTL switch start >/dev/null 2>&1
	sleep 0.$(printf '%03d' $((RANDOM % 700)))
	at=$(sw .state 2>/dev/null)
	kill -9 $mcimd_pid; wait $mcimd_pid 2>/dev/null
	start_mcimd $dir/mcimd.conf || { echo "Bail out! mcimd did not start again after kill $i"; exit 1; }
	# the start not taken yet (killed inside switch.start): again
	if [ "$(CTL --json status | jq -r '.switch_order.state // empty')" = pending ]; then
		CTL switch start >/dev/null 2>&1
	fi
	end=
	for _ in $(seq 1200); do
		s=$(sw .state)
		if [ $prove = 0 ] && [ "$s" = trial ]; then CTL switch abort >/dev/null 2>&1; fi
		if [ "$s" = done ] || [ "$s" = fallback ]; then
			[ "$(sw '.owed.receipt or .owed.report')" = false ] && { end=$s; break; }
		fi
		sleep 0.05
	done
	[ -n "$prover" ] && { kill $prover 2>/dev/null; wait $prover 2>/dev/null; prover=; }
	# consistency
	enabled=$(CTL --json profile list | jq -r '[.profiles[] | select(.state == "enabled") | .iccid] | join(" ")')
	count=$(CTL --json profile list | jq '.profiles | length')
	[ "$end" = done ] && NEW=$(sw .to)
	if [ "$end" = done ]; then
		keep=$NEW gone=$CUR kop=$to gop=$cur
	else
		keep=$CUR gone=$NEW kop=$cur gop=$to
	fi
	keys $kop $keep
	sqn=$((sqn + 64)); auth_resync $sqn; r=$rsp
	why=
	[ -n "$end" ] || why="no end (state $(sw .state), failure $(sw .failure))"
	[ -z "$why" ] && [ "$enabled" != "$keep" -o "$count" != 1 ] && why="profiles: enabled '$enabled', $count in all"
	[ -z "$why" ] && [ "${r:0:4}" != db08 ] && why="$keep does not authenticate (${r:0:4})"
	[ -z "$why" ] && [ "$(state $kop $keep)" != active ] && why="$keep is $(state $kop $keep) at $kop"
	[ -z "$why" ] && [ "$end" = done ] && [ "$(state $gop $gone)" != ended ] && why="$gone is $(state $gop $gone) at $gop"
	[ -z "$why" ] && [ "$end" = fallback ] && [ "$(state $gop $gone)" = active ] && why="$gone is active at $gop"
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		echo "# switch $i ($cur -> $to, proof $prove, killed in $at): $why; reason: $(sw .reason)"
		tail -n 3 $dir/prover.log 2>/dev/null | sed 's/^/#   prover: /'
	fi
	echo "# switch $i ($cur -> $to): killed in ${at:-?}, ended $end${end:+ }$( [ "$end" = fallback ] && sw .reason)"
	[ -n "${SWITCH_DEBUG:-}" ] && [ $prove = 1 ] && tail -n 4 $dir/prover.log 2>/dev/null | sed 's/^/#   prover: /'
	: >$dir/prover.log
	if [ "$end" = done ]; then
		done_n=$((done_n + 1)) cur=$to CUR=$NEW
	else
		fb_n=$((fb_n + 1))
	fi
	switch_drf_told $cur
done
t "$kills kills at random points of a switch: $done_n done, $fb_n fallback, each consistent on the device and at both operators ($bad not)" \
	"[ $bad = 0 ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(q 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
