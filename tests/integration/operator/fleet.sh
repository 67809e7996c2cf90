#!/usr/bin/env bash
# The operator at fleet scale on loopback: PostgreSQL 15 (tests/lib/
# with-postgres), two `mcim-operator serve` instances on it, HAProxy 2.6 in
# front (TLS terminated there and again to the instances, round robin, each
# request balanced on its own, /readyz as the health check), and a pool of
# swtpm devices (op-device: daemon/tre) running complete flows (register,
# validation start, evidence) through HAProxy, so that the requests of one
# flow land on both instances.  In the middle one instance is killed with
# SIGKILL and PostgreSQL is restarted; flows that fail retry from the start
# (a device's answer to a 5xx or a lost connection) and complete.  At the
# end: every device validated, as many tickets as accepted flows, every
# ticket once, no nonce and no session used twice (in the database), the
# instances answer again without a restart of their own; the evidence of one
# flow sent to both instances at once is accepted exactly once; metrics
# count what happened; SIGTERM stops an instance with exit 0.  TAP.
#
# Every flow uses fresh TPM evidence: a new AK, a new nonce, a new quote.
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
OPBIN=$PWD/$B/bin/mcim-operator
DEV=$PWD/$B/tests/op-device
DEVICES=${FLEET_DEVICES:-6}
FLOWS=${FLEET_FLOWS:-12}  # per device

if [ -z "${MCIM_TEST_PG_URL:-}" ]; then
	command -v haproxy >/dev/null ||
		{ echo "1..0 # SKIP haproxy is not installed (run scripts/install-deps)"; exit 77; }
	exec tests/lib/with-postgres -- "$0" "$@"
fi

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
t() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

W=$(mktemp -d "${TMPDIR:-/tmp}/mcim-fleet.XXXXXX") || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q . && ! grep -qx "$1" "$W/ports"; }
free_port() { # two consecutive free ports, never handed out before
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		port_free "$p" && port_free $((p + 1)) && { printf '%s\n%s\n' $p $((p + 1)) >>"$W/ports"; echo "$p"; return; }
	done
	return 1
}
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
sql() { psql -X -qAt "$DB" -c "$1"; }

psql -X -q "$MCIM_TEST_PG_URL/postgres" -c 'CREATE DATABASE fleet' || { echo "Bail out! createdb"; exit 1; }
DB=$MCIM_TEST_PG_URL/fleet
mkdir -p "$W/mfr" "$W/tpm"
cat >"$W/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
workers = 4
[store]
url = $DB
pool = 4
[metrics]
listen = 127.0.0.1:0
[pki]
dir = $W/pki
[drf]
manufacturers = $W/mfr
[limits]
device_rate = 100000
EOF
op() { "$OPBIN" -c "$W/op.conf" "$@"; }
op pki init >/dev/null || { echo "Bail out! pki init"; exit 1; }
out=$(op db migrate) && [ "$out" = "postgresql: schema version $(sql 'SELECT MAX(version) FROM schema_version')" ] &&
	ok "db migrate on PostgreSQL: $out" || not_ok "db migrate: $out"

# The devices: one swtpm each, with EK certificates from swtpm's local CA.
for i in $(seq "$DEVICES"); do
	mkdir -p "$W/tpm/$i"
	swtpm_setup --tpm2 --tpmstate "$W/tpm/$i" --create-ek-cert --overwrite \
		>"$W/tpm/setup-$i.log" 2>&1 || { echo "Bail out! swtpm_setup"; cat "$W/tpm/setup-$i.log"; exit 1; }
done
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$W/mfr/"
declare -a TCTI
: >"$W/ports"
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
op sho add op-a "Operator A" "$URL" "$URL" >/dev/null || not_ok "sho add"
out=$(op device import "$W/fleet.csv" --sho op-a 2>&1)
[ "$(sql 'SELECT COUNT(*) FROM devices')" = "$DEVICES" ] || { echo "Bail out! device import: $out"; exit 1; }
ok "device import of the fleet through COPY: $out"
python3 -c 'import json; print(json.dumps({"model": "meter", "version": 1, "mode": "remote",
	"pcrs": [23], "reference": {"23": "00" * 32}}))' >"$W/model.json"
op model set "$W/model.json" >/dev/null || not_ok "model set"

# Two instances; their ports (HTTPS, metrics) from the port files.
start_instance() { # NAME
	rm -f "$W/port-$1" "$W/mport-$1"
	"$OPBIN" -c "$W/op.conf" serve --port-file "$W/port-$1" --metrics-port-file "$W/mport-$1" \
		2>>"$W/serve-$1.log" &
	eval "PID_$1=$!"
	pids+=($!)
	wait_file "$W/port-$1" && wait_file "$W/mport-$1"
}
start_instance a || { echo "Bail out! instance a"; cat "$W/serve-a.log"; exit 1; }
start_instance b || { echo "Bail out! instance b"; cat "$W/serve-b.log"; exit 1; }
PA=$(cat "$W/port-a") PB=$(cat "$W/port-b")

# HAProxy: TLS with the operator's server certificate, TLS again to the
# instances (verified against the operator's root), round robin per request.
cat "$W/pki/server.pem" "$W/pki/server.key" >"$W/haproxy.pem"
cat >"$W/haproxy.cfg" <<EOF
global
	maxconn 200
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
	server a 127.0.0.1:$PA
	server b 127.0.0.1:$PB
EOF
haproxy -c -q -f "$W/haproxy.cfg" || { echo "Bail out! haproxy config"; exit 1; }
haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	curl -sf --cacert "$W/pki/root-ca.pem" "$URL/healthz" >/dev/null && break
	sleep 0.05
done

# /healthz, /readyz on both instances.
for i in a b; do
	p=$(cat "$W/port-$i")
	t "instance $i: /healthz 200 and /readyz 200 (the database answers)" \
		"curl -sf --cacert $W/pki/root-ca.pem https://127.0.0.1:$p/healthz | grep -q ok &&
		 curl -sf --cacert $W/pki/root-ca.pem https://127.0.0.1:$p/readyz | grep -q ready"
done

# One flow of device i until it is accepted: a 5xx or a lost connection
# (exit 2 or 3) starts the flow again, a 403 (exit 1) is a failure.
flow() { # DEVICE FLOW
	local i=$1 k=$2 rc try
	for try in $(seq 20); do
		"$DEV" --tcti "${TCTI[$i]}" --ca "$W/pki/root-ca.pem" --url "$URL" validate \
			>"$W/out-$i-$k-$try" 2>&1
		rc=$?
		[ $rc = 0 ] && { echo "$i $k $try" >>"$W/accepted"; return 0; }
		[ $rc = 1 ] && break
		echo "$i $k $try $rc" >>"$W/retried"
		sleep 0.2
	done
	echo "$i $k $rc" >>"$W/failed"
	return 1
}
device() { # DEVICE: its flows one after the other (one TPM, one flow at a time)
	for k in $(seq "$FLOWS"); do flow "$1" "$k"; done
}
: >"$W/accepted"; : >"$W/retried"; : >"$W/failed"
start=$(date +%s%N)
for i in $(seq "$DEVICES"); do device "$i" & done
# Disturbances while the flows run: instance a is killed (and started again
# later, as a supervisor would), then PostgreSQL restarts under both.
sleep 1
killed_at=$(wc -l <"$W/accepted")
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null
sleep 1
start_instance a || not_ok "instance a restarted"
PA2=$(cat "$W/port-a")
sleep 1
pg_restarted_at=$(wc -l <"$W/accepted")
"$MCIM_TEST_PG_CTL" restart >/dev/null 2>&1 || not_ok "PostgreSQL restart"
for j in $(jobs -p); do
	case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac
done
ms=$((($(date +%s%N) - start) / 1000000))
accepted=$(wc -l <"$W/accepted")
retried=$(wc -l <"$W/retried")
echo "# $accepted flows accepted in $ms ms; $retried attempts retried; a killed after $killed_at, PostgreSQL restarted after $pg_restarted_at"
t "every flow completed ($((DEVICES * FLOWS)) flows of $DEVICES devices), through a kill -9 and a database restart" \
	"[ $accepted = $((DEVICES * FLOWS)) ] && [ ! -s $W/failed ]"
[ -s "$W/failed" ] && sed 's/^/# failed: /' "$W/failed"
t "flows went on after the kill -9 and after the database restart" \
	"[ $pg_restarted_at -gt $killed_at ] && [ $accepted -gt $pg_restarted_at ]"
t "every device validated" "[ \"\$(sql 'SELECT COUNT(*) FROM devices WHERE validated > 0')\" = $DEVICES ]"
tickets=$(sql 'SELECT COUNT(*) FROM tickets')
# A ticket whose answer was lost with the killed instance is possible (it
# committed and died before answering): at most one per retried attempt.
t "tickets: $tickets for $accepted accepted flows, none more than the lost answers allow" \
	"[ $tickets -ge $accepted ] && [ $tickets -le $((accepted + retried)) ]"
t "every ticket id once" "[ \"\$(sql 'SELECT COUNT(DISTINCT jti) FROM tickets')\" = $tickets ]"
t "no nonce in two sessions" "[ -z \"\$(sql 'SELECT nonce FROM sessions GROUP BY nonce HAVING COUNT(*) > 1')\" ]"
t "no more tickets than sessions used" \
	"[ $tickets -le \$(sql 'SELECT COUNT(*) FROM sessions WHERE used = 1') ]"
t "the audit log has one 'valid' per ticket" \
	"[ \"\$(sql \"SELECT COUNT(*) FROM audit WHERE event = 'validation' AND result = 'valid'\")\" = $tickets ]"
for i in a b; do
	p=$(cat "$W/port-$i")
	t "instance $i answers /readyz after the database restart, without a restart of its own" \
		"curl -sf --cacert $W/pki/root-ca.pem https://127.0.0.1:$p/readyz | grep -q ready"
done

# The same flow's evidence to both instances at once: one success.
won=0
for k in 1 2 3 4 5; do
	"$DEV" --tcti "${TCTI[1]}" --ca "$W/pki/root-ca.pem" --url "https://127.0.0.1:$PA2" \
		--race "https://127.0.0.1:$PB" validate >"$W/race-$k" 2>&1 &&
		grep -qE '"race":\[(200,409|409,200)\]' "$W/race-$k" && won=$((won + 1))
done
t "the evidence of one flow sent to both instances at once: one 200 and one 409, 5 times of 5" "[ $won = 5 ]"
[ $won = 5 ] || tail -n 3 "$W"/race-* | sed 's/^/# /'

# Metrics of instance b.
curl -sf "http://127.0.0.1:$(cat "$W/mport-b")/metrics" >"$W/metrics"
t "metrics: requests by endpoint and code, a latency histogram, db errors, and the retries after the database restart" \
	"grep -qE '^mcim_operator_requests_total\\{endpoint=\"evidence\",code=\"200\"\\} [1-9]' $W/metrics &&
	 grep -qE '^mcim_operator_request_duration_seconds_bucket\\{endpoint=\"evidence\",le=\"\\+Inf\"\\} [1-9]' $W/metrics &&
	 grep -qE '^mcim_operator_db_retries_total\\{engine=\"postgresql\"\\} [1-9]' $W/metrics &&
	 grep -qE '^mcim_operator_db_errors_total\\{engine=\"postgresql\"\\} [1-9]' $W/metrics &&
	 grep -qE '^mcim_operator_db_up 1' $W/metrics"
grep -E '^mcim_operator_(db_|requests_total\{endpoint="evidence")' "$W/metrics" | sed 's/^/# /'

# SIGTERM: a graceful stop, exit 0.
kill -TERM "$PID_b"
wait "$PID_b"
t "SIGTERM: instance b stops with exit 0" "[ $? = 0 ]"
echo "1..$n"
exit $fail
