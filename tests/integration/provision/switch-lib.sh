# The setup of the switch tests (sourced, bash; docs/change-format.md 5):
# two `mcim-operator serve` on loopback, SHO A (also the device's DRF) and
# SHO B, each with its own PKI and SQLite database, the device (this TPM's
# EK) imported at both with the subscriber acme-meters, whose key and
# certificate are $dir/sub.key, $dir/sub.pem; mcimd configured with A's DRF
# and the bundle of both roots, [switch] proof_timeout $SWITCH_PROOF_TIMEOUT
# (default 6 s), started.  Needs $B, $dir, $MCIM_TEST_TCTI, lib.sh.
#
#   switch_setup        the above; TAP lines 1-2; $ID, $URL_A, $URL_B
#   opa / opb ARGS      mcim-operator of A / B
#   state OP ICCID      a subscription's state at OP (a or b)
#   sw JQ               a member of `mcimctl --json switch status`
#   keys OP ICCID       $K, $OPC of a subscription (its factory data)
#   res                 the RES of $RAND under $K/$OPC (osmo-auc-gen)
#   wait_state S SECS   until the switch is in state S
#   settled SECS        until nothing is owed to the operators
#   blob ICCID KIND, nvauth, q SQL: the device's store
#   switch_order FROM TO ICCID: the subscriber's consent to let ICCID at
#                       FROM (a or b) go to TO, FROM's release, the DRF's
#                       (A's) order, a new subscription at TO ($NEW),
#                       `mcimctl register`
#   switch_drf_told CUR the DRF (A) told by hand that the device is CUR's
OPBIN=$B/bin/mcim-operator
opa() { "$OPBIN" -c "$dir/a/op.conf" "$@"; }
opb() { "$OPBIN" -c "$dir/b/op.conf" "$@"; }
q() { sqlite3 $dir/store.db "$1"; }
blob() { q "SELECT lower(hex(b.data)) FROM blobs b JOIN profiles p ON p.id = b.profile_id
	   WHERE p.iccid = '$1' AND b.kind = '$2'"; }
nvauth() { q "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'"; }
state() { "$OPBIN" -c "$dir/$1/op.conf" --json subscription show "$2" | jq -r .state; }
sw() { CTL --json switch status | jq -r "$1"; }
keys() { # OP ICCID: K and OPc of the subscription at that operator
	"$OPBIN" -c "$dir/$1/op.conf" subscription factory "$2" >"$dir/f.json" &&
		K=$(jq -r .auth.k "$dir/f.json") && OPC=$(jq -r .auth.opc "$dir/f.json")
}
res() { osmo-auc-gen -3 -a milenage -k $K -o $OPC -r $RAND -s 32 2>/dev/null | sed -n 's/^RES:\t*//p'; }
wait_state() { # STATE SECONDS
	for _ in $(seq $(($2 * 10))); do [ "$(sw .state)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
settled() { # SECONDS: done or fallback and nothing owed
	for _ in $(seq $(($1 * 10))); do
		[ "$(sw '.owed.receipt or .owed.report')" = false ] && return 0
		sleep 0.1
	done
	return 1
}

switch_setup() {
	local i o ek
	mkdir -p $dir/mfr
	cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem $dir/mfr/
	tests/lib/sho-template daemon/usim/profiles/test-usim.json $dir/template.json
	tpm2_pcrread -T "$MCIM_TEST_TCTI" sha256:0,1,2,3,4,5,6,7,23 -o $dir/pcrs.bin >/dev/null
	tests/lib/model-from-pcrs $dir/pcrs.bin 1 $dir/model.json
	ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
	printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >$dir/fleet.csv
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $dir/sub.key \
		-out $dir/sub.pem -subj "/O=acme-meters/CN=sub" -days 30 2>/dev/null
	i=0
	for o in a b; do
		i=$((i + 1))
		mkdir -p $dir/$o
		cat >$dir/$o/op.conf <<EOC
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$dir/$o/op.db
[pki]
dir = $dir/$o/pki
[drf]
manufacturers = $dir/mfr
[sho]
imsi_first = 0010${i}0000000001
imsi_last = 0010${i}0000000099
iccid_prefix = 898821$i
[limits]
device_rate = 10000
EOC
		"$OPBIN" -c $dir/$o/op.conf pki init >/dev/null || { echo "Bail out! pki init $o"; exit 1; }
		"$OPBIN" -c $dir/$o/op.conf serve --port-file $dir/$o/port 2>$dir/$o/serve.log &
		pids="$pids $!"
	done
	for o in a b; do
		for _ in $(seq 100); do [ -s $dir/$o/port ] && break; sleep 0.05; done
	done
	URL_A=https://127.0.0.1:$(cat $dir/a/port) URL_B=https://127.0.0.1:$(cat $dir/b/port)
	t "two operators serve, each set up with the device, the model and the subscriber" \
		"opa sho add op-a 'Operator A' $URL_A $URL_A >/dev/null &&
		 opa sho add op-b 'Operator B' $URL_B $URL_B --root $dir/b/pki/root-ca.pem >/dev/null &&
		 opb sho add op-b 'Operator B' $URL_B $URL_B >/dev/null &&
		 opb sho add op-a 'Operator A' $URL_A $URL_A --root $dir/a/pki/root-ca.pem >/dev/null &&
		 opa device import $dir/fleet.csv --sho op-a >/dev/null && opb device import $dir/fleet.csv --sho op-b >/dev/null &&
		 opa model set $dir/model.json >/dev/null && opb model set $dir/model.json >/dev/null &&
		 opa subscriber add acme-meters --cert $dir/sub.pem >/dev/null &&
		 opb subscriber add acme-meters --cert $dir/sub.pem >/dev/null"
	ID=$(opa --json device list | jq -r '.[0].device_id')
	# Each operator numbers its own packages to the device from 1, and the
	# device keeps one sequence per operator (package-format.md 1, check 7).
	cat $dir/a/pki/root-ca.pem $dir/b/pki/root-ca.pem >$dir/roots.pem
	write_conf "$dir/mcimd.conf" 0 "[provisioning]
drf_url = $URL_A
ca = $dir/roots.pem
timeout = 10
retries = 1
[switch]
proof_timeout = ${SWITCH_PROOF_TIMEOUT:-6}"
}

op() { "$OPBIN" -c "$dir/$1/op.conf" "${@:2}"; }
other() { [ $1 = a ] && echo b || echo a; }

switch_order() {
	local from=$1 to=$2 iccid=$3
	"$OPBIN" consent sign --key $dir/sub.key --cert $dir/sub.pem --device $ID --iccid $iccid \
		--to-sho-root $dir/$to/pki/root-ca.pem --out $dir/c.der >/dev/null &&
		op $from consent add $dir/c.der >/dev/null &&
		op $from release issue --iccid $iccid --to-sho-root $dir/$to/pki/root-ca.pem --out $dir/r.der >/dev/null &&
		opa device switch $ID --to op-$to --consent $dir/c.der --release $dir/r.der >/dev/null &&
		NEW=$(op $to subscription create --sho op-$to --template $dir/template.json --subscriber acme-meters | cut -d' ' -f1) &&
		CTL register >/dev/null 2>&1 || return 1
	# A's DPF assigns subscriptions only to a device its DRF counts as
	# op-a's: set once the registration (still B's) is kept.
	[ $to = a ] && sqlite3 $dir/a/op.db "UPDATE devices SET sho = 'op-a'"
	return 0
}

# The DRF (A) hears of a switch only from a release report to itself
# (change-format.md 4): one from B's side is told here by hand.
switch_drf_told() {
	sqlite3 $dir/a/op.db "DELETE FROM switch_orders; UPDATE devices SET sho = 'op-$1'"
}
