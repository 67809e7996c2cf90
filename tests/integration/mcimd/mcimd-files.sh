#!/usr/bin/env bash
# Updates of a profile's files (docs/change-format.md 6, kind `files`;
# profile.update_files, daemon/mcimd/files.c) against the real mcimd on
# swtpm, the card detached ([slots] count = 0: the `apdu` method plays the
# terminal):
#   - a terminal without TERMINAL PROFILE, and one whose TERMINAL PROFILE
#     lacks REFRESH (byte 3 b8): the card is removed and inserted, READ
#     BINARY gives the new bytes;
#   - a terminal with REFRESH: 91XX, FETCH gives a REFRESH (TS 102 223
#     6.6.13) in mode 1 whose file list (8.18) names exactly 3F00 7FFF 6F60
#     with the USIM's AID (8.60), READ BINARY gives the new bytes, TERMINAL
#     RESPONSE as today; a result "unable" gets the card reset;
#   - a record EF (EF.OPL) and a DF.GSM file (3F00 7F20 6F7B);
#   - refusals (EF.IMSI, a path not in the profile, a bad path, a wrong
#     size, every record not given, not admin) leave the store as it was;
#   - the contents survive a restart;
#   - kill -9 of mcimd at random points of a stream of updates of two
#     files at once: after each restart both hold the old or both the new
#     contents, never a mix, and the card serves the store's (FILES_KILLS,
#     default 20).  KEEP=1 keeps the scratch directory.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in sqlite3 setpriv; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
# tpm2-abrmd: a killed mcimd leaves no objects or sessions in the TPM.
[ -n "${MCIM_TEST_TCTI:-}" ] || exec tests/lib/with-swtpm --tabrmd -- "$0" "$@"
dir=$(mktemp -d /tmp/mcimd-files.XXXXXX)
mcimd_pid= writer=
trap '[ -n "$writer" ] && kill -9 $writer 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
chmod 0755 "$dir" "$dir/bin"
n=0
KILLS=${FILES_KILLS:-20}

write_conf "$dir/mcimd.conf" 0
# The control group: daemon (gid 1), so that nobody can connect but is no admin.
sed -i 's/^group = root$/group = daemon/' "$dir/mcimd.conf"
AS_USER="setpriv --reuid=65534 --regid=1 --clear-groups"

# upd FILE.json PATH HEX [PATH HEX...]: writes an update description.
upd() {
	local f=$1 sep=
	shift
	{
		printf '{"files": ['
		while [ $# -ge 2 ]; do
			printf '%s{"path": "%s", "data": "%s"}' "$sep" "$1" "$2"
			sep=', '
			shift 2
		done
		printf ']}\n'
	} >"$f"
	chmod 0644 "$f"
}
# The store's contents of a transparent EF / a record EF (path text).
ef() { sqlite3 "$dir/store.db" "SELECT lower(hex(data)) FROM files WHERE path = '$1'"; }
recs() {
	sqlite3 "$dir/store.db" "SELECT lower(hex(r.data)) FROM records r JOIN files f
		ON f.profile_id = r.profile_id AND f.idx = r.idx WHERE f.path = '$1'
		ORDER BY r.recno" | tr -d '\n'
}
# Every EF's contents: what a refusal must leave as it was.
all_files() {
	sqlite3 "$dir/store.db" "SELECT path, hex(data) FROM files; SELECT idx, recno,
		hex(data) FROM records" | md5sum
}
# apdu HEX: the response (data and SW) as hex.
apdu() { CTL --json apdu "$1" | jget '["response"]'; }
# read_usim FID LEN: SELECT ADF.USIM, the EF, READ BINARY.
read_usim() {
	apdu 00a4040c10$ADF_USIM >/dev/null && apdu 00a4000c02$1 >/dev/null &&
		apdu 00b00000$2
}
rep() { local s= i; for i in $(seq "$2"); do s=$s$1; done; echo "$s"; }

PLMN_OLD=$(rep ffffff0000 8)
PLMN_A=62f2104000$(rep ffffff0000 7)     # 262-01, E-UTRAN (TS 31.102 4.2.5)
PLMN_B=62f2204080$(rep ffffff0000 7)
PLMN_C=00f1104000$(rep ffffff0000 7)

start_mcimd "$dir/mcimd.conf" || { echo "Bail out! mcimd does not start"; cat "$dir/mcimd.log"; exit 1; }
CTL profile install --enable $P1 >/dev/null || { echo "Bail out! install"; exit 1; }
t "the test profile's EF.PLMNwAcT in the store" "[ \"\$(ef 3F00/7FFF/6F60)\" = $PLMN_OLD ]"

# 1. No TERMINAL PROFILE: the card is reset.
upd $dir/a.json 3F007FFF6F60 $PLMN_A
out=$(CTL profile update-files $P1_ICCID $dir/a.json 2>&1)
t "no TERMINAL PROFILE: update-files says the card was reset ($out)" "echo '$out' | grep -q 'the card: reset'"
t "... the card was removed and inserted" "grep -q 'removed (files updated)' $dir/mcimd.log"
t "... the store holds the new EF.PLMNwAcT" "[ \"\$(ef 3F00/7FFF/6F60)\" = $PLMN_A ]"
t "... READ BINARY after the reset gives the new bytes" "[ \"\$(read_usim 6f60 28)\" = ${PLMN_A}9000 ]"
t "... audited: files-update 3F00/7FFF/6F60" \
	"sqlite3 $dir/store.db \"SELECT detail FROM audit WHERE event = 'files-update'\" | grep -qx '3F00/7FFF/6F60'"

# 2. A TERMINAL PROFILE without REFRESH (byte 3 b8 clear): reset again.
apdu 8010000003ffff7f >/dev/null
resets=$(grep -c 'removed (files updated)' $dir/mcimd.log)
upd $dir/b.json 3F007FFF6F60 $PLMN_B
out=$(CTL profile update-files $P1_ICCID $dir/b.json 2>&1)
t "TERMINAL PROFILE without REFRESH: the card is reset ($out)" \
	"echo '$out' | grep -q 'the card: reset' && [ \$(grep -c 'removed (files updated)' $dir/mcimd.log) = $((resets + 1)) ]"
t "... READ BINARY gives the new bytes" "[ \"\$(read_usim 6f60 28)\" = ${PLMN_B}9000 ]"

# 3. A terminal with REFRESH: file change notification naming 6F60 only.
apdu 8010000003ffffff >/dev/null
resets=$(grep -c 'removed (files updated)' $dir/mcimd.log)
upd $dir/c.json 3F007FFF6F60 $PLMN_C
out=$(CTL --json profile update-files $P1_ICCID $dir/c.json 2>&1)
t "TERMINAL PROFILE with REFRESH: the answer says refresh" "[ \"\$(echo '$out' | jget '[\"card\"]')\" = refresh ]"
t "... the card was not removed" "[ \$(grep -c 'removed (files updated)' $dir/mcimd.log) = $resets ]"
# 38 bytes: D0 24, details 5, identities 4, file list 2 + 7, AID 2 + 16.
st=$(apdu 80f2000c00)
t "... STATUS answers 9126 (a proactive command of 38 bytes): $st" "[ '${st: -4}' = 9126 ]"
want=d0248103010101820281829207013f007fff6f602f10${ADF_USIM}9000
got=$(apdu 8012000026)
t "... FETCH: REFRESH mode 1, file list 01 3F00 7FFF 6F60, the USIM's AID" "[ '$got' = $want ]" ||
	echo "# got  $got"$'\n'"# want $want"
t "... READ BINARY gives the new bytes before the TERMINAL RESPONSE" "[ \"\$(read_usim 6f60 28)\" = ${PLMN_C}9000 ]"
t "... TERMINAL RESPONSE (performed) accepted" "[ \"\$(apdu 801400000c810301010182028281830100)\" = 9000 ]"
t "... mcimd saw it performed" "grep -q 'the terminal performed the REFRESH (result 00)' $dir/mcimd.log"
t "... and the card was never reset" "[ \$(grep -c 'removed (files updated' $dir/mcimd.log) = $resets ]"

# 4. Two files, a record EF and DF.GSM; the terminal cannot: reset.
OPL_NEW=62f210000000fffe01$(rep ff 7)
upd $dir/d.json 3F007FFF6FC6 $OPL_NEW 3F007F206F7B 62f210$(rep ff 9)
out=$(CTL --json profile update-files $P1_ICCID $dir/d.json 2>&1)
t "EF.OPL (2 records) and DF.GSM's EF.FPLMN: refresh" "[ \"\$(echo '$out' | jget '[\"card\"]')\" = refresh ]"
got=$(apdu 8012000000)
t "... the file list names 3F00 7FFF 6FC6 and 3F00 7F20 6F7B" \
	"echo '$got' | grep -q '^d0..8103010101820281829' && echo '$got' | grep -q '920d023f007fff6fc63f007f206f7b2f10$ADF_USIM'"
t "... the store holds both records and EF.FPLMN" \
	"[ \"\$(recs 3F00/7FFF/6FC6)\" = $OPL_NEW ] && [ \"\$(ef 3F00/7F20/6F7B)\" = 62f210$(rep ff 9) ]"
t "... READ RECORD 2 gives the new record" \
	"apdu 00a4040c10$ADF_USIM >/dev/null && apdu 00a4000c026fc6 >/dev/null && [ \"\$(apdu 00b2020408)\" = ${OPL_NEW:16:16}9000 ]"
resets=$(grep -c 'removed (files updated' $dir/mcimd.log)
apdu 801400000c810301010182028281830120 >/dev/null
sleep 0.3
t "... TERMINAL RESPONSE 'terminal currently unable' (20): the card is reset" \
	"[ \$(grep -c 'removed (files updated' $dir/mcimd.log) = $((resets + 1)) ]"

# 5. Refusals: nothing changes.
before=$(all_files)
refuse() { # WHAT EXIT MESSAGE-PART PATH HEX [PATH HEX]
	local what=$1 want=$2 msg=$3 rc
	shift 3
	upd $dir/r.json "$@"
	CTL profile update-files $P1_ICCID $dir/r.json >/dev/null 2>$dir/err; rc=$?
	t "refused: $what (exit $rc: $(head -c 150 $dir/err))" "[ $rc = $want ] && grep -q '$msg' $dir/err"
}
refuse "EF.IMSI" 4 "files\[0\] (3F007FFF6F07): not a file an update may change" 3F007FFF6F07 080910101032547600
refuse "EF.ICCID" 4 "(3F002FE2): not a file" 3F002FE2 98000101000000000099
refuse "DF.GSM's EF.PLMNwAcT, allowed but not in the profile" 5 "(3F007F206F60): the profile has no such EF" 3F007F206F60 00
refuse "a bad path" 1 "files\[0\].path \"3F007FFF6F6\"" 3F007FFF6F6 00
refuse "a wrong size, the first file good" 1 "files\[1\] (3F007FFF6F60): 39 bytes, the file has 40" \
	3F007FFF6F61 $PLMN_A 3F007FFF6F60 ${PLMN_A:0:78}
refuse "one record of two" 1 "6FC6): 8 bytes, the file has 2 records of 8" 3F007FFF6FC6 ${OPL_NEW:0:16}
refuse "not hex" 1 "files\[0\] (3F007FFF6F60).data: not hex" 3F007FFF6F60 zz
refuse "a file twice" 1 "the same file as files\[0\]" 3F007FFF6F60 $PLMN_A 3F007FFF6F60 $PLMN_B
upd $dir/r.json 3F007FFF6F60 $PLMN_A
$AS_USER "$MCIMCTL" -s "$dir/control" profile update-files $P1_ICCID $dir/r.json >/dev/null 2>$dir/err; rc=$?
t "refused: not admin (exit $rc)" "[ $rc = 4 ] && grep -q 'is for root and the admin group' $dir/err"
t "... every refusal left the store's files as they were" "[ '$(all_files)' = '$before' ]"
t "... and the card's" "[ \"\$(read_usim 6f60 28)\" = ${PLMN_C}9000 ]"

# 6. A restart keeps them.
stop_mcimd
start_mcimd "$dir/mcimd.conf" || { echo "Bail out! restart"; exit 1; }
t "after a restart READ BINARY gives the updated EF.PLMNwAcT" "[ \"\$(read_usim 6f60 28)\" = ${PLMN_C}9000 ]"

# 7. kill -9 during updates of EF.PLMNwAcT and EF.OPL together: update i
# writes i into both.  A writer logs "B i" before and "D i" after each
# answered update; after each kill both files hold the same i, which is the
# last done or the one begun.
pat() { printf '%08x' "$1"; }
writer_loop() {
	local i=$1
	while :; do
		upd $dir/k.json 3F007FFF6F60 $(rep $(pat $i) 10) 3F007FFF6FC6 $(rep $(pat $i) 4)
		echo "B $i" >>$dir/klog
		CTL profile update-files $P1_ICCID $dir/k.json >/dev/null 2>&1 || exit 1
		echo "D $i" >>$dir/klog
		i=$((i + 1))
	done
}
bad=0 mixed=0 inflight=0 i=1
for k in $(seq $KILLS); do
	writer_loop $i & writer=$!
	sleep "0.$(printf '%03d' $((100 + RANDOM % 600)))"
	{ kill -9 $mcimd_pid; wait $mcimd_pid; } 2>/dev/null
	sleep 0.1
	kill -9 $writer 2>/dev/null; wait $writer 2>/dev/null; writer=
	a=$(ef 3F00/7FFF/6F60) b=$(recs 3F00/7FFF/6FC6)
	# The last answered update, and those begun after it (unanswered).
	ok_set=" $(awk '$1 == "D" { s = $2 } $1 == "B" && $2 > s { u = u " " $2 } $1 == "D" { u = "" }
		END { print s u }' $dir/klog) "
	got=$((16#${a:0:8}))
	if [ "$a" != "$(rep ${a:0:8} 10)" ] || [ "$b" != "$(rep ${a:0:8} 4)" ]; then
		mixed=$((mixed + 1)); echo "# kill $k: EF.PLMNwAcT $a, EF.OPL $b: a mix"
	elif [[ "$ok_set" != *" $got "* ]]; then
		bad=$((bad + 1)); echo "# kill $k: update $got in the store; answered last and begun after:$ok_set"
	fi
	last_b=$(sed -n 's/^B //p' $dir/klog | tail -1)
	[ "$got" = "$last_b" ] && [ "$got" != "$(echo $ok_set | cut -d' ' -f1)" ] && inflight=$((inflight + 1))
	i=$((last_b + 1))
	if ! start_mcimd "$dir/mcimd.conf"; then
		bad=$((bad + 1)); echo "# kill $k: mcimd does not start again: $(tail -n 2 $dir/mcimd.log)"; break
	fi
	[ "$(read_usim 6f60 28)" = "${a}9000" ] || { bad=$((bad + 1)); echo "# kill $k: the card does not serve the store's EF.PLMNwAcT"; }
done
answered=$(grep -c '^D ' $dir/klog)
echo "# $KILLS kills, $answered updates answered, $inflight killed updates found committed"
t "kill -9 x $KILLS during updates: both files old or both new, never a mix" "[ $mixed = 0 ]"
t "... never an answered update lost, every restart accepted, the card as the store" "[ $bad = 0 ] && [ $answered -gt 0 ]"
t "the store's integrity" "[ \"\$(sqlite3 $dir/store.db 'PRAGMA integrity_check')\" = ok ]"
stop_mcimd
echo "1..$n"
