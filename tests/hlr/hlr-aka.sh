#!/usr/bin/env bash
# hlr-aka.sh [--vm]: a real HLR checks a profile served by mcimd.  osmo-hlr
# (Debian) is loaded with the subscriber in the export's VTY shape
# (docs/package-format.md section 6), answers SendAuthInfo over GSUP
# (tests/lib/gsup-client), and mcimd's USIM answers the RAND/AUTN: RES ==
# XRES, the same CK, IK and Kc.  Then SQN: two vectors in a row, a replay
# refused, two GSUP clients (IND slots), the resynchronisation of TS 33.102
# 6.3.5 both ways (the USIM ahead of the HLR; the HLR behind, restored from
# an older database), a corrupted AUTS, an unknown IMSI, a wrong K in the
# HLR.  Runs in its own network namespace (tests/lib/hlr.sh: osmo-hlr's
# ports are fixed).
#
# On the host the card is reached through mcimctl's `apdu` method (mcimd on
# swtpm without slots, as the host tests reach it); with --vm, in the test
# VM (tests/kernel/vm-run --tpm), as the modem reaches it: vusim-modem on
# /dev/vusim0 of vusim.ko, mcimd on /dev/tpmrm0.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
vm=
[ "${1:-}" = --vm ] && vm=1
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/gsup-client ${vm:+$B/bin/vusim-modem kernel/vusim.ko}; do
	[ -e "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen sqlite3 ${vm:+qemu-system-x86_64 swtpm}; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
. tests/lib/hlr.sh
if [ -n "$vm" ] && [ -z "${VM:-}" ]; then
	exec tests/kernel/vm-run --tpm --name hlr-vm --timeout 300 -- "$0" "$@"
fi
hlr_netns "$0" "$@"
if [ -n "$vm" ]; then
	MCIM_TEST_TCTI=device:/dev/tpmrm0
	insmod kernel/vusim.ko || { echo "not ok 1 - insmod vusim.ko"; exit 1; }
else
	[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
fi
dir=$(mktemp -d /tmp/hlr-aka.XXXXXX)
mcimd_pid=
trap '[ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; hlr_stop; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0 fails=0
t0=$(date +%s%N)
# Counts failures, so that the logs are shown when there are some.
nok() { n=$((n + 1)) fails=$((fails + 1)); echo "not ok $n - $1"; }

. tests/hlr/lib.sh
# The device: test-usim.json (TS 35.208 set 1 K/OPc) installed and enabled.
write_conf "$dir/mcimd.conf" ${vm:-0}
t "mcimd starts on the TPM${vm:+ with the vusim driver}" "start_mcimd $dir/mcimd.conf"
t "profile install --enable $P1" "CTL profile install --enable $P1 >/dev/null"
[ -z "$vm" ] || t "the card is inserted in /dev/vusim0" \
	"$B/bin/vusim-modem -s 0 wait --for inserted --timeout 5000 >/dev/null"
# The IMSI the card names (EF.IMSI, TS 31.102 4.2.2: length, then TBCD
# with the parity nibble first).
ef=$(card "00a4040c10$ADF_USIM" 00a4080c047fff6f07 00b0000009)
IMSI=
for ((i = 2; i < 18; i += 2)); do IMSI+=${ef:i+1:1}${ef:i:1}; done
IMSI=${IMSI:1}
IMSI=${IMSI%f}
t "the card's EF.IMSI reads $IMSI" "[ \"\${ef: -4}\" = 9000 ] && [ \${#IMSI} = 15 ]"
PK=$(jget '["auth"]["k"]' <$P1) POPC=$(jget '["auth"]["opc"]' <$P1)
IND_BITS=$(jget '["sqn"]["ind_bits"]' <$P1)

# The network: osmo-hlr with the subscriber as the export gives it.
echo "# $(osmo-hlr --version 2>&1 | grep -m1 -i version)"
t "osmo-hlr starts (GSUP $HLR_GSUP_PORT, VTY $HLR_VTY_PORT, CTRL $HLR_CTRL_PORT on 127.0.0.1)" \
	"hlr_start $dir/hlr"
cat >"$dir/export.vty" <<EOF
# mcim-operator export --format osmo-hlr (docs/package-format.md section 6)
subscriber imsi $IMSI create
subscriber imsi $IMSI update aud3g milenage k $PK opc $POPC ind-bitlen $IND_BITS
subscriber imsi $IMSI update msisdn 4915550100
EOF
t "the export loads through the VTY" "hlr_vty_load $dir/export.vty >$dir/load.out"
hlr_vty "subscriber imsi $IMSI show" >"$dir/show.out"
t "osmo-hlr shows the subscriber with the profile's K, OPc and IND bits" \
	"grep -q 'K=$PK' $dir/show.out && grep -q 'OPC=$POPC' $dir/show.out && grep -q 'IND-bitlen=$IND_BITS' $dir/show.out"
t "loading it again is refused (subscriber exists, exit 1)" \
	"! hlr_vty_load $dir/export.vty >/dev/null 2>$dir/again.err && grep -q 'already exists' $dir/again.err"

# One vector.
t "SendAuthInfo: one vector" "sai && [ \$(wc -l <$dir/sai.txt) = 1 ]"
check_vector 0 "vector 1 (SQN $(hlr_sqn $IMSI))"

# Two vectors in a row, used in order: each SQN above the last.
t "SendAuthInfo --num 2: two vectors" "sai --num 2 && [ \$(wc -l <$dir/sai.txt) = 2 ]"
check_vector 0 "vector 2"
check_vector 1 "vector 3 (SQN $(hlr_sqn $IMSI))"
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "vector 2 again: a replay, refused with a sync failure" "[ \"\${rsp:0:4}\" = dc0e ]"

# Two clients (an MSC and an SGSN): osmo-hlr gives each its IND slot, and
# the USIM keeps one SEQ per slot (TS 33.102 C.3.2), so the older vector of
# one client is still accepted after a newer one of the other.
sai
a_rand=$(vec 0 rand) a_autn=$(vec 0 autn) a_xres=$(vec 0 xres) a_sqn=$(hlr_sqn $IMSI)
GSUP_NAME=sgsn-b sai
check_vector 0 "client B's vector (SQN $(hlr_sqn $IMSI))"
card_auth $a_rand $a_autn
t "client A's older vector (SQN $a_sqn, another IND) is still accepted" "card_ok && [ \$res = $a_xres ]"

# Resynchronisation, the USIM ahead: another network (osmo-auc-gen) made
# it accept SQN 2^20 + 1; the HLR's next vector is stale.
sqn_ahead=$(((1 << 20) + 1))
card_auth $RAND "$(autn $sqn_ahead)"
t "a vector for SQN $sqn_ahead from elsewhere is accepted" "card_ok && [ \$res = $RES1 ]"
sai
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "the HLR's next vector (SQN $(hlr_sqn $IMSI)) is refused with a sync failure (AUTS)" \
	"[ \"\${rsp:0:4}\" = dc0e ] && [ \${#rsp} = 36 ]"
auts=${rsp:4:28} rand=$(vec 0 rand)
t "SendAuthInfo with AUTS + RAND: osmo-hlr takes SQN_MS from the AUTS" \
	"sai --auts $auts --rand $rand && [ \$(hlr_sqn $IMSI) -gt $sqn_ahead ]"
check_vector 0 "vector after the resync (SQN $(hlr_sqn $IMSI))"
sai
check_vector 0 "the next vector"

# Resynchronisation, the HLR behind: its database restored from a backup
# taken before any vector.
hlr_sqn $IMSI 0
sai
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "an HLR set back to SQN 0: its vector (SQN $(hlr_sqn $IMSI)) is refused with AUTS" \
	"[ \"\${rsp:0:4}\" = dc0e ]"
auts=${rsp:4:28} rand=$(vec 0 rand)
t "... the AUTS brings it ahead of the USIM again" \
	"sai --auts $auts --rand $rand && [ \$(hlr_sqn $IMSI) -gt $sqn_ahead ]"
check_vector 0 "vector after the second resync"

# Refusals.
bad=${auts:0:27}$(printf %x $((16#${auts:27:1} ^ 1)))
sai --auts $bad --rand $rand; rc=$?
t "a corrupted AUTS: osmo-hlr answers an error (exit $rc)" "[ $rc = 2 ]"
IMSI_KEEP=$IMSI IMSI=001010000000999
sai; rc=$?
t "an unknown IMSI: an error, cause IMSI unknown (exit $rc)" \
	"[ $rc = 2 ] && grep -q 'IMSI unknown' $dir/sai.err && [ ! -s $dir/sai.txt ]"
IMSI=$IMSI_KEEP
"$B/tests/gsup-client" sai 12345x >/dev/null 2>&1; rc=$?
t "gsup-client: a malformed IMSI is a usage error (exit $rc)" "[ $rc = 1 ]"
wrongk=$(printf %x $((16#${PK:0:1} ^ 1)))${PK:1}
hlr_vty "subscriber imsi $IMSI update aud3g milenage k $wrongk opc $POPC ind-bitlen $IND_BITS" >/dev/null
sai
card_auth "$(vec 0 rand)" "$(vec 0 autn)"
t "a wrong K in the HLR: the USIM answers a MAC failure (9862)" "[ \"\$rsp\" = 9862 ]"

# The JSON form (the default): the members and their lengths (TS 33.102 6.3.2).
"$B/tests/gsup-client" --port $HLR_GSUP_PORT sai $IMSI --num 5 >$dir/sai.json
t "gsup-client's JSON: 5 vectors of RAND, AUTN, XRES, CK, IK, Kc, SRES (16, 16, 8, 16, 16, 8, 4 bytes)" \
	"python3 - $dir/sai.json $IMSI <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = {'rand': 16, 'autn': 16, 'xres': 8, 'ck': 16, 'ik': 16, 'kc': 8, 'sres': 4}
got = [{k: len(bytes.fromhex(x)) for k, x in v.items()} for v in d['vectors']]
sys.exit(not (d['imsi'] == sys.argv[2] and got == [want] * 5))
EOF"
t "osmo-hlr stops on SIGTERM (exit 0)" "hlr_stop"
sai; rc=$?
t "without an HLR gsup-client reports no answer (exit $rc)" "[ $rc = 3 ]"
# A peer that accepts and never answers: the deadline ends the wait.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 4222)); s.listen(1); c = s.accept(); time.sleep(30)' &
silent=$!
for _ in $(seq 250); do ss -Hltn 'sport = :4222' | grep -q . && break; sleep 0.02; done
s0=$(date +%s%N)
sai --timeout 1; rc=$?
ms=$(( ($(date +%s%N) - s0) / 1000000 ))
kill $silent; wait $silent 2>/dev/null
t "a silent peer: gsup-client gives up after --timeout 1 (exit $rc, $ms ms)" \
	"[ $rc = 3 ] && [ $ms -ge 1000 ] && [ $ms -lt 3000 ] && grep -q 'timed out' $dir/sai.err"
stop_mcimd
echo "# $(( ($(date +%s%N) - t0) / 1000000 )) ms"
if [ $fails != 0 ]; then
	tail -20 "$dir/hlr/hlr.log" | sed 's/^/# osmo-hlr: /'
	tail -20 "$dir/mcimd.log" | sed 's/^/# mcimd: /'
fi
echo "1..$n"
