#!/bin/sh
# Puts a fresh swtpm in dictionary-attack lockout with tpm2-tools (max tries
# 1, one wrong password on a DA-protected key), then runs test-tre-lockout.
command -v tpm2_dictionarylockout >/dev/null || { echo "tpm2-tools not installed"; exit 77; }
exec tests/lib/with-swtpm -- sh -c '
	set -e
	dir=$(mktemp -d "${TMPDIR:-/tmp}/mcim-lockout.XXXXXX")
	trap "rm -rf \"$dir\"" EXIT
	T=$MCIM_TEST_TCTI
	tpm2_dictionarylockout -T "$T" --setup-parameters --max-tries=1 \
		--recovery-time=600 --lockout-recovery-time=600 >/dev/null
	tpm2_createprimary -T "$T" -C o -p good -c "$dir/p.ctx" >/dev/null
	! tpm2_create -T "$T" -C "$dir/p.ctx" -P bad -G aes -u "$dir/k.pub" \
		-r "$dir/k.priv" >/dev/null 2>&1
	tpm2_flushcontext -T "$T" -t >/dev/null
	"${BUILD:-build}/tests/test-tre-lockout"
'
