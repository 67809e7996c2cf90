#!/usr/bin/env bash
# lib/eventlog on the real logs of the test VM (tests/kernel/vm-run --tpm,
# booted with ima_policy=tcb ima_template=ima-ng): the SeaBIOS firmware log
# (/sys/kernel/security/tpm0/binary_bios_measurements) replays to the
# guest's PCRs 0-7 and the IMA list (ima/binary_runtime_measurements) to
# PCR 10, in the sha1, sha256, sha384 and sha512 banks, as tpm2_pcrread
# reads them; tpm2_eventlog agrees on the firmware log; and the file digests
# of the IMA list equal sha256sum of those files.  The IMA list grows while we
# read it (every new program is measured): the PCRs are read first, then
# the list, and the longest prefix of the list must replay to PCR 10.
# Group "eventlog".
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
if [ -z "${VM:-}" ]; then
	[ -x "$B/tests/evlog-replay" ] || { echo "not built: $B/tests/evlog-replay"; exit 77; }
	for x in qemu-system-x86_64 swtpm tpm2_pcrread tpm2_eventlog; do
		command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
	done
	exec tests/kernel/vm-run --tpm --name eventlog-vm --timeout 300 \
		--append "ima_policy=tcb ima_template=ima-ng" -- "$0" "$@"
fi
. tests/integration/eventlog/lib.sh
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
R="$B/tests/evlog-replay"
out=$MCIM_OUT
bios=/sys/kernel/security/tpm0/binary_bios_measurements
ima=/sys/kernel/security/ima/binary_runtime_measurements
sel=0,1,2,3,4,5,6,7,10
banks="sha1 sha256 sha384 sha512"

t "the guest has a firmware log and an IMA list" "[ -r $bios ] && [ -r $ima ]"
# Run each program once first, so that IMA has measured it (the tcb policy
# measures a file once): fewer entries arrive between the reads below.
cp $bios "$out/bios.bin"
tpm2_eventlog "$out/bios.bin" >/dev/null 2>&1
$R ima $ima sha1 >/dev/null
tpm2_pcrread "sha1:$sel+sha256:$sel+sha384:$sel+sha512:$sel" >/dev/null

tpm2_pcrread "sha1:$sel+sha256:$sel+sha384:$sel+sha512:$sel" | yaml_pcrs >"$out/pcrs"
t "tpm2_pcrread read PCRs 0-7 and 10 in 4 banks" "[ \$(wc -l <$out/pcrs) = 36 ]"
$R tcg $bios $banks | sort >"$out/ours-tcg"
grep -v ':10 ' "$out/pcrs" >"$out/pcrs-tcg"
t "the firmware log ($(stat -c %s "$out/bios.bin") bytes) replays to PCRs 0-7 in 4 banks" \
	"diff -u $out/pcrs-tcg $out/ours-tcg"
tpm2_eventlog "$out/bios.bin" | yaml_pcrs --eventlog >"$out/oracle"
t "tpm2_eventlog's PCR values of the firmware log equal ours" "diff -u $out/oracle $out/ours-tcg"
if cmp -s "$out/bios.bin" tests/data/seabios-tpm.bin; then
	echo "# the firmware log equals tests/data/seabios-tpm.bin"
else
	echo "# the firmware log differs from tests/data/seabios-tpm.bin (another SeaBIOS or machine?)"
fi
for bank in $banks; do
	want=$(sed -n "s/^$bank:10 //p" "$out/pcrs")
	$R ima $ima $bank --match "$want" >"$out/ima-$bank" 2>&1
	rc=$?
	t "the IMA list replays to PCR 10 in $bank ($(head -n 1 "$out/ima-$bank" | sed 's/^# //'))" \
		"[ $rc = 0 ] && grep -qx '$bank:10 $want' $out/ima-$bank"
done
cat $ima >"$out/ima.bin"
t "every IMA entry is ima-ng, the first is boot_aggregate ($(stat -c %s "$out/ima.bin") bytes)" \
	"$R -v ima $out/ima.bin sha1 | grep '^# entry' >$out/ima-entries &&
	 ! grep -qv ' ima-ng ' $out/ima-entries && head -n 1 $out/ima-entries | grep -q ' boot_aggregate\$'"
# Files are logged as seen from the initial root: vm-run chroots into /mnt.
# "# entry N pcr 10 ima-ng sha256:HEX /mnt/PATH" -> "HEX  /PATH" for sha256sum -c
sed -n 's|^# entry [0-9]* pcr 10 ima-ng sha256:\([0-9a-f]*\) /mnt\(/.*\)$|\1  \2|p' \
	"$out/ima-entries" | sort -u >"$out/sums"
t "the file digest of each of the $(wc -l <"$out/sums") files in the IMA list equals its sha256sum" \
	"[ -s $out/sums ] && sha256sum --quiet -c $out/sums"
done_testing
