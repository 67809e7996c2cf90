# The operator side of a test on the host (sourced, bash): mcim-operator
# configured in $dir, serving on loopback, with the swtpm's local CA as the
# trusted TPM maker and the swtpm's device imported.  Used by
# tests/hlr/hlr-download.sh and tests/bench/bench-provision.sh.
#
#   op_setup            $dir/op.conf ([sho] ranges for 99 subscriptions),
#                       the trusted maker in $dir/mfr, pki init, the SHO's
#                       template $dir/template.json (the test profile
#                       without K, OPc or PIN values), the model gw-1000
#                       (autonomous; reference: the PCRs 0-7 and 23 now)
#   op_serve            mcim-operator serve; $url, $srv_pid
#   op_fleet            SHO op-a, the fleet CSV with this TPM's RSA EK
#                       certificate (subscriber acme-meters); $ID the device
#   OP ARGS             mcim-operator with $dir/op.conf
# Needs $B, $dir, $MCIM_TEST_TCTI.

OP() { "$B/bin/mcim-operator" -c "$dir/op.conf" "$@"; }

op_setup() {
	mkdir -p "$dir/mfr" &&
		cp /var/lib/swtpm-localca/issuercert.pem \
			/var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$dir/mfr/" || return 1
	cat >"$dir/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$dir/op.db
[pki]
dir = $dir/pki
[drf]
manufacturers = $dir/mfr
[sho]
imsi_first = 001010000000001
imsi_last = 001010000000099
iccid_prefix = 8988211
[limits]
device_rate = 10000
EOF
	tests/lib/sho-template daemon/usim/profiles/test-usim.json "$dir/template.json" &&
		tpm2_pcrread -T "$MCIM_TEST_TCTI" sha256:0,1,2,3,4,5,6,7,23 -o "$dir/pcrs.bin" \
			>/dev/null &&
		tests/lib/model-from-pcrs "$dir/pcrs.bin" 1 "$dir/model.json" &&
		OP pki init >/dev/null && OP model set "$dir/model.json" >/dev/null
}

op_serve() {
	rm -f "$dir/port"
	"$B/bin/mcim-operator" -c "$dir/op.conf" serve --port-file "$dir/port" 2>>"$dir/serve.log" &
	srv_pid=$!
	for _ in $(seq 250); do [ -s "$dir/port" ] && break; sleep 0.02; done
	[ -s "$dir/port" ] || return 1
	url=https://127.0.0.1:$(cat "$dir/port")
}

op_fleet() {
	local ek
	ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
	[ -n "$ek" ] || return 1
	printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >"$dir/fleet.csv"
	OP sho add op-a 'Operator A' "$url" "$url" >/dev/null &&
		OP device import "$dir/fleet.csv" --sho op-a >/dev/null &&
		ID=$(OP --json device list | jget '[0]["device_id"]')
}
