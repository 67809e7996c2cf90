#!/usr/bin/env bash
# `make bench` entry for mcim-operator: the fleet import through the real
# command line, the DPF's per-package cost, then the PVA's per-validation cost
# (bench-operator.c).
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
N=${OPERATOR_IMPORT_DEVICES:-100000}
d=$(mktemp -d "${TMPDIR:-/tmp}/bench-op.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
"$B/tests/bench-operator" fleet "$d" "$N" || exit 1
cat >"$d/op.conf" <<EOC
[store]
url = sqlite:$d/op.db
[pki]
dir = $d/pki
[drf]
manufacturers = $d/mfr
EOC
out=$("$B/bin/mcim-operator" -c "$d/op.conf" --json device import "$d/fleet.csv") || exit 1
secs=$(python3 -c 'import json,sys; print("%.2f" % json.loads(sys.argv[1])["seconds"])' "$out")
echo "bench operator.import_${N%000}k_s $secs s"
echo "# $(nproc) CPUs; the import checks certificates on one thread per CPU"
"$B/tests/bench-operator" certfloor "$d" 2000
python3 -c 'import sys; print("# target < 10 s for 100,000 devices (each EK certificate chain verified): %s" % ("met" if float(sys.argv[1]) < 10 else "MISSED"))' "$secs"
"$B/tests/bench-operator" packages "${OPERATOR_PACKAGES:-2000}" || exit 1
exec tests/lib/with-swtpm --ek-cert -- "$B/tests/bench-operator" validate "${OPERATOR_VALIDATIONS:-2000}"
