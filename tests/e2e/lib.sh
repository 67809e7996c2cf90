# tests/e2e/lib.sh: shell helpers for the guest scripts that run mcimd in
# the test VM (tests/e2e/guest-e2e, tests/demo/guest, tests/bench/
# bench-mcimd-guest).  Sourced, POSIX sh, from the project's top directory.
#
#   mcim_init DIR [TRACE]   work directory DIR (config, store, socket, logs);
#                           TRACE yes|no: GSMTAP tracing from the start
#   mcimd_start / mcimd_stop  the daemon in the background (MCIMD_PID);
#                           mcimd_stop returns the daemon's exit status
#   ctl ARGS...             mcimctl on our socket
#   ctl_unsupported FILE    true when FILE (mcimctl --json output) is the
#                           error "unsupported" (a method mcimd lacks)
#   vector SQN [RAND]       an osmo-auc-gen vector for E2E_K/E2E_OPC:
#                           V_RAND V_AUTN V_RES V_CK V_IK V_KC
#   kv KEY FILE             the value of the "KEY=value" line in FILE
#   wait_card inserted|removed [MS]   vusim-modem wait on $E2E_DEV
#   wait_dev [S]            until $E2E_DEV exists
BUILD=${BUILD:-build}
PATH=$PWD/$BUILD/bin:$PWD/$BUILD/tests:$PATH
export PATH

# The default test profile: TS 35.208 test set 1 (public test keys).
E2E_PROFILE=daemon/usim/profiles/test-usim.json
E2E_K=465b5ce8b199b49faa5f0a2ee238a6bc
E2E_OPC=cd63cb71954a9f4e48a5994e37a02baf
E2E_ICCID=89001010000000000018
E2E_IMSI=001010123456789
E2E_DEV=/dev/vusim0

mcim_init() {
	E2E_DIR=$1
	mkdir -p "$E2E_DIR" || return 1
	E2E_SOCK=$E2E_DIR/control
	cat >"$E2E_DIR/mcimd.conf" <<EOF
# mcimd.conf(5) of a test run: TPM through the kernel's resource manager,
# store and control socket in $E2E_DIR.
[tpm]
tcti = device:/dev/tpmrm0

[store]
path = $E2E_DIR/store.db

[slots]
count = 1

[trace]
enabled = ${2:-no}
target = 127.0.0.1:4729

[control]
socket = $E2E_SOCK
group = root
admin_group = root

[log]
level = info
EOF
}

ctl() { mcimctl -s "$E2E_SOCK" "$@"; }

ctl_unsupported() { grep -q '"name": *"unsupported"' "$1"; }

# mcimd_start: starts the daemon, its log appended to $E2E_DIR/mcimd.log;
# waits up to 20 s for the control socket to answer.
mcimd_start() {
	mcimd -c "$E2E_DIR/mcimd.conf" >>"$E2E_DIR/mcimd.log" 2>&1 &
	MCIMD_PID=$!
	i=0
	while [ $i -lt 200 ]; do
		kill -0 "$MCIMD_PID" 2>/dev/null || { MCIMD_PID=; return 1; }
		ctl status >/dev/null 2>&1 && return 0
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

mcimd_stop() {
	[ -n "${MCIMD_PID:-}" ] || return 0
	kill -TERM "$MCIMD_PID" 2>/dev/null
	wait "$MCIMD_PID"
	rc=$?
	MCIMD_PID=
	return $rc
}

rand_hex() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# vector SQN [RAND]: TS 33.102 6.3.2 vector from osmo-auc-gen (libosmocore),
# an implementation independent of mcim's.
vector() {
	V_RAND=${2:-$(rand_hex)}
	osmo-auc-gen -3 -a MILENAGE -k "$E2E_K" -o "$E2E_OPC" -s "$1" \
		-r "$V_RAND" >"$E2E_DIR/auc.out" 2>&1 || return 1
	V_AUTN=$(sed -n 's/^AUTN:[[:space:]]*//p' "$E2E_DIR/auc.out")
	V_RES=$(sed -n 's/^RES:[[:space:]]*//p' "$E2E_DIR/auc.out")
	V_CK=$(sed -n 's/^CK:[[:space:]]*//p' "$E2E_DIR/auc.out")
	V_IK=$(sed -n 's/^IK:[[:space:]]*//p' "$E2E_DIR/auc.out")
	V_KC=$(sed -n 's/^Kc:[[:space:]]*//p' "$E2E_DIR/auc.out")
	[ -n "$V_AUTN" ] && [ -n "$V_RES" ]
}

kv() { sed -n "s/^$1=//p" "$2" | head -n 1; }

wait_card() {
	vusim-modem -d "$E2E_DEV" wait --for "$1" --timeout "${2:-10000}"
}

wait_dev() {
	i=0
	while [ ! -c "$E2E_DEV" ]; do
		i=$((i + 1))
		[ $i -le $((${1:-10} * 10)) ] || return 1
		sleep 0.1
	done
}
