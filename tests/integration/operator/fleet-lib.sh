# Sourced by fleet.sh and tests/bench/bench-fleet.sh: the fleet on loopback.
# Needs $MCIM_TEST_PG_URL (tests/lib/with-postgres), OPBIN, DEV, DEVICES.
#   fleet_setup          the work directory $W, the operator's configuration
#                        and PKI, the database, $DEVICES swtpm devices
#                        (TCTI[i]) imported with `device import`, a model;
#                        $URL is HAProxy's address (the SHO's PVA URL)
#   start_instance NAME  `serve` in the background: PID_NAME, $W/port-NAME,
#                        $W/mport-NAME (metrics)
#   start_haproxy PORT.. HAProxy in front of the instances on those ports
#   flow I K             device I's complete flow K (validation, package,
#                        receipt; the first claims from the pool of $DEVICES
#                        subscriptions fleet_setup made), retried on a 5xx or
#                        a lost connection; appends to $W/accepted,
#                        validated, retried, failed and the flow's
#                        microseconds to $W/flow-times
# pids[] are stopped at exit.
pids=()
fleet_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
W=$(mktemp -d "${TMPDIR:-/tmp}/mcim-fleet.XXXXXX") || exit 1
trap fleet_cleanup EXIT
: >"$W/ports"
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q . && ! grep -qx "$1" "$W/ports"; }
free_port() { # two consecutive free ports, never handed out before
	local p
	for _ in $(seq 50); do
		# below the ephemeral range (32768-): no client socket takes it meanwhile
		p=$((10000 + RANDOM % 22000))
		if port_free "$p" && port_free $((p + 1)); then
			printf '%s\n%s\n' $p $((p + 1)) >>"$W/ports"
			echo "$p"
			return 0
		fi
	done
	return 1
}
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
sql() { psql -X -qAt "$DB" -c "$1"; }
op() { "$OPBIN" -c "$W/op.conf" "$@"; }
declare -a TCTI

start_swtpm() { # DEVICE: on a free port pair, again on another if it was taken meanwhile
	local i=$1 p pid
	for _ in $(seq 10); do
		p=$(free_port) || return 1
		swtpm socket --tpm2 --tpmstate dir="$W/tpm/$i" \
			--server type=tcp,bindaddr=127.0.0.1,port="$p" \
			--ctrl type=tcp,bindaddr=127.0.0.1,port=$((p + 1)) \
			--flags not-need-init,startup-clear --log file="$W/tpm/swtpm-$i.log" &
		pid=$!
		for _ in $(seq 100); do
			ss -Htln "sport = :$p" 2>/dev/null | grep -q . && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.02
		done
		if kill -0 $pid 2>/dev/null && ss -Htln "sport = :$p" | grep -q .; then
			pids+=($pid)
			TCTI[$i]="swtpm:host=127.0.0.1,port=$p"
			return 0
		fi
		wait $pid 2>/dev/null
	done
	return 1
}

fleet_setup() {
	psql -X -q "$MCIM_TEST_PG_URL/postgres" -c 'CREATE DATABASE fleet' ||
		{ echo "Bail out! createdb"; exit 1; }
	DB=$MCIM_TEST_PG_URL/fleet
	mkdir -p "$W/mfr" "$W/tpm"
	cat >"$W/op.conf" <<-CONF
		[server]
		listen = 127.0.0.1:0
		workers = ${FLEET_WORKERS:-4}
		[store]
		url = $DB
		pool = ${FLEET_WORKERS:-4}
		[metrics]
		listen = 127.0.0.1:0
		[pki]
		dir = $W/pki
		[drf]
		manufacturers = $W/mfr
		[limits]
		device_rate = 100000
		address_rate = 10000000
		[sho]
		imsi_first = 001010000000001
		imsi_last = 001010000099999
		iccid_prefix = 8988211
	CONF
	op pki init >/dev/null || { echo "Bail out! pki init"; exit 1; }
	# The devices: one swtpm each, with EK certificates from swtpm's local CA.
	for i in $(seq "$DEVICES"); do
		mkdir -p "$W/tpm/$i"
		swtpm_setup --tpm2 --tpmstate "$W/tpm/$i" --create-ek-cert --overwrite \
			>"$W/tpm/setup-$i.log" 2>&1 ||
			{ echo "Bail out! swtpm_setup"; cat "$W/tpm/setup-$i.log"; exit 1; }
	done
	cp /var/lib/swtpm-localca/issuercert.pem \
		/var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/"
	for i in $(seq "$DEVICES"); do
		start_swtpm "$i" || { echo "Bail out! swtpm $i did not start"; exit 1; }
	done
	for i in $(seq "$DEVICES"); do
		for _ in $(seq 200); do
			tpm2_nvread -T "${TCTI[$i]}" 0x01c00002 2>/dev/null | base64 -w0 >"$W/ek-$i.b64"
			[ -s "$W/ek-$i.b64" ] && break
			sleep 0.05
		done
		[ -s "$W/ek-$i.b64" ] || { echo "Bail out! device $i: no EK certificate"; exit 1; }
	done
	{
		echo "ek_cert,model,subscriber"
		for i in $(seq "$DEVICES"); do echo "$(cat "$W/ek-$i.b64"),meter,acme"; done
	} >"$W/fleet.csv"
	HP=$(free_port)
	URL=https://127.0.0.1:$HP
	op sho add op-a "Operator A" "$URL" "$URL" >/dev/null || { echo "Bail out! sho add"; exit 1; }
	FLEET_IMPORT=$(op device import "$W/fleet.csv" --sho op-a 2>&1)
	[ "$(sql 'SELECT COUNT(*) FROM devices')" = "$DEVICES" ] ||
		{ echo "Bail out! device import: $FLEET_IMPORT"; exit 1; }
	python3 -c 'import json; print(json.dumps({"model": "meter", "version": 1, "mode": "remote",
		"pcrs": [23], "reference": {"23": "00" * 32}}))' >"$W/model.json"
	op model set "$W/model.json" >/dev/null || { echo "Bail out! model set"; exit 1; }
	# The subscriber's pool: one subscription per device, the test profile
	# without its secrets as the template.
	tests/lib/sho-template daemon/usim/profiles/test-usim.json "$W/template.json"
	op subscription create --sho op-a --template "$W/template.json" --subscriber acme \
		--count "$DEVICES" >/dev/null || { echo "Bail out! subscription create"; exit 1; }
	: >"$W/accepted"; : >"$W/validated"; : >"$W/retried"; : >"$W/failed"; : >"$W/flow-times"
}

start_instance() { # NAME
	rm -f "$W/port-$1" "$W/mport-$1"
	"$OPBIN" -c "$W/op.conf" serve --port-file "$W/port-$1" --metrics-port-file "$W/mport-$1" \
		2>>"$W/serve-$1.log" &
	eval "PID_$1=$!"
	pids+=($!)
	wait_file "$W/port-$1" && wait_file "$W/mport-$1"
}

# HAProxy: TLS with the operator's server certificate, TLS again to the
# instances (verified against the operator's root), round robin per request,
# /readyz as the health check; docs/operator.md has the same as an example.
start_haproxy() { # PORT...
	local p i=0
	cat "$W/pki/server.pem" "$W/pki/server.key" >"$W/haproxy.pem"
	{
		cat <<-CFG
			global
			    maxconn 500
			    nbthread 1
			defaults
			    mode http
			    timeout connect 2s
			    timeout client 30s
			    timeout server 30s
			    retries 3
			    option redispatch 1
			    retry-on conn-failure empty-response response-timeout
			frontend fe
			    bind 127.0.0.1:$HP ssl crt $W/haproxy.pem
			    default_backend operators
			backend operators
			    balance roundrobin
			    option forwardfor
			    option httpchk GET /readyz
			    http-check expect status 200
			    default-server ssl verify required ca-file $W/pki/root-ca.pem check inter 200ms fall 2 rise 2
		CFG
		for p in "$@"; do
			i=$((i + 1))
			echo "    server s$i 127.0.0.1:$p"
		done
	} >"$W/haproxy.cfg"
	haproxy -c -q -f "$W/haproxy.cfg" || { echo "Bail out! haproxy config"; exit 1; }
	haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
	PID_haproxy=$!
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf --cacert "$W/pki/root-ca.pem" "$URL/healthz" >/dev/null && return 0
		sleep 0.05
	done
	return 1
}

opdev() { # DEVICE COMMAND [OPTION...]: op-device on device i's TPM, through HAProxy
	local i=$1
	shift
	"$DEV" --tcti "${TCTI[$i]}" --ca "$W/pki/root-ca.pem" --url "$URL" "$@"
}

# Device i's flow k until it is accepted: a validation (a fresh ticket), the
# package (the first flow of a device claims a subscription from the pool,
# the later ones re-issue the device's own), the receipt.  A 5xx or a lost
# connection (exit 2 or 3) in the validation or the download starts the
# flow again from the validation: a ticket or a package whose answer was
# lost stays unused or unconfirmed.  In the receipt, the receipt alone again:
# one whose answer was lost is then 409 receipt_used, which completes the
# flow.  A 403 (exit 1) is a failure.  Appends "i k" to $W/accepted, the
# flow's microseconds to $W/flow-times, "i k" to $W/validated for each
# validation accepted, "i k try step rc" to $W/retried for each attempt
# started again, and "i k step rc answer" to $W/failed.
flow() { # DEVICE FLOW
	local i=$1 k=$2 S=$W/state-$1 rc try t0 step
	mkdir -p "$S"
	t0=$(date +%s%N)
	for try in $(seq 20); do
		opdev "$i" validate --state "$S" >"$W/out-$i" 2>&1
		rc=$? step=validate
		if [ $rc = 0 ]; then
			echo "$i $k" >>"$W/validated"
			opdev "$i" download --state "$S" >"$W/out-$i" 2>&1
			rc=$? step=download
		fi
		[ $rc = 0 ] || [ $rc = 1 ] && break
		echo "$i $k $try $step $rc" >>"$W/retried"
		sleep 0.2
	done
	if [ $rc = 0 ]; then
		step=receipt
		for try in $(seq 20); do
			# the receipt quotes the key PCRs the package approved (the model's: 23)
			opdev "$i" receipt --state "$S" --pcrs 23 >"$W/out-$i" 2>&1
			rc=$?
			[ $rc = 2 ] && [ "$try" -gt 1 ] && grep -q '"code":"receipt_used"' "$W/out-$i" && rc=0
			[ $rc = 0 ] || [ $rc = 1 ] && break
			echo "$i $k $try $step $rc" >>"$W/retried"
			sleep 0.2
		done
	fi
	if [ $rc = 0 ]; then
		echo "$i $k" >>"$W/accepted"
		echo $((($(date +%s%N) - t0) / 1000)) >>"$W/flow-times"
		return 0
	fi
	echo "$i $k $step $rc $(tail -n 1 "$W/out-$i")" >>"$W/failed"
	return 1
}
