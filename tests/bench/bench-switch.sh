#!/usr/bin/env bash
# `make bench` entry for the change of subscription (issue #12): mcimd on
# swtpm (host) with two mcim-operator serve on loopback, A (also the DRF) and
# B (tests/integration/provision/switch-lib.sh); SWITCH_RUNS switches back
# and forth between them, each proved by an AUTHENTICATE of the new profile
# issued as soon as `mcimctl switch status` shows trial (polled every 20 ms).
#   bench switch.device_ms   median wall time from the subscriber's consent
#                            (consent sign, consent add, release, the DRF's
#                            order, registration) to the confirmed switch
#                            (state done, receipt and release report
#                            accepted), the operators' share included
#   bench switch.tpm_cmds    TPM commands mcimd sent for one switch (switch
#                            start to done), with the breakdown in comments
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
RUNS=${SWITCH_RUNS:-6}
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
dir=$(mktemp -d /tmp/bench-switch.XXXXXX)
mcimd_pid= pids=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || exit 1
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0
. tests/integration/provision/switch-lib.sh
die() { echo "bench-switch: $*" >&2; tail -5 "$dir/mcimd.log" >&2; exit 1; }
SWITCH_PROOF_TIMEOUT=60 switch_setup >/dev/null
[ -n "${ID:-}" ] || die "operator setup"
start_mcimd "$dir/mcimd.conf" || die "mcimd does not start"
CUR=$(opa subscription create --sho op-a --template $dir/template.json --subscriber acme-meters | cut -d' ' -f1)
CTL provision >$dir/prov.out 2>&1 || die "provision"
tpm() { CTL --json status | jq .tpm; }
cur=a sqn=32
: >$dir/ms
: >$dir/dev
for i in $(seq $RUNS); do
	to=$(other $cur)
	t0=$(date +%s%N)
	switch_order $cur $to $CUR || die "the order of switch $i"
	keys $to $NEW
	tpm >$dir/before
	t1=$(date +%s%N)
	CTL switch start >/dev/null || die "switch start $i"
	for _ in $(seq 1500); do [ "$(sw .state)" = trial ] && break; sleep 0.02; done
	sqn=$((sqn + 64)); r=$(auth $sqn)
	[ "${r:0:4}" = db08 ] || die "switch $i: the proof was answered ${r:0:4}"
	for _ in $(seq 1500); do
		[ "$(sw .state)" = done ] && [ "$(sw '.owed.receipt or .owed.report')" = false ] && break
		sleep 0.02
	done
	[ "$(sw .state)" = done ] || die "switch $i did not end in done"
	t2=$(date +%s%N)
	tpm >$dir/after
	echo $(((t2 - t0) / 1000)) >>$dir/ms
	echo $(((t2 - t1) / 1000)) >>$dir/dev
	switch_drf_told $to
	cur=$to CUR=$NEW
done
python3 - "$dir" "$RUNS" <<'PY'
import json, statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
us = sorted(int(x) for x in open(f"{d}/ms"))
dev = sorted(int(x) for x in open(f"{d}/dev"))
b = json.load(open(f"{d}/before"))
a = json.load(open(f"{d}/after"))
print("bench switch.device_ms %.1f ms" % (statistics.median(us) / 1000))
print("# %d switches A<->B, min %.1f ms, max %.1f ms (swtpm and both operators on loopback; "
      "the polling for trial and done is 20 ms)" % (runs, us[0] / 1000, us[-1] / 1000))
print("# of which mcimctl switch start to done: median %.1f ms" % (statistics.median(dev) / 1000))
print("bench switch.tpm_cmds %d commands" % (a["commands"] - b["commands"]))
by = {k: v - b["by_command"].get(k, 0) for k, v in a["by_command"].items()}
print("# by command (the last switch): " + ", ".join("%s %d" % kv for kv in
      sorted(((k, v) for k, v in by.items() if v), key=lambda kv: -kv[1])))
print("# that switch: %.1f ms waiting for the TPM" % ((a["time_us"] - b["time_us"]) / 1000))
PY
