#!/usr/bin/env bash
# mcimd's checks 9a and 9b of a change of subscription (docs/change-format.md
# 1-3), on swtpm with tabrmd: the device trusts two operator roots, A (root)
# and B (other-root); A installs version 2 packages (subscriber, lock: the
# records shown by mcimctl profile list) and a version 1 one; every refused
# package leaves the profile list, the store's security state and the NV
# counter as they were; a switch package with consent and release installs
# disabled next to A's; a consent id is single use; after the lock's end
# the consent alone is enough; a used consent or release is refused.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/pkg-forge; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in sqlite3 openssl tpm2_createek tpm2_pcrread tpm2_nvread tpm2-abrmd xxd; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-switch.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
. tests/integration/provision/package-lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0

# Two subscriber keys (self-signed certificates): acme's, and another one.
subscribers() {
	for s in sub sub2; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout $P/$s.key -subj "/CN=$s" -days 30 -out $P/$s.pem 2>/dev/null || return 1
	done
}
sho_id() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }
t "two operator roots (A, B), their DPFs, two subscriber keys" "pki && subscribers"
cat $P/root.pem $P/other-root.pem >$P/roots.pem
SHO_A=$(sho_id $P/root.pem) SHO_B=$(sho_id $P/other-root.pem)
write_conf "$dir/mcimd.conf" 0 "[provisioning]
ca = $P/roots.pem"
start_mcimd "$dir/mcimd.conf" && stop_mcimd
fake_registration
t "mcimd starts with a registration, a ticket and both roots" "start_mcimd $dir/mcimd.conf"
device_facts

# Profiles: P1 (test-usim.json) and copies with ICCID 890010100000000000 1D
# (EF.ICCID's last byte D1) and an IMSI ending in D9.
prof() { # D: $dir/pD.json
	sed -e "s/\"98000101000000000081\"/\"980001010000000000${1}1\"/" \
	    -e "s/\"080910101032547698\"/\"08091010103254769${1}\"/" $P1 >$dir/p$1.json
}
for d in 9 7 6 5; do prof $d; done
iccid() { echo 890010100000000000 1$1 | tr -d ' '; }
I1=$P1_ICCID I9=$(iccid 9) I7=$(iccid 7) I6=$(iccid 6) I5=$(iccid 5)
seq=10
request() { CTL provision --request $dir/req.json >/dev/null; }
A() { forge "$@"; }                                           # A's DPF
Bf() { forge "$@" --key $P/other-dpf.key --cert $P/other-dpf.pem; } # B's DPF
V2="--subscriber acme --subscriber-cert $P/sub.pem"
token() { # TYPE OUT KEY CERT [options]: a consent or release for this device
	local type=$1 out=$2 key=$3 cert=$4
	shift 4
	$FORGE --token $type --key $key --cert $cert --device $DEV --out $out "$@"
}
consent() { token consent "$1" $P/sub.key $P/sub.pem "${@:2}"; }
release() { token release "$1" $P/dpf.key $P/dpf.pem "${@:2}"; }

install() { # WHAT PKG [--enable]
	local rc
	CTL profile install --package "${@:3}" $2 >$dir/out 2>&1; rc=$?
	t "$1 (exit $rc)" "[ $rc = 0 ]"
	[ $rc = 0 ] || sed 's/^/# /' $dir/out
	seq=$((seq + 1))
}
snap() { # what must not change: profiles and their records, ids, blobs, the MAC'd state, NV
	CTL --json profile list
	sqlite3 $dir/store.db "SELECT key, value FROM meta ORDER BY key;
		SELECT * FROM profiles ORDER BY id;
		SELECT * FROM tokens ORDER BY 1, 2;
		SELECT profile_id, kind, hex(data) FROM blobs ORDER BY 1, 2;
		SELECT kind, hex(data) FROM device_blobs ORDER BY kind" | sha256sum
	nv
}
refused() { # WHAT CHECK REASON PKG: refused by CHECK (9a, 9b) with REASON, nothing changed
	local before after rc
	before=$(snap)
	CTL profile install --package $4 >$dir/out 2>&1; rc=$?
	after=$(snap)
	t "$1: refused by check $2 (exit $rc), '$3', the device unchanged" \
		"[ $rc = 13 ] && grep -q 'check $2 ' $dir/out && grep -q -- '$3' $dir/out && [ \"\$before\" = \"\$after\" ]"
	grep -q "check $2 .*$3" $dir/out || sed 's/^/# /' $dir/out
}

# A's subscriptions: P1 (version 2, locked for an hour), P7 (version 1),
# P5 (version 2, its lock ended a minute ago).
request
A $dir/ctl.der --sequence $seq --subscriber $'ac\x01me' --subscriber-cert $P/sub.pem
refused "a subscriber name with a control character" 4 "subscriber.name holds a control character" $dir/ctl.der
A $dir/a1.der --sequence $seq $V2 --lock 3600
install "A's version 2 package installs and enables" $dir/a1.der --enable
CTL --json profile list >$dir/list.json
jq1() { jget "[\"profiles\"][$1][\"$2\"]" <$dir/list.json; }
t "  recorded: A's sho_id, subscriber acme and its key id, the lock" \
	"[ \"\$(jq1 0 sho)\" = $SHO_A ] && [ \"\$(jq1 0 subscriber)\" = acme ] && [ \"\$(jq1 0 subscriber_key)\" = \$(sho_id $P/sub.pem) ] && [ \$(jq1 0 lock_until) -gt \$(( \$(date +%s) + 3500 )) ]"
t "  profile list shows them" "CTL profile list | grep -q '^$I1  *enabled .* ${SHO_A:0:12}  *acme  *[0-9]* *-\$'"
request
PROFILE=$dir/p7.json A $dir/a7.der --sequence $seq
install "A's version 1 package installs next to it" $dir/a7.der
request
PROFILE=$dir/p5.json A $dir/a5.der --sequence $seq $V2 --lock -60
install "A's version 2 package whose lock has ended installs" $dir/a5.der
CTL --json profile list >$dir/list.json
t "  the version 1 profile records A's sho_id and no subscriber" \
	"[ \"\$(jq1 1 iccid)\" = $I7 ] && [ \"\$(jq1 1 sho)\" = $SHO_A ] && [ \"\$(jget '[\"profiles\"][1].get(\"subscriber\", \"none\")' <$dir/list.json)\" = none ]"
nv0=$(nv)

request
PB="--sequence $seq $V2"
PROFILE=$dir/p9.json Bf $dir/b-plain.der $PB
refused "B's package without replaces" 9a "$I1 is another operator" $dir/b-plain.der
echo "# $(cat $dir/out)"
consent $dir/c1.der --iccid $I1 --to-sho-root $P/other-root.pem >$dir/c1.id
release $dir/r1.der --iccid $I1 --to-sho-root $P/other-root.pem >/dev/null
PROFILE=$dir/p9.json Bf $dir/b-none.der $PB --replaces 8900101000000000099 --consent $dir/c1.der --release $dir/r1.der
refused "replaces an ICCID not installed" 9b "replaces 8900101000000000099, which is not installed" $dir/b-none.der
sw() { # OUT CONSENT [RELEASE] [REPLACED]: B's switch package of P9
	PROFILE=$dir/p9.json Bf $1 $PB --replaces ${4:-$I1} --consent $2 ${3:+--release $3}
}
token consent $dir/c-key.der $P/sub2.key $P/sub2.pem --iccid $I1 --to-sho-root $P/other-root.pem >/dev/null
sw $dir/b-key.der $dir/c-key.der $dir/r1.der
refused "a consent signed by another key" 9b "consent signed by another key than the subscriber" $dir/b-key.der
token consent $dir/c-dev.der $P/sub.key $P/sub.pem --iccid $I1 --to-sho-root $P/other-root.pem \
	--device $(head -c 32 /dev/urandom | xxd -p -c 64) >/dev/null
sw $dir/b-dev.der $dir/c-dev.der $dir/r1.der
refused "a consent for another device" 9b "consent for another device" $dir/b-dev.der
consent $dir/c-iccid.der --iccid $I7 --to-sho-root $P/other-root.pem >/dev/null
sw $dir/b-iccid.der $dir/c-iccid.der $dir/r1.der
refused "a consent for another ICCID" 9b "consent for another subscription ($I7)" $dir/b-iccid.der
consent $dir/c-sho.der --iccid $I1 --to-sho-root $P/root.pem >/dev/null
sw $dir/b-sho.der $dir/c-sho.der $dir/r1.der
refused "a consent for another SHO" 9b "consent for another operator" $dir/b-sho.der
consent $dir/c-old.der --iccid $I1 --to-sho-root $P/other-root.pem --issued -700 --expires -10 >/dev/null
sw $dir/b-old.der $dir/c-old.der $dir/r1.der
refused "an expired consent" 9b "consent expired" $dir/b-old.der
sw $dir/b-norel.der $dir/c1.der
refused "the lock in force, no release" 9b "release missing: contract lock until" $dir/b-norel.der
token release $dir/r-b.der $P/other-dpf.key $P/other-dpf.pem --iccid $I1 --to-sho-root $P/other-root.pem >/dev/null
sw $dir/b-relop.der $dir/c1.der $dir/r-b.der
refused "a release from another operator's root" 9b "release from another operator" $dir/b-relop.der
release $dir/r-dev.der --iccid $I1 --to-sho-root $P/other-root.pem \
	--device $(head -c 32 /dev/urandom | xxd -p -c 64) >/dev/null
sw $dir/b-reldev.der $dir/c1.der $dir/r-dev.der
refused "a release for another device" 9b "release for another device" $dir/b-reldev.der
consent $dir/c7.der --iccid $I7 --to-sho-root $P/other-root.pem >/dev/null
sw $dir/b-v1.der $dir/c7.der "" $I7
refused "a replaced version 1 subscription" 9b "installed from a version 1 package: no subscriber key" $dir/b-v1.der
t "each refusal is audited, none reached the TPM's NV counter" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT count(*) FROM audit WHERE event = 'package-refused' AND detail LIKE '%check 9%'\")\" = 11 ] && [ \$(nv) = $nv0 ]"

sw $dir/b-ok.der $dir/c1.der $dir/r1.der
install "B's switch package with consent and release installs" $dir/b-ok.der --enable
t "  the new profile is not enabled, records B and replaces $I1" \
	"CTL profile list | grep -q '^$I9  *installed .* ${SHO_B:0:12}  *acme  *- *$I1\$'"
t "  A's profile intact and still enabled" "CTL profile list | grep -q '^$I1  *enabled .* ${SHO_A:0:12}  *acme '"
t "  the consent and release ids are recorded" \
	"[ \"\$(sqlite3 $dir/store.db \"SELECT kind FROM tokens WHERE id = '\$(cat $dir/c1.id)'\")\" = consent ] && [ \"\$(sqlite3 $dir/store.db 'SELECT count(*) FROM tokens')\" = 2 ]"
request
release $dir/r2.der --iccid $I1 --to-sho-root $P/other-root.pem >/dev/null
PROFILE=$dir/p6.json Bf $dir/b-replay.der --sequence $seq $V2 --replaces $I1 --consent $dir/c1.der --release $dir/r2.der
refused "the same consent id in another switch package" 9b "consent replayed" $dir/b-replay.der
consent $dir/c2.der --iccid $I1 --to-sho-root $P/other-root.pem >/dev/null
PROFILE=$dir/p6.json Bf $dir/b-relreplay.der --sequence $seq $V2 --replaces $I1 --consent $dir/c2.der --release $dir/r1.der
refused "the same release id with a fresh consent" 9b "release replayed" $dir/b-relreplay.der
consent $dir/c5.der --iccid $I5 --to-sho-root $P/other-root.pem >/dev/null
PROFILE=$dir/p6.json Bf $dir/b-unlocked.der --sequence $seq $V2 --replaces $I5 --consent $dir/c5.der
install "after the lock's end, the consent alone is enough" $dir/b-unlocked.der
CTL --json profile list >$dir/list.json
t "  it replaces $I5, which stays installed" \
	"[ \"\$(jq1 4 iccid)\" = $I6 ] && [ \"\$(jq1 4 replaces)\" = $I5 ] && CTL profile list | grep -q '^$I5 '"
stop_mcimd
t "mcimd restarts: the records and ids pass the store's MAC" "start_mcimd $dir/mcimd.conf && CTL profile list | grep -q '^$I6 '"
stop_mcimd
mcimd_pid=
t "store integrity after the run" "[ \"\$(sqlite3 $dir/store.db 'PRAGMA integrity_check')\" = ok ]"
echo "1..$n"
