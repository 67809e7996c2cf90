# Shared by the mcimd TPM tests (sourced): a daemon on the swtpm of
# tests/lib/with-swtpm ($MCIM_TEST_TCTI), driven through mcimctl.
# Needs: B (build dir), dir (scratch directory).

# TAP: ok WHAT, nok WHAT, t WHAT CONDITION (counted in n, which the script
# sets to 0); jget PYEXPR reads a member of the JSON on stdin.
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
t() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

# The TS 35.208 test set 1 subscriber of daemon/usim/profiles/test-usim.json.
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
RAND=23553cbe9637a89d218ae64dae47bf35
RES1=a54211d5e3ba50bf          # TS 35.208 4.3 set 1: f2 of RAND (any SQN)
ADF_USIM=a0000000871002ffffffff8900000100
P1=daemon/usim/profiles/test-usim.json
P1_ICCID=89001010000000000018

# write_conf FILE SLOTS [extra lines]: a configuration on $dir.
write_conf() {
	local f=$1 slots=$2
	shift 2
	cat >"$f" <<EOC
[tpm]
tcti = $MCIM_TEST_TCTI
[store]
path = $dir/store.db
[slots]
count = $slots
[control]
socket = $dir/control
group = root
admin_group = root
[log]
level = info
$*
EOC
}

# Private copies of the programs, so that a rebuild by someone else during
# a long test does not pull them away (MCIMD may name another daemon).
private_bins() {
	mkdir -p "$dir/bin" &&
		cp "${MCIMD:-$B/bin/mcimd}" "$dir/bin/mcimd" &&
		cp "$B/bin/mcimctl" "$dir/bin/mcimctl" &&
		MCIMD=$dir/bin/mcimd MCIMCTL=$dir/bin/mcimctl
}

CTL() { "${MCIMCTL:-$B/bin/mcimctl}" -s "$dir/control" "$@"; }

# start_mcimd CONF: starts the daemon, waits for its socket; pid in $mcimd_pid.
start_mcimd() {
	rm -f "$dir/control"
	"${MCIMD:-$B/bin/mcimd}" -c "$1" >>"$dir/mcimd.log" 2>&1 &
	mcimd_pid=$!
	for _ in $(seq 300); do
		[ -S "$dir/control" ] && CTL status >/dev/null 2>&1 && return 0
		kill -0 "$mcimd_pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

stop_mcimd() {
	kill -TERM "$mcimd_pid" 2>/dev/null
	wait "$mcimd_pid" 2>/dev/null
}

# autn SQN: the AUTN of RAND for SQN (osmo-auc-gen, AMF b9b9).
autn() {
	osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -s "$1" -f b9b9 2>/dev/null |
		sed -n 's/^AUTN:\t*//p'
}

# auts_sqn_ms AUTS: SQN_MS (decimal) from the AUTS of a sync failure, as the
# network's resynchronisation reads it (TS 33.102 6.3.5).
auts_sqn_ms() {
	osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -A "$1" -f b9b9 2>/dev/null |
		sed -n 's/^SQN\.MS:\t*//p; s/.*SQN\.MS = \([0-9]*\).*/\1/p' | head -1
}

# auth_resync SQN: auth SQN; on a sync failure (a start without a clean
# stop raised SEQ_MS to the SQN ceiling, docs/store.md), once more above the
# SQN_MS of the AUTS, as the network's resynchronisation would.  Sets rsp
# (the answer) and sqn_used, and counts resyncs.
auth_resync() {
	local ms
	sqn_used=$1
	rsp=$(auth "$1")
	[ "${rsp:0:4}" = dc0e ] || return 0
	ms=$(auts_sqn_ms "${rsp:4:28}")
	resyncs=$((${resyncs:-0} + 1))
	[ -n "$ms" ] && [ "$ms" -ge "$1" ] || return 0
	sqn_used=$(( (ms / 32 + 1) * 32 ))
	rsp=$(auth $sqn_used)
}

# auth SQN: SELECT ADF.USIM, AUTHENTICATE in the 3G context (TS 31.102
# 7.1.2) with RAND and the AUTN for SQN; prints the response hex.
auth() {
	local a
	a=$(autn "$1") || return 1
	[ -n "$a" ] || return 1
	CTL apdu "00a4040c10$ADF_USIM" >/dev/null || return 1
	CTL apdu "0088008122""10$RAND""10$a""00"
}
