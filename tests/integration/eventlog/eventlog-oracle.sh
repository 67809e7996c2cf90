#!/usr/bin/env bash
# lib/eventlog against tpm2_eventlog (tpm2-tools), the independent oracle, on
# the real SeaBIOS log of the test VM (tests/data/seabios-tpm.bin): both
# replay it to the PCR values the VM's TPM reported (seabios-tpm.pcrs), in
# all 4 banks.  And the rules where tpm2-tools 5.4 departs from the PC Client
# PFP (it extends EV_NO_ACTION events and ignores StartupLocality, 10.4.5):
# there our values are checked against ones computed here by hand.
# Group "eventlog".
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
[ -x "$B/tests/evlog-replay" ] || { echo "not built: $B/tests/evlog-replay"; exit 77; }
command -v tpm2_eventlog >/dev/null || { echo "tpm2_eventlog is not installed"; exit 77; }
. tests/integration/eventlog/lib.sh
R="$B/tests/evlog-replay"
dir=$(mktemp -d "${TMPDIR:-/tmp}/eventlog-oracle.XXXXXX")
trap 'rm -rf "$dir"' EXIT
log=tests/data/seabios-tpm.bin

$R tcg $log sha1 sha256 sha384 sha512 | sort >"$dir/ours"
tpm2_eventlog $log >"$dir/yaml"
rc=$?
t "tpm2_eventlog parses the SeaBIOS log" "[ $rc = 0 ]"
yaml_pcrs --eventlog <"$dir/yaml" >"$dir/oracle"
t "tpm2_eventlog's PCR values equal ours ($(wc -l <"$dir/oracle") values, 4 banks)" \
	"[ -s $dir/oracle ] && diff -u $dir/oracle $dir/ours"
sort tests/data/seabios-tpm.pcrs >"$dir/tpm"
t "ours equal the VM's tpm2_pcrread" "diff -u $dir/tpm $dir/ours"
t "tpm2_eventlog lists the same 15 events" \
	"[ \$(grep -c '^- EventNum:' $dir/yaml) = 15 ] && [ \$($R -v tcg $log sha1 | grep -c '^# event') = 15 ]"

# StartupLocality 3, then a separator in PCR 0: PCR 0 = H(0...03 || H(ffffffff))
printf 'banks sha1 sha256\nlocality 3\nevent 0 EV_SEPARATOR hex:ffffffff\nnoaction 5 ignored\n' |
	/usr/bin/python3 tests/lib/evlog-build --tcg "$dir/loc.bin" - >"$dir/loc.want"
/usr/bin/python3 - "$dir/loc.hand" <<'PY'
import hashlib, sys
out = open(sys.argv[1], "w")
for bank, size in (("sha1", 20), ("sha256", 32)):
    H = lambda b: hashlib.new(bank, b).digest()
    pcr0 = H(bytes(size - 1) + b"\x03" + H(b"\xff" * 4))
    out.write(f"{bank}:0 {pcr0.hex()}\n")
PY
$R tcg "$dir/loc.bin" sha1 sha256 >"$dir/loc.ours"
t "StartupLocality 3 starts PCR 0 at 0...03; EV_NO_ACTION is not extended" \
	"diff -u $dir/loc.hand $dir/loc.ours && diff -u $dir/loc.want $dir/loc.ours"
done_testing
