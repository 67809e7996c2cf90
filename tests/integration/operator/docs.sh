#!/usr/bin/env bash
# The operator's docs against its code: every error code the handlers send is
# in docs/operator-api.yaml and in docs/operator-protocol.md's table, every
# check of the PVA core is in the protocol's check table, every command has
# its --help and its entry in docs/man/mcim-operator.8.  TAP.
set -u
cd "$(dirname "$0")/../../.." || exit 1
OP=${BUILD:-build}/bin/mcim-operator
n=0 fail=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fail=1; fi; }

codes=$(grep -ohE '(http_error\([^,]+, [0-9]+, |"code", json_object_new_string\()"[a-z_]+"' \
	tools/mcim-operator/*.c | grep -oE '"[a-z_]+"$' | tr -d '"' | sort -u)
# the DPF's refusals (api-dpf.c, dpf.c): refuse(..., STATUS, "code"), the ticket's two
dpf_codes=$(grep -ohE '(refuse\([^;]*, [0-9]{3}, |\*ret_code = |EXPIRED \? |"ticket_expired" : )"[a-z_]+"' \
	tools/mcim-operator/api-dpf.c tools/mcim-operator/dpf.c | grep -oE '"[a-z_]+"$' | tr -d '"' | sort -u)
t "the DPF's error codes are found (at least 14)" "[ \$(printf '%s\n' \$dpf_codes | wc -l) -ge 14 ]"
codes="$codes $dpf_codes"
for c in $(printf '%s\n' $codes validation_failed | sort -u); do
	t "error code $c is in operator-api.yaml and operator-protocol.md" \
		"grep -q '\\b$c\\b' docs/operator-api.yaml && grep -q '| \`$c\` |' docs/operator-protocol.md"
done
checks=$(grep -ohE '(PASS|FAIL)\(v, "[a-z_]+"' tools/mcim-operator/pva.c | grep -oE '"[a-z_]+"' | tr -d '"' | sort -u)
for c in $checks; do
	t "check $c is in operator-protocol.md section 3" "grep -q '^| \`$c\` |' docs/operator-protocol.md"
done
for cmd in serve pki device model sho audit db subscription export package subscriber consent release; do
	t "mcim-operator $cmd --help, and the man page names it" \
		"$OP $cmd --help >/dev/null && grep -q '^\\.B $cmd\\b' docs/man/mcim-operator.8"
done
t "unknown command: exit 2" "$OP frobnicate >/dev/null 2>&1; [ \$? = 2 ]"
echo "1..$n"
exit $fail
