# osmo-hlr (Debian 12: 1.5) as the network side of a test (sourced).
#
# osmo-hlr 1.5 listens on fixed ports: GSUP 4222, VTY 4258, CTRL 4259 (its
# configuration sets the address only; `ctrl` / `bind A.B.C.D PORT` is
# refused and a VTY port is ignored).  So a test runs in a private network
# namespace where those ports are its own and loopback is the only network:
#
#   . tests/lib/hlr.sh
#   hlr_netns "$0" "$@"       # first: re-executes the script in its netns
#   hlr_start DIR             # config + empty database in DIR; waits for it
#   hlr_vty_load FILE         # `mcim-operator export --format osmo-hlr` lines
#   "$B/tests/gsup-client" --port $HLR_GSUP_PORT sai IMSI ...
#   hlr_stop                  # also from the script's EXIT trap
#
# Sets HLR_GSUP_PORT, HLR_VTY_PORT, HLR_CTRL_PORT, HLR_DIR, HLR_DB, hlr_pid.
# Needs osmo-hlr, python3, iproute2 (ip, ss), util-linux (unshare, setpriv),
# root for the namespace, and sqlite3 for hlr_sqn; hlr_netns exits 77 (skip)
# with the reason when one is missing.

HLR_GSUP_PORT=4222
HLR_VTY_PORT=4258
HLR_CTRL_PORT=4259
hlr_pid=
_hlr_lib=$(dirname "${BASH_SOURCE[0]}")

# hlr_netns "$0" "$@": runs the calling script again in a new network
# namespace with loopback up (everything it starts, swtpm included, lives
# there); returns at once when already inside one, and in the test VM
# (VM=1) only brings loopback up.
hlr_netns() {
	local x
	[ -n "${MCIM_HLR_NETNS:-}" ] && return 0
	for x in osmo-hlr python3 ip ss setpriv $([ -n "${VM:-}" ] || echo unshare); do
		command -v $x >/dev/null || { echo "$x is not installed (scripts/install-deps)"; exit 77; }
	done
	if [ -n "${VM:-}" ]; then
		# The test VM (tests/kernel/vm-run) is a machine of its own, and
		# vusim.ko's generic netlink family is in its first namespace only.
		ip link set lo up || return 1
		MCIM_HLR_NETNS=1
		return 0
	fi
	unshare -n true 2>/dev/null || {
		echo "cannot make a network namespace (unshare -n needs root): osmo-hlr's ports are fixed"
		exit 77
	}
	MCIM_HLR_NETNS=1 exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
}

# _hlr_listening: osmo-hlr's three ports all listen.
_hlr_listening() {
	[ "$(ss -Hltn "( sport = :$HLR_GSUP_PORT or sport = :$HLR_VTY_PORT or sport = :$HLR_CTRL_PORT )" |
		wc -l)" = 3 ]
}

# hlr_start DIR: writes DIR/hlr.cfg, starts osmo-hlr on 127.0.0.1 with the
# database DIR/hlr.db (created on the first start, kept across restarts) and
# its log in DIR/hlr.log, and waits until it listens (5 s at most).  Call
# it from the script's own shell, not in $(...): osmo-hlr gets SIGTERM when
# its parent dies (setpriv --pdeathsig), so a killed test leaves none.
hlr_start() {
	HLR_DIR=$1 HLR_DB=$1/hlr.db
	mkdir -p "$HLR_DIR" || return 1
	[ -z "${MCIM_HLR_NETNS:-}" ] && { echo "hlr_start: call hlr_netns first" >&2; return 1; }
	cat >"$HLR_DIR/hlr.cfg" <<-EOF
	log stderr
	 logging filter all 1
	 logging color 0
	 logging print category 1
	line vty
	 bind 127.0.0.1
	ctrl
	 bind 127.0.0.1
	hlr
	 gsup
	  bind ip 127.0.0.1
	EOF
	(cd "$HLR_DIR" && exec setpriv --pdeathsig TERM -- osmo-hlr -c hlr.cfg -l hlr.db) >>"$HLR_DIR/hlr.log" 2>&1 &
	hlr_pid=$!
	for _ in $(seq 250); do
		_hlr_listening && return 0
		kill -0 "$hlr_pid" 2>/dev/null || break
		sleep 0.02
	done
	echo "hlr_start: osmo-hlr did not come up; its log:" >&2
	tail -5 "$HLR_DIR/hlr.log" >&2
	hlr_stop
	return 1
}

# hlr_stop: SIGTERM (osmo-hlr exits 0), SIGKILL after 5 s; returns its status.
hlr_stop() {
	local rc=0
	[ -n "$hlr_pid" ] || return 0
	kill -TERM "$hlr_pid" 2>/dev/null
	for _ in $(seq 250); do
		kill -0 "$hlr_pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -KILL "$hlr_pid" 2>/dev/null
	wait "$hlr_pid" 2>/dev/null || rc=$?
	hlr_pid=
	return $rc
}

# hlr_vty_load FILE: the VTY commands of FILE, stopping at the first error
# (tests/lib/hlr-vty); hlr_vty COMMAND...: one or more commands, replies on
# stdout.
hlr_vty_load() { "$_hlr_lib/hlr-vty" --port $HLR_VTY_PORT "$1"; }
hlr_vty() { "$_hlr_lib/hlr-vty" --port $HLR_VTY_PORT -e "$@"; }

# hlr_sqn IMSI [SQN]: prints the last SQN osmo-hlr used for IMSI (its
# database: osmo-hlr has no command that shows or sets it), or sets it, as
# an HLR restored from an older backup would have it.
hlr_sqn() {
	local q="from subscriber where imsi = '$1'"
	case $1 in *[!0-9]*) echo "hlr_sqn: bad IMSI '$1'" >&2; return 1 ;; esac
	if [ $# = 1 ]; then
		sqlite3 "$HLR_DB" "select sqn from auc_3g where subscriber_id = (select id $q)"
	else
		case $2 in '' | *[!0-9]*) echo "hlr_sqn: bad SQN '$2'" >&2; return 1 ;; esac
		sqlite3 "$HLR_DB" "update auc_3g set sqn = $2 where subscriber_id = (select id $q)"
	fi
}
