#!/usr/bin/env bash
# The GSMTAP trace of the real daemon hides every secret (issue 15,
# finding 5; daemon/mcimd/gsmtap.h): RES, CK, IK, Kc of a 3G AUTHENTICATE,
# SRES and Kc of a GSM-context one, the CK/IK the terminal writes to and
# reads from EF.Keys and EF.KeysPS, the Kc of EF.Kc, and PIN values.
# Each secret is taken from the card's own answer (mcimctl apdu) and must
# appear in no datagram caught on a loopback UDP port.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in osmo-auc-gen python3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-trace.XXXXXX)
mcimd_pid= sniffer=
trap '[ -n "$sniffer" ] && kill $sniffer 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
n=0

# A UDP listener on a free loopback port: one hex line per datagram.
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
out = open(sys.argv[1], "a")
while True:
    d = s.recv(65536)
    out.write(d.hex() + "\n"); out.flush()
' "$dir/trace.hex" >"$dir/port" &
sniffer=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port=$(head -1 "$dir/port")
write_conf "$dir/mcimd.conf" 0
start_mcimd $dir/mcimd.conf && CTL profile install --enable $P1 >/dev/null &&
	CTL trace on 127.0.0.1:$port >/dev/null || { echo "Bail out! setup failed"; exit 1; }
count() { wc -l <"$dir/trace.hex"; }
# absent NAME HEX: HEX occurs in no datagram (and some were caught).
absent() {
	local h=${2,,}
	[ "$(count)" -gt 0 ] && ! grep -q "$h" "$dir/trace.hex"
}
settle() { local c=$(count) _; for _ in $(seq 40); do [ "$(count)" -ge "$1" ] && return; sleep 0.05; done; }

CTL apdu 00a4040c10$ADF_USIM >/dev/null
a=$(autn 32)
r=$(CTL apdu "0088008122""10$RAND""10$a""00")
settle 2
# db 08 RES 10 CK 10 IK 08 Kc 9000
res=${r:4:16} ck=${r:22:32} ik=${r:56:32} kc=${r:90:16}
t "3G AUTHENTICATE answered (RES $res)" "[ \"\${r:0:4}\" = db08 ] && [ ${#kc} = 16 ]"
t "3G: RES is not in the trace" "absent RES $res"
t "3G: CK is not in the trace" "absent CK $ck"
t "3G: IK is not in the trace" "absent IK $ik"
t "3G: Kc is not in the trace" "absent Kc $kc"

r=$(CTL apdu "0088008011""10$RAND""00")
settle 3
# 04 SRES 08 Kc 9000
sres=${r:2:8} kc2=${r:12:16}
t "GSM-context AUTHENTICATE answered (SRES $sres)" "[ \"\${r:0:2}\" = 04 ] && [ \"\${r:10:2}\" = 08 ]"
t "GSM context: SRES is not in the trace" "absent SRES $sres"
t "GSM context: Kc is not in the trace" "absent Kc $kc2"

# The terminal stores CK/IK (KSI || CK || IK, TS 31.102 4.2.4) and Kc.
keys=07a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6
CTL apdu 00a4000c026f08 >/dev/null
r=$(CTL apdu 00d6000021$keys)
t "UPDATE BINARY EF.Keys accepted ($r)" "[ \"$r\" = 9000 ]"
r=$(CTL apdu 00b0000021)
t "READ BINARY EF.Keys gives them back" "[ \"\${r:0:66}\" = $keys ]"
CTL apdu 00a4000c026f09 >/dev/null
r=$(CTL apdu 00d6000021${keys/07a5/03c7})
CTL apdu 00b0000021 >/dev/null
settle 9
t "EF.Keys: the CK written and read is not in the trace" "absent CK a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"
t "EF.Keys: the IK is not in the trace" "absent IK b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6"
t "EF.KeysPS: the CK is not in the trace" "absent CK c7a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"
kcf=d4d4d4d4d4d4d4d402
CTL apdu 00a4000c025f3b >/dev/null
CTL apdu 00a4000c024f20 >/dev/null
r=$(CTL apdu 00d6000009$kcf)
CTL apdu 00b0000009 >/dev/null
settle 13
t "EF.Kc written ($r): its Kc is not in the trace" "absent Kc d4d4d4d4d4d4d4d4"
t "the trace holds the commands (UPDATE BINARY headers)" "grep -q 00d6000021 $dir/trace.hex"
r=$(CTL apdu 0020000108313233340000ffff)
settle 15
t "VERIFY PIN: the PIN is not in the trace" "absent PIN 31323334"
stop_mcimd
echo "1..$n"
