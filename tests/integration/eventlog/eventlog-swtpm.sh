#!/usr/bin/env bash
# lib/eventlog against a TPM and tpm2_eventlog: tests/lib/evlog-build writes
# a firmware log and an IMA list (sample.desc) and extends a fresh swtpm's
# PCRs to match; our replay (evlog-replay) must equal the builder's values,
# tpm2_pcrread's and tpm2_eventlog's.  Then the broken variants (a flipped
# digest, a missing event, a truncated record) must either fail to parse or
# replay to values the TPM does not hold.  Group "eventlog".
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
if [ -z "${MCIM_TEST_SWTPM_TCTI:-}" ]; then
	[ -x "$B/tests/evlog-replay" ] || { echo "not built: $B/tests/evlog-replay"; exit 77; }
	for x in swtpm tpm2_pcrextend tpm2_pcrread tpm2_eventlog; do
		command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
	done
	exec tests/lib/with-swtpm -- "$0" "$@"
fi
. tests/integration/eventlog/lib.sh
export TPM2TOOLS_TCTI=$MCIM_TEST_SWTPM_TCTI
dir=$(mktemp -d "${TMPDIR:-/tmp}/eventlog-swtpm.XXXXXX")
trap 'rm -rf "$dir"' EXIT
desc=tests/integration/eventlog/sample.desc
banks="sha1 sha256 sha384 sha512"
R="$B/tests/evlog-replay"
build() { /usr/bin/python3 tests/lib/evlog-build "$@" "$desc"; }

# the intact logs, extended into the TPM
t "evlog-build writes the logs and extends the swtpm" \
	"build --tcg $dir/tcg.bin --ima $dir/ima.bin --extend | sort >$dir/want"
pcrread_for <"$dir/want" >"$dir/tpm"
t "the builder's PCR values equal tpm2_pcrread's ($(wc -l <"$dir/want") PCR values)" \
	"diff -u $dir/want $dir/tpm"
{ $R tcg "$dir/tcg.bin" $banks && $R ima "$dir/ima.bin" $banks; } | sort >"$dir/ours"
t "our replay of both logs equals tpm2_pcrread in 4 banks" "diff -u $dir/tpm $dir/ours"
# tpm2-tools 5.4 extends EV_NO_ACTION events (later versions do not, as
# the PFP 10.4.5 says): the oracle gets the log without them.
grep -v '^noaction' "$desc" >"$dir/oracle.desc"
/usr/bin/python3 tests/lib/evlog-build --tcg "$dir/oracle.bin" "$dir/oracle.desc" >/dev/null
tpm2_eventlog "$dir/oracle.bin" | yaml_pcrs --eventlog >"$dir/oracle"
$R tcg "$dir/oracle.bin" $banks | sort >"$dir/ours-oracle"
t "tpm2_eventlog's PCR values of the firmware log equal ours ($(wc -l <"$dir/oracle") values)" \
	"[ -s $dir/oracle ] && diff -u $dir/oracle $dir/ours-oracle"

# differs LOG PCR: the broken log LOG (tcg-* or ima-*) replays, but exactly
# the 4 banks of PCR differ from the TPM's values
grep -v ':10 ' "$dir/tpm" >"$dir/tpm-tcg"
grep ':10 ' "$dir/tpm" >"$dir/tpm-ima"
differs() {
	local log=$1 pcr=$2 kind=${1%%-*}
	$R "$kind" "$dir/$log.bin" $banks >"$dir/$log.ours" || return 1
	sort -o "$dir/$log.ours" "$dir/$log.ours"
	[ "$(cut -d' ' -f1 "$dir/$log.ours")" = "$(cut -d' ' -f1 "$dir/tpm-$kind")" ] &&
		[ "$(comm -23 "$dir/tpm-$kind" "$dir/$log.ours" | cut -d' ' -f1 | tr '\n' ' ')" = \
			"sha1:$pcr sha256:$pcr sha384:$pcr sha512:$pcr " ]
}
build --tcg "$dir/tcg-flip.bin" --break tcg-flip:1 >/dev/null
t "a flipped digest (event 1, PCR 0) replays to another PCR 0 than the TPM's" "differs tcg-flip 0"
build --tcg "$dir/tcg-drop.bin" --break tcg-drop:5 >/dev/null
t "a missing event (event 5, PCR 4) replays to another PCR 4 than the TPM's" "differs tcg-drop 4"
build --ima "$dir/ima-flip.bin" --break ima-flip:1 >/dev/null
t "a forged IMA entry (file digest changed, template digest recomputed) changes PCR 10" \
	"differs ima-flip 10"
t "  and the forged entry shows another digest for /usr/bin/env" \
	"$R -v ima $dir/ima-flip.bin sha256 | grep -q ' /usr/bin/env\$' &&
	 ! $R -v ima $dir/ima-flip.bin sha256 | grep -q \"sha256:$(printf env-binary | sha256sum | cut -c1-64) /usr/bin/env\" &&
	 $R -v ima $dir/ima.bin sha256 | grep -q \"sha256:$(printf env-binary | sha256sum | cut -c1-64) /usr/bin/env\""
build --ima "$dir/ima-drop.bin" --break ima-drop:2 >/dev/null
t "a missing IMA entry (entry 2) replays to another PCR 10 than the TPM's" "differs ima-drop 10"
for kind in tcg ima; do
	build --$kind "$dir/$kind-trunc.bin" --break $kind-truncate >/dev/null
	$R $kind "$dir/$kind-trunc.bin" sha256 >/dev/null 2>"$dir/$kind-trunc.err"
	rc=$?
	t "a truncated last $kind record is refused as malformed (exit $rc: $(cat "$dir/$kind-trunc.err"))" \
		"[ $rc = 1 ] && grep -q 'at offset' $dir/$kind-trunc.err"
done
done_testing
