# The card and the HLR in a test (sourced after tests/lib/hlr.sh and
# tests/integration/mcimd/lib.sh): osmo-hlr's vectors over GSUP and the
# card's answers.  Uses $B, $dir, $IMSI, t(); $vm set: the card on
# /dev/vusim0 through vusim-modem, else mcimctl's `apdu` method.

# sai ARGS...: SendAuthInfo for $IMSI; the vectors in $dir/sai.txt, one a
# line (gsup-client --text: RAND AUTN XRES CK IK Kc SRES).
sai() {
	"$B/tests/gsup-client" --port $HLR_GSUP_PORT --name "${GSUP_NAME:-msc-a}" --text \
		sai "$IMSI" "$@" >"$dir/sai.txt" 2>"$dir/sai.err"
}
# vec I FIELD: a member of vector I of the last answer.
vec() {
	local -a v
	local -A at=([rand]=0 [autn]=1 [xres]=2 [ck]=3 [ik]=4 [kc]=5 [sres]=6)
	read -ra v <<<"$(sed -n "$(($1 + 1))p" "$dir/sai.txt")"
	echo "${v[${at[$2]}]:-}"
}

# card APDU...: sends the command APDUs to the card and prints the last
# answer (data and status word) in hex.
card() {
	if [ -n "$vm" ]; then
		# vusim-modem answers 61xx with GET RESPONSE, as a T=0 modem
		# does; its text: "> command", "< data" (and "  data" lines),
		# "  SW xx xx: words" (python's start is slow under TCG).
		"$B/bin/vusim-modem" -s 0 apdu "$@" | awk '
			/^> / { r = "" }
			/^< / || /^  [0-9a-f][0-9a-f]( [0-9a-f][0-9a-f])*$/ { sub(/^[<] /, ""); r = r $0 }
			/^  SW / { r = r $2 $3 }
			END { gsub(/[ :]/, "", r); print r }'
	else
		while [ $# -gt 1 ]; do CTL apdu "$1" >/dev/null || return 1; shift; done
		CTL apdu "$1"
	fi
}

# card_auth RAND AUTN: SELECT ADF.USIM, AUTHENTICATE in the 3G context
# (TS 31.102 7.1.2); the answer's hex in $rsp.
card_auth() { rsp=$(card "00a4040c10$ADF_USIM" "0088008122""10$1""10$2""00"); }

# card_ok: $rsp is a successful answer (TS 31.102 7.1.2.1: 'DB', then RES,
# CK, IK and Kc each after its length, then 9000); sets res, ck, ik, kc.
card_ok() {
	local r=${rsp:2} l v
	res= ck= ik= kc=
	[ "${rsp:0:2}" = db ] || return 1
	for v in res ck ik kc; do
		[ ${#r} -gt 4 ] || break
		l=$((16#${r:0:2} * 2))
		printf -v $v %s "${r:2:l}"
		r=${r:2+l}
	done
	[ "$r" = 9000 ]
}

# check_vector I WHAT: vector I of the last answer through the card; test
# points for RES == XRES and the same CK, IK (and Kc when the card gives it).
check_vector() {
	card_auth "$(vec $1 rand)" "$(vec $1 autn)"
	t "$2: the USIM accepts it, RES == XRES $(vec $1 xres)" "card_ok && [ \$res = \$(vec $1 xres) ]"
	t "$2: CK and IK as osmo-hlr's" "[ \"\$ck\" = \$(vec $1 ck) ] && [ \"\$ik\" = \$(vec $1 ik) ]"
	[ -z "$kc" ] || t "$2: Kc as osmo-hlr's" "[ \$kc = \$(vec $1 kc) ]"
}

