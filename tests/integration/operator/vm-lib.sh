# tests/integration/operator/vm-lib.sh: the operator (mcim-operator) and a
# device (op-device, daemon/tre on the guest's TPM) in one test VM, for
# tests/integration/operator/pva-vm.sh and tests/demo/guest.  Sourced, POSIX
# sh, in the project's top directory, in a guest booted by tests/kernel/vm-run
# --tpm --ek-cert --append "ima_policy=tcb ima_template=ima-ng": the device
# sends the guest's real firmware log and IMA list.
#
#   opvm_init STATE KEEP   configuration (KEEP/op.conf) and the trusted
#                          manufacturer (swtpm's local CA) in KEEP, the PKI
#                          in KEEP/pki (made by "op pki init"), the store
#                          and scratch files in STATE
#   opvm_serve             mcim-operator serve on the guest's loopback
#                          (brought up first; OPVM_URL, OPVM_PID)
#   opvm_csv               KEEP/fleet.csv: this TPM's RSA EK certificate,
#                          model gw-1000, subscriber acme-meters
#   opvm_warmup            runs once every program opvm_reference, a
#                          validation and the answer's reading run (a
#                          validation against whatever model is set, if any)
#   opvm_reference VERSION [IMA_ERE [FW_TYPE]]   a remote-mode model of
#                          gw-1000 on stdout, from the logs as they are now:
#                          PCRs 0-7 from the firmware log (firmware_allow: its
#                          SHA-256 event digests), 10 from the IMA list
#                          (ima_allow: its entries but violations), 23 at its
#                          reset value;
#                          without the IMA entries whose path matches IMA_ERE
#                          and the digests of FW_TYPE events (EV_SEPARATOR...)
#   op ARGS / opdev ARGS   mcim-operator / op-device, configured
#   opvm_validate OUT      op-device validate with the real logs; its last
#                          answer in OUT; op-device's exit status
#   opvm_checks OUT / opvm_failures OUT   the passed checks / the failures
#                          of that answer, one line each
#   opvm_stop              stops the server
#
# The IMA list (policy tcb) grows whenever a program runs or root reads a
# file on a measured file system for the first time (tmpfs is not measured).
# The reference values are read from the guest at run time, so everything
# that runs between reading them and a validation must have run once before:
# opvm_warmup, and scratch files in STATE (on /tmp, a tmpfs).  op-device
# reads the IMA list right after its quote (daemon/tre, tre_quote) and the
# PVA replays all of it against the quoted PCR 10: an entry added in between
# would fail "ima_log".
OPVM_BIN=$PWD/${BUILD:-build}
OPVM_BIOS=/sys/kernel/security/tpm0/binary_bios_measurements
OPVM_IMA=/sys/kernel/security/ima/binary_runtime_measurements
OPVM_TCTI=device:/dev/tpmrm0

op() { "$OPVM_BIN/bin/mcim-operator" -c "$OPVM_KEEP/op.conf" "$@"; }
opdev() {
	"$OPVM_BIN/tests/op-device" --tcti "$OPVM_TCTI" --ca "$OPVM_KEEP/pki/root-ca.pem" \
		--url "$OPVM_URL" "$@"
}

opvm_init() {
	OPVM_STATE=$1 OPVM_KEEP=$2
	mkdir -p "$OPVM_STATE" "$OPVM_KEEP/mfr" || return 1
	# The manufacturer: swtpm's local CA, which signed the EK certificates
	# vm-run --ek-cert made on the host before boot.
	cp /var/lib/swtpm-localca/issuercert.pem \
		/var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem "$OPVM_KEEP/mfr/" || return 1
	cat >"$OPVM_KEEP/op.conf" <<EOF
[server]
listen = 127.0.0.1:0
[store]
url = sqlite:$OPVM_STATE/op.db
[pki]
dir = $OPVM_KEEP/pki
[drf]
manufacturers = $OPVM_KEEP/mfr
EOF
}

opvm_serve() {
	ip link set lo up 2>/dev/null || busybox ip link set lo up || return 1
	rm -f "$OPVM_STATE/port"
	"$OPVM_BIN/bin/mcim-operator" -c "$OPVM_KEEP/op.conf" serve \
		--port-file "$OPVM_STATE/port" 2>"$OPVM_STATE/serve.log" &
	OPVM_PID=$!
	for _ in $(seq 200); do [ -s "$OPVM_STATE/port" ] && break; sleep 0.05; done
	[ -s "$OPVM_STATE/port" ] || return 1
	OPVM_URL=https://127.0.0.1:$(cat "$OPVM_STATE/port")
}

opvm_stop() {
	[ -n "${OPVM_PID:-}" ] || return 0
	kill -TERM "$OPVM_PID" && wait "$OPVM_PID"
	OPVM_PID=
}

opvm_csv() {
	TPM2TOOLS_TCTI=$OPVM_TCTI tpm2_nvread 0x01c00002 >"$OPVM_STATE/ek.der" \
		2>"$OPVM_STATE/nvread.err" || { cat "$OPVM_STATE/nvread.err" >&2; return 1; }
	printf 'ek_cert,model,subscriber\n%s,gw-1000,acme-meters\n' \
		"$(base64 -w0 "$OPVM_STATE/ek.der")" >"$OPVM_KEEP/fleet.csv"
}

opvm_reference() {
	"$OPVM_BIN/tests/evlog-replay" -v tcg "$OPVM_BIOS" sha256 >"$OPVM_STATE/ref-tcg" &&
		"$OPVM_BIN/tests/evlog-replay" -v ima "$OPVM_IMA" sha256 >"$OPVM_STATE/ref-ima" ||
		return 1
	# "# event N pcr P TYPE (0xT) HEX LEN bytes" and
	# "# entry N pcr 10 TEMPLATE ALG:HEX PATH[ (violation)]" (evlog-replay.c).
	awk -v version="$1" -v drop_ima="${2:-}" -v drop_fw="${3:-}" '
		function str(s) {
			# Paths are the kernel'"'"'s bytes: no JSON escaping here, so refuse.
			if (s ~ /["\\]|[[:cntrl:]]/) {
				print "opvm_reference: path needs escaping: " s >"/dev/stderr"
				bad = 1
			}
			return "\"" s "\""
		}
		FNR == 1 { file++ }
		file == 1 && $2 == "event" && $NF == "bytes" && $6 != drop_fw && !seen[$(NF - 2)]++ {
			fw = fw (fw ? ", " : "") str($(NF - 2))
		}
		file == 2 && $2 == "entry" {
			path = $0
			sub(/^# entry [0-9]+ pcr [0-9]+ [^ ]+ [^ ]+ /, "", path)
			# A violation commits to nothing: never a reference value.
			if (path ~ / \(violation\)$/ || (drop_ima != "" && path ~ drop_ima))
				next
			ima = ima (ima ? ",\n  " : "") "{\"path\": " str(path) ", \"digest\": " str($7) "}"
		}
		END {
			if (bad)
				exit 1
			printf "{\"model\": \"gw-1000\", \"version\": %d, \"mode\": \"remote\",\n", version
			printf " \"pcrs\": [0, 1, 2, 3, 4, 5, 6, 7, 10, 23],\n"
			printf " \"reference\": {\"23\": \"%064d\"},\n", 0
			printf " \"firmware_allow\": [%s],\n \"ima_allow\": [\n  %s]}\n", fw, ima
		}' "$OPVM_STATE/ref-tcg" "$OPVM_STATE/ref-ima"
}

opvm_validate() {
	opdev validate --tcg-log "$OPVM_BIOS" --ima-log "$OPVM_IMA" >"$OPVM_STATE/answers" \
		2>"$OPVM_STATE/validate.err"
	set -- "$1" $?
	tail -n 1 "$OPVM_STATE/answers" >"$1"
	cat "$OPVM_STATE/validate.err" >>"$1"
	return "$2"
}

opvm_checks() {
	grep -o '{"check":"[a-z_]*","result":"pass"}' "$1" | cut -d'"' -f4
}

# "CHECK: REASON" of each failure (json-c's "\/" unescaped; other JSON
# string escapes left as they are).
opvm_failures() {
	grep -o '{"check":"[a-z_]*","reason":"\([^"\\]\|\\.\)*"}' "$1" |
		sed -e 's/^{"check":"\([a-z_]*\)","reason":"\(.*\)"}$/\1: \2/' -e 's|\\/|/|g'
}

opvm_warmup() {
	opvm_reference 0 >"$OPVM_STATE/warmup.json"
	op model show gw-1000 >/dev/null 2>&1
	opvm_validate "$OPVM_STATE/warmup.answer"
	opvm_checks "$OPVM_STATE/warmup.answer" >/dev/null
	opvm_failures "$OPVM_STATE/warmup.answer" >/dev/null
	TPM2TOOLS_TCTI=$OPVM_TCTI tpm2_pcrread sha256:23 >/dev/null
}
