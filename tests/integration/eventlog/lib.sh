# Shared by the eventlog test scripts: TAP helpers and PCR listings in the
# "BANK:PCR HEX" form of tests/lib/evlog-build and evlog-replay.
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
t() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
done_testing() { echo "1..$n"; exit $failed; }

# yaml_pcrs [--eventlog] < YAML: the PCR values of tpm2_pcrread's output or
# of tpm2_eventlog's "pcrs:" section, sorted.
yaml_pcrs() {
	awk -v skip="${1:+1}" '
		skip && /^pcrs:/ { skip = 0; next }
		skip { next }
		/^  [a-z0-9_]+:/ { bank = $1; sub(":", "", bank) }
		/^    [0-9]+ *:/ { pcr = $1; sub(":", "", pcr); v = $NF; sub("0x", "", v)
			print bank ":" pcr " " tolower(v) }' | sort
}

# pcrread_for < LISTING: tpm2_pcrread of exactly the PCRs a listing names.
pcrread_for() {
	local sel
	sel=$(awk '{ split($1, a, ":"); s[a[1]] = s[a[1]] (s[a[1]] ? "," : "") a[2] }
		END { for (b in s) printf "%s%s:%s", (n++ ? "+" : ""), b, s[b] }')
	tpm2_pcrread "$sel" | yaml_pcrs
}
