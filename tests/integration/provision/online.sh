#!/usr/bin/env bash
# The whole provisioning against the test operator (operator-test-server.py
# as DRF, PVA and DPF; its DPF builds packages with pkg-forge, i.e. lib/package
# as the operator's DPF would), on swtpm with EK certificates and tabrmd:
#   - the factory's provisioning profile, then [provisioning] auto = yes:
#     register -> validate -> download -> install -> receipt (the AK's quote
#     checked by the operator) -> enable -> the provisioning profile deleted;
#   - mcimctl provision: the same with the steps printed, a second
#     subscription; the failure classes and their exit codes: a DPF that
#     refuses (409 tamper_reported: exit 8), a broken package (exit 13, check 2),
#     a package of an installed ICCID (exit 13, check 9), each leaving the
#     profiles as they were;
#   - kill -9 at random points of mcimctl provision: one usable profile, never
#     a half one, and a retried provision completes (ONLINE_KILLS);
#   - a tamper event's report delivered to the DPF (/v1/dpf/tamper), attested.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/pkg-forge; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in tpm2_makecredential tpm2_checkquote tpm2_nvread tpm2_createek tpm2_pcrread tpm2-abrmd \
	openssl sqlite3 swtpm_setup osmo-auc-gen xxd; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "python3-cryptography is not installed"; exit 77; }
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --ek-cert --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcim-online.XXXXXX)
mcimd_pid= srv_pid= client=
trap '[ -n "$client" ] && kill -9 $client 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; [ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
. tests/integration/provision/package-lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
n=0
run() { local o=$1; shift; CTL "$@" >"$dir/$o.out" 2>&1; rc=$?; }
says() { grep -q -- "$2" "$dir/$1.out"; }
plist() { CTL profile list | awk 'NR > 1 {print $1 ":" $2 ":" $3}' | tr '\n' ' '; }

t "the operator's PKI: root, DPF certificate" pki
# The operator's TLS certificate for 127.0.0.1 under the same root.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout $P/tls.key -out $P/tls.csr 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >$P/tls.ext &&
	openssl x509 -req -in $P/tls.csr -CA $P/root.pem -CAkey $P/root.key -CAcreateserial \
		-days 2 -extfile $P/tls.ext -out $P/tls.pem 2>/dev/null
tpm2_nvread -C o 0x01c00002 -o "$dir/ek.der" >/dev/null 2>&1
device_id=$(openssl x509 -inform der -in "$dir/ek.der" -noout -pubkey 2>/dev/null |
	openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)
echo "$device_id" >"$dir/known"
# The RSA EK's name (the registration sends the RSA EK certificate) and the PCRs.
tpm2_createek -G rsa -c $dir/ek.ctx -u $dir/ek.pub >/dev/null 2>&1 &&
	tpm2_readpublic -c $dir/ek.ctx -n $dir/ek.name >/dev/null 2>&1 && tpm2_flushcontext -t >/dev/null 2>&1
EK=$(xxd -p -c 256 $dir/ek.name)
tpm2_pcrread sha256:0,2,4,7,23 -o $dir/pcrs.bin >/dev/null 2>&1
t "the device's EK certificate, RSA EK name and PCR values" "[ \${#device_id} = 64 ] && [ \${#EK} = 68 ]"
dpf() { # PROFILE ICCID [pkg-forge options]: what the DPF sells next
	local prof=$1 iccid=$2
	shift 2
	python3 -c 'import json, sys; print(json.dumps({"argv": sys.argv[2:], "iccid": sys.argv[1]}))' \
		"$iccid" "$FORGE" --profile "$prof" --ek-name "$EK" --key $P/dpf.key --cert $P/dpf.pem \
		--policy-key $P/policy.key --pcr-values $dir/pcrs.bin "$@" >$dir/dpf.json
}
dpf $P1 $P1_ICCID
behave() { echo "$1" >"$dir/behaviour"; }
behave '{}'
/usr/bin/python3 tests/integration/provision/operator-test-server.py --cert $P/tls.pem \
	--key $P/tls.key --port-file "$dir/port" --log "$dir/requests" \
	--behaviour "$dir/behaviour" --known "$dir/known" --evidence "$dir/evidence.json" \
	--manufacturer-ca /var/lib/swtpm-localca/issuercert.pem --dpf-forge $dir/dpf.json \
	--receipts $dir/receipts 2>"$dir/server.log" &
srv_pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.02; done
port=$(cat "$dir/port" 2>/dev/null)
t "the test operator (DRF, PVA, DPF) listens on 127.0.0.1:$port" "[ -n '$port' ]"
# A device trusts several operators (docs/change-format.md 1): [provisioning]
# ca is a bundle, another operator's root first; TLS and the package verifier
# find this operator's in it.
cat $P/other-root.pem $P/root.pem >$P/roots.pem
conf() { # NAME [extra]
	write_conf "$dir/$1.conf" 0 "[provisioning]
drf_url = https://127.0.0.1:$port
ca = $P/roots.pem
timeout = 5
retries = 1
${2:-}"
}
conf main
conf auto "auto = yes"

t "mcimd starts" "start_mcimd $dir/main.conf"
PB=$dir/boot.json PB_ICCID=89001110000000000027
sed -e 's/"98000101000000000081"/"98001101000000000072"/' $P1 >$PB
t "the factory step: the provisioning profile, enabled" \
	"CTL factory-install --expires +1d $PB | grep -q enabled"
stop_mcimd
s0=$(date +%s%N)
start_mcimd $dir/auto.conf
for _ in $(seq 1000); do grep -q 'automatic provisioning.*\(installed\|failed\)' $dir/mcimd.log && break; sleep 0.02; done
s1=$(date +%s%N)
echo "# [provisioning] auto: start to enabled $(( (s1 - s0) / 1000000 )) ms"
grep 'provisioning' $dir/mcimd.log | tail -3 | sed 's/^/# /'
t "auto = yes: registered, validated, downloaded, installed and enabled at start" \
	"grep -q 'automatic provisioning: profile $P1_ICCID installed and enabled' $dir/mcimd.log"
t "  the new profile enabled, the provisioning profile deleted" "[ \"\$(plist)\" = '$P1_ICCID:enabled:operational ' ]"
t "  the DPF got the receipt (AK quote over SHA-256(receipt) verified): sequence 1" \
	"grep -q '\"iccid\": \"$P1_ICCID\".*\"result\": \"installed\", \"sequence\": 1' $dir/receipts"
r=$(auth 32)
t "  the downloaded profile authenticates (RES $RES1)" "[ \"\${r:0:20}\" = db08$RES1 ]"
reqs=$(sed 's,/[0-9a-f]\{32\}/,/S/,' $dir/requests | tr '\n' ' ')
t "  the requests in order: $reqs" \
	"[ '$reqs' = 'POST /v1/register POST /v1/validations POST /v1/validations/S/evidence POST /v1/dpf/package POST /v1/dpf/receipt ' ]"

P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
dpf $P2 $P2_ICCID
p0=$(date +%s%N)
run prov provision
p1=$(date +%s%N)
echo "# mcimctl provision (validate to enabled): $(( (p1 - p0) / 1000000 )) ms"
cat $dir/prov.out | sed 's/^/# /'
t "mcimctl provision: exit 0, a second subscription enabled (exit $rc)" \
	"[ $rc = 0 ] && says prov 'provisioned: profile $P2_ICCID' && [ \"\$(plist)\" = '$P1_ICCID:disabled:operational $P2_ICCID:enabled:operational ' ]"
t "  the steps printed: validate, request, download, install, receipt, enable, release" \
	"for s in evidence request download install receipt enable release; do grep -q \"\\[ok\\] \$s \" $dir/prov.out || exit 1; done"
before=$(plist)
behave '{"package": "409"}'
run ref provision
t "a DPF that refuses (409 tamper_reported): exit 8, profiles unchanged (exit $rc)" \
	"[ $rc = 8 ] && says ref tamper_reported && [ \"\$(plist)\" = \"$before\" ]"
behave '{"package": "sig"}'
run sig provision
t "a package with a broken signature: exit 13, check 2, profiles unchanged (exit $rc)" \
	"[ $rc = 13 ] && says sig 'check 2 ' && [ \"\$(plist)\" = \"$before\" ]"
behave '{}'
run dup --json provision
t "a package of an installed ICCID: exit 13, check 9, --json error with kind package (exit $rc)" \
	"[ $rc = 13 ] && says dup 'check 9 ' && says dup '\"kind\": *\"package\"'"
# A switch package through the download (docs/change-format.md 3): a
# version 2 subscription first, then one that replaces it with the
# subscriber's consent: installed, not enabled, and not confirmed
# "installed" (a DPF takes only switched or fallback for it: the switch,
# docs/change-format.md 5, confirms it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $P/sub.key \
	-subj /CN=acme -days 2 -out $P/sub.pem 2>/dev/null
P3=$dir/p7.json P3_ICCID=89001010000000000017 P4=$dir/p6.json P4_ICCID=89001010000000000016
for d in 7 6; do
	sed -e "s/\"98000101000000000081\"/\"980001010000000000${d}1\"/" \
	    -e "s/\"080910101032547698\"/\"08091010103254769${d}\"/" $P1 >$dir/p$d.json
done
dpf $P3 $P3_ICCID --subscriber acme --subscriber-cert $P/sub.pem
run v2 provision
t "a version 2 package through mcimctl provision: enabled, its subscriber recorded (exit $rc)" \
	"[ $rc = 0 ] && CTL profile list | grep -q '^$P3_ICCID  *enabled .* acme '"
$FORGE --token consent --key $P/sub.key --cert $P/sub.pem --device $device_id --iccid $P3_ICCID \
	--to-sho-root $P/root.pem --out $dir/consent.der >/dev/null
dpf $P4 $P4_ICCID --subscriber acme --subscriber-cert $P/sub.pem --replaces $P3_ICCID --consent $dir/consent.der
run switch provision
cat $dir/switch.out | sed 's/^/# /'
t "a switch package through mcimctl provision: installed, no receipt installed, not enabled, the replaced one still enabled (exit $rc)" \
	"[ $rc = 0 ] && says switch 'installed, not enabled: it replaces $P3_ICCID' && ! grep -q '\"iccid\": \"$P4_ICCID\"' $dir/receipts && CTL profile list | grep -q '^$P3_ICCID  *enabled' && CTL profile list | grep -q '^$P4_ICCID  *installed .*$P3_ICCID\$' && [ -z \"\$(sqlite3 $dir/store.db \"SELECT 1 FROM device_blobs WHERE kind = 'receipt-pending'\")\" ]"
CTL profile delete $P4_ICCID >/dev/null

# kill -9 of mcimd at random points of `mcimctl provision` (ONLINE_KILLS,
# default 10; 100 in make check-powercut): after every restart one enabled
# profile whose card authenticates, the new subscription wholly there or
# absent, and `mcimctl provision` again completes it (from the receipt when
# the cut came after the install, receipt-pending).
kills=${ONLINE_KILLS:-10} bad=0 resumed=0 completed=0 sqn=64
window=$(( (p1 - p0) / 1000000 + 100 ))
for i in $(seq $kills); do
	iccid=890010100000$(printf %08d $((100 + i)))
	sed -e "s/\"98000101000000000081\"/\"$(echo $iccid | sed 's/\(.\)\(.\)/\2\1/g')\"/" $P1 >$dir/k$i.json
	dpf $dir/k$i.json $iccid
	CTL provision >$dir/kill.out 2>&1 &
	client=$!
	ms=$((RANDOM % window))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 $mcimd_pid 2>/dev/null
	wait $mcimd_pid 2>/dev/null
	wait $client 2>/dev/null
	start_mcimd $dir/main.conf || { bad=$((bad + 1)); echo "# kill $i: no restart"; break; }
	why=
	[ "$(sqlite3 $dir/store.db 'PRAGMA integrity_check')" = ok ] || why="integrity"
	nb=$(sqlite3 $dir/store.db "SELECT count(*) FROM blobs b JOIN profiles p ON p.id = b.profile_id WHERE p.iccid = '$iccid'")
	[ $nb = 0 ] || [ $nb = 7 ] || why="$why half($nb blobs)"
	[ "$(CTL profile list | grep -c ' enabled ')" = 1 ] || why="$why enabled-count"
	sqn=$((sqn + 64)); auth_resync $sqn; sqn=$(( sqn_used > sqn ? sqn_used : sqn ))
	[ "${rsp:0:20}" = db08$RES1 ] || why="$why auth"
	if CTL profile list | grep -q "^$iccid  *enabled" &&
		[ -z "$(sqlite3 $dir/store.db "SELECT 1 FROM device_blobs WHERE kind = 'receipt-pending'")" ]; then
		completed=$((completed + 1))
	else
		[ $nb = 7 ] && resumed=$((resumed + 1))
		CTL provision >$dir/retry.out 2>&1 || why="$why retry($(tail -1 $dir/retry.out))"
		CTL profile list | grep -q "^$iccid  *enabled" || why="$why not-enabled-after-retry"
	fi
	[ -z "$why" ] || { bad=$((bad + 1)); echo "# kill $i: $why"; }
	# The subscription before goes (at most 64 profiles).
	[ -z "${prev:-}" ] || CTL profile delete $prev >/dev/null 2>&1
	prev=$iccid
done
echo "# $kills kills during provision: $completed completed before the kill, $resumed resumed from the receipt, $((kills - completed - resumed)) downloaded again; $bad inconsistencies"
t "kills during provision: always one usable profile, never a half one; a retry completes ($bad bad)" "[ $bad = 0 ]"

# A tamper event: the report, attested by the AK, reaches the operator.
CTL tamper "case opened" >/dev/null
for _ in $(seq 250); do grep -q mcim-tamper $dir/receipts && break; sleep 0.02; done
t "a tamper event: its report reaches the DPF, the AK's quote over it verified" \
	"grep -q '\"format\": \"mcim-tamper\", \"reason\": \"control (uid 0): case opened\"' $dir/receipts"
# (the DPF writes the report before it answers: wait for mcimd to hear it)
for _ in $(seq 250); do
	[ -z "$(sqlite3 $dir/store.db "SELECT 1 FROM device_blobs WHERE kind = 'tamper-report'")" ] && break
	sleep 0.02
done
t "  delivered: audited, nothing left queued" \
	"sqlite3 $dir/store.db \"SELECT detail FROM audit WHERE event = 'tamper-report'\" | grep -q sent && [ -z \"\$(sqlite3 $dir/store.db \"SELECT 1 FROM device_blobs WHERE kind = 'tamper-report'\")\" ]"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(sqlite3 $dir/store.db 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
