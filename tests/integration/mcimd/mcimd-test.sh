#!/usr/bin/env bash
# mcimd's main program on the host: --check-config, readiness through
# NOTIFY_SOCKET, the control socket (through mcimctl) over a store that
# tests/integration/store's driver filled, SIGHUP reload (good and bad
# file), SIGTERM clean shutdown.
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/notify-recv $B/tests/store-crash; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
dir=$(mktemp -d /tmp/mcimd-test.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
t() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
CTL="$B/bin/mcimctl -s $dir/control"

conf() {
	cat >"$dir/mcimd.conf" <<EOC
[store]
path = $dir/store.db
[control]
socket = $dir/control
group = root
admin_group = root
[tamper]
input = $dir/event0
key = 0x1f0
[log]
level = $1
EOC
}
conf info
mkfifo "$dir/event0"

# The documentation lists what the code accepts: every key of config.c's
# table in mcimd.conf(5) and the example file, every method of control.c
# in docs/control-api.md.
missing=
while read -r sec key; do
	grep -q "^\.SH \[$sec\]" docs/man/mcimd.conf.5 &&
		grep -q "^\.BR .*\b$key\b" docs/man/mcimd.conf.5 &&
		grep -q "^#$key =" daemon/mcimd/mcimd.conf.example || missing="$missing [$sec] $key"
done < <(sed -n 's/^\t{ "\([a-z]*\)", "\([a-z_]*\)", s_[a-z_]* },$/\1 \2/p' daemon/mcimd/config.c)
t "every configuration key is in mcimd.conf(5) and the example${missing:+ (missing:$missing)}" "[ -z '$missing' ]"
missing=
for m in $(sed -n 's/^\t\[CONTROL_[A-Z_]*\] = { "\([a-z.]*\)", .*/\1/p' daemon/mcimd/control.c); do
	grep -q "^| \`$m\` |" docs/control-api.md || missing="$missing $m"
done
t "every control method is in docs/control-api.md${missing:+ (missing:$missing)}" "[ -z '$missing' ]"
t "--check-config accepts a good file" "$B/bin/mcimd -c $dir/mcimd.conf --check-config >/dev/null"
# The example names the groups of an installed system (sysusers.d): where
# group mcimd does not exist, that must be the one complaint.
check_example() {
	local msg rc
	msg=$($B/bin/mcimd -c "$1" --check-config 2>&1 >/dev/null); rc=$?
	if getent group mcimd >/dev/null; then
		[ $rc = 0 ]
	else
		[ $rc = 1 ] && [ "$msg" = "mcimd: $1: [control] group: no group 'mcimd'" ]
	fi
}
t "the example configuration is valid" "check_example daemon/mcimd/mcimd.conf.example"
sed 's/^#\([a-z_]* =\)/\1/' daemon/mcimd/mcimd.conf.example >"$dir/all.conf"
t "... and so are all its defaults uncommented" "check_example $dir/all.conf"
sed 's/^group = .*/group = no-such-group-x/' "$dir/mcimd.conf" >"$dir/nogroup.conf"
msg=$($B/bin/mcimd -c "$dir/nogroup.conf" --check-config 2>&1); rc=$?
t "--check-config refuses a [control] group that does not exist (exit $rc)" \
	"[ $rc = 1 ] && [[ \"\$msg\" == *\"[control] group: no group 'no-such-group-x'\"* ]]"
printf '[slots]\ncount = 99\n' >"$dir/bad.conf"
msg=$($B/bin/mcimd -c "$dir/bad.conf" --check-config 2>&1); rc=$?
t "--check-config refuses a bad file, naming file:line [section] key" \
	"[ $rc = 1 ] && [[ \"\$msg\" == *'bad.conf:2: [slots] count: 99 is out of range 0..8'* ]]"

# A store with profiles in it (the crash driver's, killed after 0.4 s).
{ $B/tests/store-crash run "$dir/store.db" "$dir/log" 1 >/dev/null & p=$!; sleep 0.4; kill -9 $p; wait $p; } 2>/dev/null
nprof=$($B/tests/store-crash check "$dir/store.db" "$dir/log" | sed -n 's/^consistent: \([0-9]*\) profiles.*/\1/p')

$B/tests/notify-recv "$dir/notify" 30 >"$dir/notify.out" & pids+=($!)
for _ in $(seq 50); do [ -S "$dir/notify" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$dir/notify $B/bin/mcimd -c "$dir/mcimd.conf" 2>"$dir/mcimd.log" & mcimd=$!; pids+=($mcimd)
for _ in $(seq 100); do grep -q READY=1 "$dir/notify.out" && break; sleep 0.05; done
t "READY=1 sent to NOTIFY_SOCKET" "grep -q '^READY=1;STATUS=' '$dir/notify.out'"
t "control socket is a socket, mode 0660" "[ -S $dir/control ] && [ \$(stat -c %a $dir/control) = 660 ]"
out=$($CTL status)
t "mcimctl status answers" "[[ \"\$out\" == *'version: 0.1.0'* && \"\$out\" == *'log_level: info'* ]]"
count=$($CTL profile list | tail -n +2 | wc -l)
t "profile list shows the store's $nprof profiles" "[ -n '$nprof' ] && [ '$count' = '$nprof' ]"
iccid=$($CTL --json profile list | grep -o '"iccid":"[0-9]*"' | head -1 | cut -d'"' -f4)
$CTL profile enable $iccid >/dev/null 2>$dir/enable.err; rc=$?
t "profile enable without a TPM: enabled, exit 7 (no card) with the reason" \
	"[ $rc = 7 ] && grep -q 'is enabled, but its card is not served: no TPM' $dir/enable.err && $CTL status | grep -qx 'enabled_profile: $iccid'"
t "profile show" "$CTL profile show $iccid | grep -qx 'state: enabled'"
t "profile disable" "$CTL profile disable $iccid >/dev/null && $CTL status | grep -qx 'enabled_profile: -'"
$CTL profile show 1234 >/dev/null 2>&1; rc=$?
t "unknown profile: exit 5" "[ $rc = 5 ]"
$CTL apdu 00a40004023f00 >/dev/null 2>"$dir/err"; rc=$?
t "apdu without a TPM: no card, exit 1" "[ $rc = 1 ] && grep -q 'has no card' '$dir/err'"
t "trace on / off" "$CTL trace on 127.0.0.1:4729 | grep -qx 'tracing to 127.0.0.1:4729' && $CTL trace off >/dev/null"
$CTL trace on 192.0.2.1 >/dev/null 2>&1; rc=$?
t "trace to a remote address refused" "[ $rc != 0 ]"
t "profile delete" "$CTL profile delete $iccid >/dev/null && ! $CTL profile show $iccid >/dev/null 2>&1"

# A tamper switch event (struct input_event: 16 bytes of time, type EV_SW 5,
# code 0x1f0, value 1) on the configured input.
exec 7>"$dir/event0"
printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\005\000\360\001\001\0\0\0' >&7
for _ in $(seq 50); do grep -q TAMPER "$dir/mcimd.log" && break; sleep 0.05; done
t "a tamper input event is logged" "grep -q 'TAMPER: tamper input $dir/event0: switch 496' '$dir/mcimd.log'"
exec 7>&-

conf debug
kill -HUP $mcimd
for _ in $(seq 50); do $CTL status | grep -qx 'log_level: debug' && break; sleep 0.05; done
t "SIGHUP reloads (log level debug)" "$CTL status | grep -qx 'log_level: debug'"
# The notification listener writes its file on its own time: wait for it.
for _ in $(seq 100); do grep -q '^RELOADING=1$' "$dir/notify.out" && break; sleep 0.05; done
t "RELOADING=1 then READY=1" "grep -q '^RELOADING=1$' '$dir/notify.out'"
printf '[log]\nlevel = loud\n' >"$dir/mcimd.conf"
kill -HUP $mcimd
for _ in $(seq 50); do grep -q 'reload refused' "$dir/mcimd.log" && break; sleep 0.05; done
t "a bad file on SIGHUP is refused, the daemon keeps serving" \
	"grep -q 'reload refused.*level' '$dir/mcimd.log' && $CTL status | grep -qx 'log_level: debug'"
kill -TERM $mcimd
wait $mcimd; rc=$?
t "SIGTERM: exit 0" "[ $rc = 0 ]"
t "STOPPING=1 sent" "grep -q '^STOPPING=1$' '$dir/notify.out'"
t "control socket removed" "[ ! -e $dir/control ]"
tampers=$($B/tests/store-crash audit "$dir/store.db" tamper)
t "the store is intact (store_check)" "[ -n '$tampers' ]"
t "the tamper events (switch, input gone) are in the audit log" "[ '$tampers' = 2 ]"
echo "1..$n"
