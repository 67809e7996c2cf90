# Shared by the package tests (sourced after tests/integration/mcimd/lib.sh):
# a test operator PKI, the registration and ticket that mcimd's operator
# client would have stored, this TPM's EK name and PCR values, and pkg-forge.
# Needs: B, dir, MCIM_TEST_TCTI (tabrmd: tpm2-tools beside mcimd), P1.
FORGE=$B/tests/pkg-forge
P=$dir/pki
export TPM2TOOLS_TCTI=$MCIM_TEST_TCTI
KP=2.25.100283043871109241917352944415068407155.2

# The operator's PKI: a root the device pins, the DPF's certificate with the
# package-signing EKU, one without it, and a DPF under another root.
pki() {
	local d=$dir/pki
	mkdir -p $d
	for k in root dpf other-root other-dpf policy; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $d/$k.key 2>/dev/null || return 1
	done
	for r in root other-root; do
		openssl req -x509 -new -key $d/$r.key -subj "/CN=$r" -days 30 \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign -out $d/$r.pem 2>/dev/null || return 1
	done
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' $KP >$d/dpf.ext
	printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >$d/noeku.ext
	sign() { # KEY CA EXT OUT
		openssl req -new -key $d/$1.key -subj "/CN=$1" 2>/dev/null |
			openssl x509 -req -CA $d/$2.pem -CAkey $d/$2.key -CAcreateserial -days 10 \
				-extfile $d/$3.ext -out $d/$4.pem 2>/dev/null
	}
	sign dpf root dpf dpf && sign dpf root noeku dpf-noeku && sign other-dpf other-root dpf other-dpf
}

# fake_registration: with mcimd stopped, the device blobs that registration
# and validation leave (provision-test.sh tests those against the test
# operator); DEV gets the device id.
fake_registration() {
	DEV=$(head -c 32 /dev/urandom | xxd -p -c 64)
	sqlite3 $dir/store.db "INSERT INTO device_blobs(kind, data) VALUES
	 ('provision.registration', CAST('{\"device_id\":\"$DEV\",\"sho\":{\"id\":\"sho-a\",\"name\":\"A\"},\"pva_url\":\"https://127.0.0.1:1/\",\"dpf_url\":\"https://127.0.0.1:1/\",\"ek\":\"ecc\"}' AS BLOB)),
	 ('provision.ticket', CAST('{\"ticket\":\"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\",\"expires\":$(( $(date +%s) + 3600 )),\"device_id\":\"$DEV\",\"dpf_url\":\"https://127.0.0.1:1/\",\"mode\":\"remote\"}' AS BLOB))"
}

# device_facts: EK (its name, hex) and the key PCRs' values ($dir/pcrs.bin).
device_facts() {
	tpm2_createek -G ecc -c $dir/ek.ctx -u $dir/ek.pub >/dev/null 2>&1 &&
		tpm2_readpublic -c $dir/ek.ctx -n $dir/ek.name >/dev/null 2>&1 && tpm2_flushcontext -t >/dev/null 2>&1
	EK=$(xxd -p -c 256 $dir/ek.name)
	tpm2_pcrread sha256:0,2,4,7,23 -o $dir/pcrs.bin >/dev/null 2>&1
}

# forge OUT [pkg-forge options]: a package of $PROFILE (default $P1) for
# this device's request $dir/req.json.
forge() {
	local out=$1
	shift
	$FORGE --request $dir/req.json --profile ${PROFILE:-$P1} --device $DEV --ek-name $EK \
		--key $P/dpf.key --cert $P/dpf.pem --policy-key $P/policy.key \
		--pcr-values $dir/pcrs.bin --out $out "$@" >/dev/null
}
nv() { # the generation counter's value
	local auth
	auth=$(sqlite3 $dir/store.db "SELECT lower(hex(data)) FROM device_blobs WHERE kind = 'nv-auth'")
	tpm2_nvread 0x01800a01 -C 0x01800a01 -P hex:$auth 2>/dev/null | xxd -p
}
