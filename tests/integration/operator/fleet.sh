#!/usr/bin/env bash
# The operator at fleet scale on loopback: PostgreSQL 15 (tests/lib/
# with-postgres), two `mcim-operator serve` instances on it, HAProxy 2.6 in
# front (TLS terminated there and again to the instances, round robin, each
# request balanced on its own, /readyz as the health check), and a pool of
# swtpm devices (op-device: daemon/tre) running complete flows through
# HAProxy (register, validation start, evidence; the package from the DPF,
# every blob imported by the TPM; the receipt), so that the requests of one
# flow land on both instances.  While they run, one instance is killed with
# SIGKILL and PostgreSQL is restarted; a validation or download that fails
# starts the flow again, a receipt that fails is sent again (a device's
# answer to a 5xx or a lost connection), and every flow completes.  At the
# end: every device validated, tickets within what the accepted flows and
# the lost answers allow, every ticket once, no nonce in two sessions; every
# device has exactly one subscription (its first flow claimed it from the
# subscriber's pool, the later ones re-issued it), active; each device's
# packages are sequences 1..n, every package used a ticket, one package
# confirmed per flow (in the database); the instances answer again without
# a restart of their own; the evidence of one flow sent to both instances
# at once is accepted exactly once; metrics count what happened; SIGTERM
# stops an instance with exit 0.  TAP.
#
# Every flow uses fresh TPM evidence: a new AK, a new nonce, a new quote.
set -u
cd "$(dirname "$0")/../../.." || exit 1
B=${BUILD:-build}
OPBIN=$PWD/$B/bin/mcim-operator
DEV=$PWD/$B/tests/op-device
DEVICES=${FLEET_DEVICES:-6}
FLOWS=${FLEET_FLOWS:-10}  # per device

if [ -z "${MCIM_TEST_PG_URL:-}" ]; then
	command -v haproxy >/dev/null ||
		{ echo "1..0 # SKIP haproxy is not installed (run scripts/install-deps)"; exit 77; }
	exec tests/lib/with-postgres -- "$0" "$@"
fi

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
t() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

. tests/integration/operator/fleet-lib.sh
fleet_setup
out=$(op db migrate) && [ "$out" = "postgresql: schema version $(sql 'SELECT MAX(version) FROM schema_version')" ] &&
	ok "db migrate on PostgreSQL: $out" || not_ok "db migrate: $out"
ok "device import of the fleet through COPY: $FLEET_IMPORT"
# Instances starting together on an empty database: one migrates, the
# others wait for its lock and find nothing to do.
psql -X -q "$MCIM_TEST_PG_URL/postgres" -c 'CREATE DATABASE together' >/dev/null
sed "s|^url = .*|url = $MCIM_TEST_PG_URL/together|" "$W/op.conf" >"$W/together.conf"
for k in 1 2 3 4; do "$OPBIN" -c "$W/together.conf" db migrate >"$W/together-$k" 2>&1 & done
wait_ok=0
for j in $(jobs -p); do
	case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" || wait_ok=1 ;; esac
done
t "four db migrate at once on an empty database: all succeed, each migration applied once" \
	"[ $wait_ok = 0 ] && [ \"\$(psql -X -qAt $MCIM_TEST_PG_URL/together -c 'SELECT COUNT(*) = COUNT(DISTINCT version) FROM schema_version')\" = t ]"
[ $wait_ok = 0 ] || sed 's/^/# /' "$W"/together-*
sed 's/^pool = .*/pool = 65/' "$W/op.conf" >"$W/bad.conf"
out=$("$OPBIN" -c "$W/bad.conf" db migrate 2>&1)
rc=$?
t "a pool size out of range is refused, naming the key (exit 3)" \
	"[ $rc = 3 ] && echo \"\$out\" | grep -q '\[store\] pool: \"65\" is not 1 to 64'"
start_instance a || { echo "Bail out! instance a"; cat "$W/serve-a.log"; exit 1; }
start_instance b || { echo "Bail out! instance b"; cat "$W/serve-b.log"; exit 1; }
PA=$(cat "$W/port-a") PB=$(cat "$W/port-b")
start_haproxy "$PA" "$PB" || { echo "Bail out! haproxy"; exit 1; }

# /healthz, /readyz on both instances.
for i in a b; do
	p=$(cat "$W/port-$i")
	t "instance $i: /healthz 200 and /readyz 200 (the database answers)" \
		"curl -sf --cacert $W/pki/root-ca.pem https://127.0.0.1:$p/healthz | grep -q ok &&
		 curl -sf --cacert $W/pki/root-ca.pem https://127.0.0.1:$p/readyz | grep -q ready"
done

device() { # DEVICE: its flows one after the other (one TPM, one flow at a time)
	for k in $(seq "$FLOWS"); do flow "$1" "$k"; done
}
start=$(date +%s%N)
for i in $(seq "$DEVICES"); do device "$i" & done
# Disturbances while the flows run: instance a is killed (and started again
# later, as a supervisor would), then PostgreSQL restarts under both.  They
# come when a sixth and then a third of the flows are done, however fast
# this machine runs them (fixed sleeps let a quiet machine finish first).
accepted_at_least() { # N: waits (30 s at most) until N flows are accepted
	for _ in $(seq 600); do
		[ "$(wc -l <"$W/accepted")" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
accepted_at_least $((DEVICES * FLOWS / 6))
killed_at=$(wc -l <"$W/accepted")
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null
start_instance a || not_ok "instance a restarted"
PA2=$(cat "$W/port-a")
accepted_at_least $((DEVICES * FLOWS / 3))
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
# The lost answers: a validation that committed and died before answering
# (the killed instance) leaves a ticket no flow used, at most one per
# validation attempt started again; a download that did leaves an
# unconfirmed package, at most one per download attempt started again.
tickets=$(sql 'SELECT COUNT(*) FROM tickets')
packages=$(sql 'SELECT COUNT(*) FROM packages')
validated=$(wc -l <"$W/validated")
rv=$(grep -c ' validate ' "$W/retried")
rd=$(grep -c ' download ' "$W/retried")
t "tickets: $tickets for $validated validations accepted ($rv validations started again)" \
	"[ $tickets -ge $validated ] && [ $tickets -le $((validated + rv)) ]"
t "packages: $packages for $accepted flows ($rd downloads started again), each flow's confirmed once" \
	"[ $packages -ge $accepted ] && [ $packages -le $((accepted + rd)) ] &&
	 [ \"\$(sql 'SELECT COUNT(*) FROM packages WHERE confirmed <> 0')\" = $accepted ]"
t "every ticket id once" "[ \"\$(sql 'SELECT COUNT(DISTINCT jti) FROM tickets')\" = $tickets ]"
t "no nonce in two sessions" "[ -z \"\$(sql 'SELECT nonce FROM sessions GROUP BY nonce HAVING COUNT(*) > 1')\" ]"
t "no more tickets than sessions used" \
	"[ $tickets -le \$(sql 'SELECT COUNT(*) FROM sessions WHERE used = 1') ]"
t "the audit log has one 'valid' per ticket" \
	"[ \"\$(sql \"SELECT COUNT(*) FROM audit WHERE event = 'validation' AND result = 'valid'\")\" = $tickets ]"
t "every device has exactly one subscription, and it is active" \
	"[ \"\$(sql \"SELECT COUNT(DISTINCT device_id) FROM subscriptions WHERE state = 'active'\")\" = $DEVICES ] &&
	 [ \"\$(sql 'SELECT COUNT(*) FROM subscriptions WHERE device_id IS NOT NULL')\" = $DEVICES ]"
t "no sequence number issued twice: each device's packages are 1..n, its counter at n" \
	"[ \"\$(sql 'SELECT COUNT(*) FROM (SELECT device_id FROM packages GROUP BY device_id
		HAVING COUNT(DISTINCT sequence) <> COUNT(*) OR MIN(sequence) <> 1 OR MAX(sequence) <> COUNT(*)) x')\" = 0 ] &&
	 [ \"\$(sql 'SELECT COUNT(*) FROM device_sequences d WHERE next_sequence - 1 <>
		(SELECT MAX(sequence) FROM packages p WHERE p.device_id = d.device_id)')\" = 0 ]"
t "every package used a ticket, each ticket once" \
	"[ \"\$(sql 'SELECT COUNT(DISTINCT p.jti) FROM packages p JOIN tickets t ON t.jti = p.jti WHERE t.used = 1')\" = $packages ]"
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

# SIGTERM: a graceful stop.  A request still arriving when the signal comes
# (a 300 kB evidence body sent at 100 kB/s) gets its whole answer; a new
# connection meanwhile is refused at once; the instance exits 0.
PC=$PB PID_c=$PID_b
python3 -c 'import json; print(json.dumps({"quote": "A" * 300000}))' >"$W/slow.json"
curl -s -o "$W/slow.out" -w '%{http_code}' --cacert "$W/pki/root-ca.pem" --limit-rate 100k \
	-H 'Content-Type: application/json' --data-binary @"$W/slow.json" \
	"https://127.0.0.1:$PC/v1/validations/00000000000000000000000000000000/evidence" >"$W/slow.code" &
slow=$!
sleep 0.7
kill -TERM "$PID_c"
sleep 0.3
curl -s -o /dev/null --connect-timeout 5 --cacert "$W/pki/root-ca.pem" "https://127.0.0.1:$PC/healthz"
refused=$?
wait "$PID_c"
rc=$?
wait $slow
t "while it stops, a new connection is refused at once (curl exit $refused: 7)" "[ $refused = 7 ]"
t "SIGTERM during a request: its answer arrives whole ($(cat "$W/slow.code"), $(head -c 60 "$W/slow.out")), then exit $rc" \
	"[ $rc = 0 ] && grep -q '\"code\":\"' $W/slow.out"
echo "1..$n"
exit $fail
