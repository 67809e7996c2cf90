#!/usr/bin/env bash
# kill -9 of mcimd at random points of the package download and install
# (mcimctl provision --request, then profile install --package --enable), on
# swtpm with tabrmd; after every kill mcimd is started again and checked:
#   - it starts (store MAC and generation counter accepted), integrity ok;
#   - the old state or the new one, never a half: either the profile is
#     there whole (all its blobs, the operator policy), enabled, with the new
#     sequence recorded and the nonce consumed, or none of it is;
#   - a usable profile: the card of the enabled profile (the factory's
#     provisioning profile until the first install) authenticates;
#   - a retried download installs: the same subscription is tried again until
#     it is in.
# At least PACKAGE_KILLS (default 50; make check-powercut: 200) kills.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/pkg-forge; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 openssl tpm2_createek tpm2_pcrread tpm2-abrmd xxd; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
kills_min=${PACKAGE_KILLS:-50}
dir=$(mktemp -d /tmp/mcimd-pkgkill.XXXXXX)
mcimd_pid= client=
trap '[ -n "$client" ] && kill -9 $client 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
. tests/integration/provision/package-lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0
t "a test operator PKI" pki
write_conf "$dir/mcimd.conf" 0 "[provisioning]
ca = $P/root.pem
[control]
lifecycle_per_hour = 0"
start_mcimd "$dir/mcimd.conf" && stop_mcimd
fake_registration
t "mcimd starts with a registration and a ticket" "start_mcimd $dir/mcimd.conf"
device_facts
# The factory's bootstrap profile: the usable profile until the first install.
PB=$dir/boot.json
sed -e 's/"98000101000000000081"/"98001101000000000072"/' $P1 >$PB
t "the provisioning profile, enabled by mcimd" \
	"CTL factory-install --expires +1d $PB | grep -q enabled"

# profile J: test-usim.json under ICCID 890010100000 + J (8 digits).
profile() {
	local iccid swapped
	iccid=890010100000$(printf %08d $1)
	swapped=$(echo $iccid | sed 's/\(.\)\(.\)/\2\1/g')
	sed -e "s/\"98000101000000000081\"/\"$swapped\"/" $P1 >$dir/p$1.json
	echo $iccid
}
blobs() { sqlite3 $dir/store.db "SELECT count(*) FROM blobs b JOIN profiles p ON p.id = b.profile_id WHERE p.iccid = '$1'"; }
seq_now() { sqlite3 $dir/store.db "SELECT coalesce((SELECT hex(data) FROM device_blobs WHERE kind LIKE 'pkgseq:%'), '0')"; }

# How long one download takes here: the kills fall inside it.
iccid=$(profile 1)
t0=$(date +%s%N)
CTL provision --request $dir/req.json >/dev/null && PROFILE=$dir/p1.json forge $dir/pkg.der --sequence 1
t1=$(date +%s%N)
CTL provision --request $dir/req.json >/dev/null
t2=$(date +%s%N)
window=$(( (t2 - t0) / 1000000 + 80 ))
echo "# one request + forge: $(( (t1 - t0) / 1000000 )) ms, a request: $(( (t2 - t1) / 1000000 )) ms; kills within the first $window ms"
j=1 seq=1 sqn=0 kills=0 bad=0 installed=0 retried=0 during=0 resyncs=0
start=$(date +%s)
while [ $kills -lt $kills_min ]; do
	(
		CTL provision --request $dir/req.json >/dev/null 2>&1 &&
			PROFILE=$dir/p$j.json forge $dir/pkg.der --sequence $seq &&
			CTL profile install --package --enable $dir/pkg.der
	) >$dir/client.out 2>&1 &
	client=$!
	ms=$((RANDOM % window))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 $mcimd_pid 2>/dev/null
	wait $mcimd_pid 2>/dev/null
	wait $client 2>/dev/null
	client=
	kills=$((kills + 1))
	if ! start_mcimd $dir/mcimd.conf; then
		nok "restart after kill $kills"; bad=$((bad + 1)); tail -5 $dir/mcimd.log | sed 's/^/# /'
		break
	fi
	why=
	[ "$(sqlite3 $dir/store.db 'PRAGMA integrity_check')" = ok ] || why="integrity"
	s=$((16#$(seq_now)))
	nonce=$(sqlite3 $dir/store.db "SELECT count(*) FROM device_blobs WHERE kind = 'package-nonce'")
	if CTL profile list | grep -q "^$iccid  *enabled  *operational"; then
		# The new state, whole: key, opc, 3 PINs, policy; sequence; nonce gone.
		[ "$(blobs $iccid)" = 7 ] && [ $s = $seq ] && [ $nonce = 0 ] ||
			why="$why half-new(blobs $(blobs $iccid) seq $s nonce $nonce)"
		installed=$((installed + 1))
		j=$((j + 1)) seq=$((seq + 1))
		# The profile before the new one goes (keeps the store small).
		[ $j -gt 2 ] && CTL profile delete $(echo $(profile $((j - 2)))) >/dev/null 2>&1
		iccid=$(profile $j)
	else
		# The old state: no trace of this profile, the old sequence.
		[ "$(blobs $iccid)" = 0 ] && [ $s = $((seq - 1)) ] &&
			! CTL profile list | grep -q "^$iccid " || why="$why half-old(blobs $(blobs $iccid) seq $s)"
		grep -q 'mcimd\|connect' $dir/client.out && during=$((during + 1))
		retried=$((retried + 1))
	fi
	[ "$(CTL profile list | grep -c ' enabled ')" = 1 ] || why="$why enabled-count"
	sqn=$((sqn + 64))
	auth_resync $sqn
	[ "${rsp:0:20}" = db08$RES1 ] || why="$why auth(${rsp:0:8})"
	sqn=$(( sqn_used > sqn ? sqn_used : sqn ))
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		echo "# kill $kills: $why"
		if [ $bad = 1 ]; then
			CTL profile list | sed 's/^/#   /'
			sqlite3 $dir/store.db "SELECT p.iccid, p.state, b.kind FROM blobs b JOIN profiles p ON p.id = b.profile_id" | sed 's/^/#   /'
			sed 's/^/#   client: /' $dir/client.out
			tail -5 $dir/mcimd.log | sed 's/^/#   /'
		fi
	fi
done
end=$(date +%s)
echo "# $kills kills in $((end - start)) s: $installed installs completed, $retried times the old state (of which $during killed inside the client's request or install), $resyncs resynchronisations, $bad inconsistencies"
t "every kill left the old or the new state, whole, and a card that authenticates ($bad bad)" "[ $bad = 0 ]"
t "installs completed between kills, retried ones included ($installed)" "[ $installed -ge 1 ]"
# A last download without a kill: installs.
CTL provision --request $dir/req.json >/dev/null && PROFILE=$dir/p$j.json forge $dir/pkg.der --sequence $seq
t "a retried download after the last kill installs" \
	"CTL profile install --package --enable $dir/pkg.der >/dev/null && CTL profile list | grep -q '^$iccid  *enabled'"
stop_mcimd
mcimd_pid=
echo "1..$n"
