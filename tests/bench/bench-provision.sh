#!/usr/bin/env bash
# `make bench` entry for the device's provisioning (issue #11): mcimd on swtpm
# (host) against mcim-operator serve on loopback, `mcimctl provision` run
# PROVISION_RUNS times (each a new subscription for the device): register ->
# validate -> download -> install -> receipt -> enable.
#   bench provision.device_ms   median wall time of one provisioning, as the
#                               device sees it (the operator's share included)
#   bench provision.tpm_cmds    TPM commands mcimd sent for one provisioning,
#                               counted at the TRE's TCTI (mcimctl status), with
#                               the breakdown by command in comments
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
RUNS=${PROVISION_RUNS:-7}
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert -- "$0" "$@"
dir=$(mktemp -d /tmp/bench-provision.XXXXXX)
mcimd_pid= srv_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || exit 1
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
OP() { "$B/bin/mcim-operator" -c "$dir/op.conf" "$@"; }
die() { echo "bench-provision: $*" >&2; tail -5 "$dir/mcimd.log" "$dir/serve.log" >&2; exit 1; }
mkdir -p "$dir/mfr"
cp /var/lib/swtpm-localca/issuercert.pem /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$dir/mfr/"
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
zero=0000000000000000000000000000000000000000000000000000000000000000
cat >"$dir/model.json" <<EOF
{"model": "gw-1000", "version": 1, "mode": "autonomous", "pcrs": [0, 1, 2, 3, 4, 5, 6, 7, 23],
 "reference": {"0": "$zero", "1": "$zero", "2": "$zero", "3": "$zero", "4": "$zero",
               "5": "$zero", "6": "$zero", "7": "$zero", "23": "$zero"}}
EOF
python3 - "$dir" <<'PY'
import json, sys
p = json.load(open("daemon/usim/profiles/test-usim.json"))
for k in ("k", "opc"):
    p["auth"].pop(k)
for pin in p["pins"]:
    for k in ("value", "puk"):
        pin.pop(k, None)
json.dump(p, open(sys.argv[1] + "/template.json", "w"))
PY
OP pki init >/dev/null && OP model set "$dir/model.json" >/dev/null || die "operator setup"
"$B/bin/mcim-operator" -c "$dir/op.conf" serve --port-file "$dir/port" 2>"$dir/serve.log" &
srv_pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.02; done
url=https://127.0.0.1:$(cat "$dir/port")
ek=$(tpm2_nvread -T "$MCIM_TEST_TCTI" -C o 0x01c00002 2>/dev/null | base64 -w0)
printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' "$ek" >"$dir/fleet.csv"
OP sho add op-a 'Operator A' "$url" "$url" && OP device import "$dir/fleet.csv" --sho op-a >/dev/null ||
	die "fleet import"
ID=$(OP --json device list | jget '[0]["device_id"]')
write_conf "$dir/mcimd.conf" 0 "[provisioning]
drf_url = $url
ca = $dir/pki/root-ca.pem
timeout = 10
retries = 1"
start_mcimd "$dir/mcimd.conf" || die "mcimd does not start"
tpm() { CTL --json status | jget '["tpm"]'; }
: >"$dir/ms"
for i in $(seq "$RUNS"); do
	OP subscription create --sho op-a --template "$dir/template.json" --device "$ID" >/dev/null ||
		die "subscription create"
	tpm >"$dir/before"
	t0=$(date +%s%N)
	CTL provision >"$dir/prov.out" 2>&1 || { cat "$dir/prov.out" >&2; die "provision $i failed"; }
	echo $((($(date +%s%N) - t0) / 1000)) >>"$dir/ms"
	tpm >"$dir/after"
done
python3 - "$dir" "$RUNS" <<'PY'
import ast, statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
runs_us = [int(x) for x in open(f"{d}/ms")]
us = sorted(runs_us)
b = ast.literal_eval(open(f"{d}/before").read())
a = ast.literal_eval(open(f"{d}/after").read())
print("bench provision.device_ms %.1f ms" % (statistics.median(us) / 1000))
print("# %d runs, min %.1f ms, max %.1f ms (swtpm on loopback; TLS and the operator's work included)"
      % (runs, us[0] / 1000, us[-1] / 1000))
print("bench provision.tpm_cmds %d commands" % (a["commands"] - b["commands"]))
by = {k: v - b["by_command"].get(k, 0) for k, v in a["by_command"].items()}
print("# by command (the last run): " + ", ".join("%s %d" % kv for kv in
      sorted(((k, v) for k, v in by.items() if v), key=lambda kv: -kv[1])))
print("# that run: %.1f ms in all, %.1f ms of it waiting for the TPM"
      % (runs_us[-1] / 1000, (a["time_us"] - b["time_us"]) / 1000))
PY
