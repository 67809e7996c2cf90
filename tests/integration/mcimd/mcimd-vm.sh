#!/usr/bin/env bash
# mcimd serving a vusim.ko slot from the TPM, in the test VM
# (tests/kernel/vm-run --tpm: swtpm as tpm-tis, /dev/tpmrm0): the modem
# side (vusim-modem on /dev/vusim0) reads EF.IMSI and authenticates with
# TS 35.208 set 1 (RES checked, replay refused), a file update seen
# through REFRESH and through a card reset, mcimd restarts (SIGTERM,
# then kill -9) with the card removed and inserted again and the SQN state
# intact, the GSMTAP trace sees the commands, tamper removes the card.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
if [ -z "${VM:-}" ]; then
	for x in $B/bin/mcimd $B/bin/mcimctl $B/bin/vusim-modem kernel/vusim.ko; do
		[ -e "$x" ] || { echo "not built: $x"; exit 77; }
	done
	for x in qemu-system-x86_64 swtpm osmo-auc-gen; do
		command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
	done
	exec tests/kernel/vm-run --tpm --name mcimd-vm --timeout 400 -- "$0" "$@"
fi

dir=$(mktemp -d /tmp/mcimd-vm.XXXXXX)
MCIM_TEST_TCTI=device:/dev/tpmrm0
. tests/integration/mcimd/lib.sh
n=0
MODEM="$B/bin/vusim-modem -s 0"
# vusim-modem apdu: the response lines ("< xx xx ...") as one hex string
rsp() { sed -n 's/^< //p' | tr -d ' \n'; }

insmod kernel/vusim.ko || { echo "not ok 1 - insmod vusim.ko"; exit 1; }
write_conf "$dir/mcimd.conf" 1 "[trace]
enabled = yes
target = 127.0.0.1:4729"
# The GSMTAP trace, caught on loopback (the guest's lo starts down).
ip link set lo up 2>/dev/null || busybox ip link set lo up
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 4729))
f = open(sys.argv[1], "w")
while True:
    d = s.recv(4096); f.write(d.hex() + "\n"); f.flush()' "$dir/gsmtap.txt" &
sniffer=$!
for _ in $(seq 600); do [ -e "$dir/gsmtap.txt" ] && break; sleep 0.1; done
[ -e "$dir/gsmtap.txt" ] || echo "# the GSMTAP listener did not start"
t "mcimd starts with /dev/tpmrm0 and the vusim driver" "start_mcimd $dir/mcimd.conf"
t "slot 0 is /dev/vusim0, empty" "CTL slot list | grep -q '/dev/vusim0 *absent'"
t "install --enable: the card is inserted" "CTL profile install --enable $P1 >/dev/null && $MODEM wait --for inserted --timeout 5000 >/dev/null"
t "slot list shows the card" "CTL slot list | grep -q '/dev/vusim0 *present *$P1_ICCID'"
out=$($MODEM apdu 00a4040c10$ADF_USIM 00a4000c026f07 00b0000009 2>&1)
t "the modem reads EF.IMSI 001010123456789" "echo '$out' | grep -q 'IMSI 001010123456789'"
a=$(autn 32)
out=$($MODEM apdu 00a4040c10$ADF_USIM 0088008122""10$RAND""10$a""00 2>&1)
t "AUTHENTICATE from /dev/vusim0 (set 1 RAND): RES $RES1" "[ \"\$(echo '$out' | rsp | cut -c1-20)\" = db08$RES1 ]"
out=$($MODEM apdu 00a4040c10$ADF_USIM 0088008122""10$RAND""10$a""00 2>&1)
t "the same AUTN again: sync failure" "[ \"\$(echo '$out' | rsp | cut -c1-4)\" = dc0e ]"

# Round trip: 50 AUTHENTICATEs (fresh SQNs) through one vusim-modem.
{ echo 00a4040c10$ADF_USIM; for i in $(seq 2 51); do echo 0088008122""10$RAND""10$(autn $((i * 32)))""00; done; } >$dir/auth.txt
c0=$(CTL --json status | jget '["tpm"]["commands"]') u0=$(CTL --json status | jget '["tpm"]["time_us"]')
s0=$(date +%s%N)
out=$($MODEM apdu <$dir/auth.txt 2>&1)
s1=$(date +%s%N)
c1=$(CTL --json status | jget '["tpm"]["commands"]') u1=$(CTL --json status | jget '["tpm"]["time_us"]')
good=$(echo "$out" | grep -c "^< db 08 a5 42 11 d5 e3 ba 50 bf")
t "50 AUTHENTICATEs, all answered with RES ($good)" "[ $good = 50 ]"
echo "# AUTHENTICATE round trip /dev/vusim0 -> mcimd -> TPM -> store commit: mean $(( (s1 - s0) / 51000 )) us (50 auths + 1 select, one process); TPM: $(( (c1 - c0) / 50 )) commands and $(( (u1 - u0) / 50 )) us per authentication"
s0=$(date +%s%N)
{ for i in $(seq 50); do echo 00a4000c026f07; echo 00b0000009; done; } | $MODEM apdu >/dev/null 2>&1
s1=$(date +%s%N)
echo "# SELECT + READ BINARY round trip: mean $(( (s1 - s0) / 50000 )) us per pair"

# Profile switches: removal and insertion, then by proactive REFRESH.
P2=$dir/p2.json P2_ICCID=89001010000000000019
sed -e 's/"98000101000000000081"/"98000101000000000091"/' \
    -e 's/"080910101032547698"/"080910101032547699"/' $P1 >$P2
t "a second profile installs" "CTL profile install $P2 >/dev/null"
CTL profile enable $P2_ICCID >/dev/null
out=$($MODEM apdu 00a40004022fe2 00b000000a 2>&1)
t "switch (no TERMINAL PROFILE): card removed and inserted, the modem reads ICCID $P2_ICCID" \
	"echo '$out' | grep -q 'ICCID $P2_ICCID' && grep -q 'removed (profile switch)' $dir/mcimd.log"
$MODEM apdu 8010000003ffffff >/dev/null 2>&1
CTL profile enable $P1_ICCID >/dev/null
out=$($MODEM apdu --raw 80f2000c00 2>&1)
t "switch after a TERMINAL PROFILE with REFRESH: the card asks for a proactive command (91xx)" \
	"echo '$out' | grep -q 'SW 91' && grep -q 'REFRESH (UICC reset) queued' $dir/mcimd.log"
$MODEM reset cold >/dev/null 2>&1
out=$($MODEM apdu 00a40004022fe2 00b000000a 2>&1)
t "after the terminal's reset the card is $P1_ICCID, without removal" \
	"echo '$out' | grep -q 'ICCID $P1_ICCID' && grep -q 'after the terminal.s reset (REFRESH)' $dir/mcimd.log && [ \$(grep -c 'removed (profile switch)' $dir/mcimd.log) = 1 ]"

# An update of EF.PLMNwAcT (docs/change-format.md 6): with REFRESH in the
# TERMINAL PROFILE the modem fetches the file change notification and reads
# 3F00 7FFF 6F60 again; without, the card is removed and inserted.
plmn() { printf '%s' "$1"; for _ in 1 2 3 4 5 6 7; do printf ffffff0000; done; }
upd_json() { printf '{"files": [{"path": "3F007FFF6F60", "data": "%s"}]}\n' "$(plmn $1)" >$dir/upd.json; }
$MODEM apdu 8010000003ffffff >/dev/null 2>&1
upd_json 62f2104000
out=$(CTL profile update-files $P1_ICCID $dir/upd.json 2>&1)
t "update-files with a REFRESH-capable terminal: $out" "echo '$out' | grep -q 'the card: refresh'"
out=$($MODEM apdu 80f2000c00 2>&1)
t "the modem sees 91xx, fetches the REFRESH (file change notification) and reads EF.PLMNwAcT again" \
	"echo '$out' | grep -q '^REFRESH: file change notification' && echo '$out' | grep -qx 'refreshed 3F007FFF6F60: $(plmn 62f2104000)'"
t "... its TERMINAL RESPONSE reaches mcimd, no card removal" \
	"grep -q 'the terminal performed the REFRESH (result 00)' $dir/mcimd.log && ! grep -q 'removed (files updated' $dir/mcimd.log"
$MODEM reset cold >/dev/null 2>&1
upd_json 62f2204080
out=$(CTL profile update-files $P1_ICCID $dir/upd.json 2>&1)
t "update-files after a reset (no TERMINAL PROFILE): $out" "echo '$out' | grep -q 'the card: reset'"
out=$($MODEM wait --for inserted --timeout 5000 >/dev/null 2>&1; $MODEM apdu 00a4040c10$ADF_USIM 00a4000c026f60 00b0000005 2>&1)
t "... the modem sees the card removed and inserted and reads the new EF.PLMNwAcT (62f2204080)" \
	"grep -q 'removed (files updated)' $dir/mcimd.log && [ \"\$(echo '$out' | rsp)\" = 62f2204080 ]"

stop_mcimd; rc=$?
t "SIGTERM: mcimd exits ($rc) and the modem sees the card removed" "[ $rc = 0 ] && $MODEM wait --for removed --timeout 2000 >/dev/null"
t "restart: the orphaned slot is claimed and the card inserted again" \
	"start_mcimd $dir/mcimd.conf && $MODEM wait --for inserted --timeout 5000 >/dev/null && grep -q 'claimed orphaned slot /dev/vusim0' $dir/mcimd.log"
out=$($MODEM apdu 00a4040c10$ADF_USIM 0088008122""10$RAND""10$(autn $((51 * 32)))""00 2>&1)
t "after the restart SQN $((51 * 32)) (last one answered) is a replay" "[ \"\$(echo '$out' | rsp | cut -c1-4)\" = dc0e ]"
out=$($MODEM apdu 00a4040c10$ADF_USIM 0088008122""10$RAND""10$(autn $((52 * 32)))""00 2>&1)
t "... and SQN $((52 * 32)) authenticates" "[ \"\$(echo '$out' | rsp | cut -c1-20)\" = db08$RES1 ]"
kill -9 $mcimd_pid; wait $mcimd_pid 2>/dev/null
t "kill -9: the modem sees the card removed, no hang" "timeout 5 $MODEM wait --for removed --timeout 2000 >/dev/null"
t "restart after kill -9: card back" "start_mcimd $dir/mcimd.conf && $MODEM wait --for inserted --timeout 5000 >/dev/null"
out=$($MODEM apdu 00a4040c10$ADF_USIM 0088008122""10$RAND""10$(autn $((52 * 32)))""00 2>&1)
t "after kill -9 SQN $((52 * 32)) is a replay" "[ \"\$(echo '$out' | rsp | cut -c1-4)\" = dc0e ]"
sleep 0.2
t "the GSMTAP trace holds AUTHENTICATE and READ BINARY commands" \
	"grep -q '0088008122' $dir/gsmtap.txt && grep -q '00b0000009' $dir/gsmtap.txt" ||
	echo "# $(wc -l <$dir/gsmtap.txt) datagrams; first: $(head -n 1 $dir/gsmtap.txt | cut -c1-80)"
CTL tamper vm-test >/dev/null
t "tamper: the card is removed" "$MODEM wait --for removed --timeout 2000 >/dev/null"
out=$($MODEM apdu 00a4040c10$ADF_USIM 2>&1)
t "tamper: no card to authenticate with" "echo '$out' | grep -q ENOMEDIUM"
stop_mcimd
kill $sniffer 2>/dev/null
rmmod vusim
echo "1..$n"
