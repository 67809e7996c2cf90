#!/usr/bin/env bash
# The control socket against a local user of the control group who is not
# an admin (issue 15, finding 7; docs/security.md), mcimd without a TPM:
#   - profile enable / disable are admin-only (each removes the card and
#     writes the TPM's NV);
#   - holding every connection does not lock root out (one is kept for
#     root; a uid holds at most [control] max_clients_per_user);
#   - a silent connection is dropped after [control] idle_timeout;
#   - profile changes are rate-limited ([control] lifecycle_per_hour).
set -u
cd "$(dirname "$0")/../../.."
B=${BUILD:-build}
for x in $B/bin/mcimd $B/bin/mcimctl $B/tests/store-crash; do
	[ -x "$x" ] || { echo "not built: $x"; exit 77; }
done
for x in setpriv python3; do
	command -v $x >/dev/null || { echo "$x is not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (to act as another user)"; exit 77; }
getent group daemon >/dev/null || { echo "no group daemon"; exit 77; }
dir=$(mktemp -d /tmp/mcimd-control.XXXXXX)
chmod 0755 "$dir"
mcimd_pid= hogs=
trap '[ -n "${hogs:-}" ] && kill $hogs 2>/dev/null; [ -n "$mcimd_pid" ] && kill -9 $mcimd_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. tests/integration/mcimd/lib.sh
private_bins || { echo "cannot copy the programs"; exit 1; }
chmod 0755 "$dir/bin"
n=0
# nobody, in the control group (daemon) but not in the admin group (root)
AS_USER="setpriv --reuid=65534 --regid=1 --clear-groups"
UCTL() { $AS_USER "$MCIMCTL" -s "$dir/control" "$@"; }

# A store with profiles (the crash driver's), no TPM: [tpm] tcti names none.
{ $B/tests/store-crash run "$dir/store.db" "$dir/log" 1 >/dev/null & p=$!; sleep 0.4; kill -9 $p; wait $p; } 2>/dev/null
cat >"$dir/mcimd.conf" <<EOC
[tpm]
tcti = device:$dir/no-tpm
[store]
path = $dir/store.db
[slots]
count = 0
[control]
socket = $dir/control
group = daemon
admin_group = root
max_clients = 6
max_clients_per_user = 3
idle_timeout = 2
lifecycle_per_hour = 3
[log]
level = info
EOC
start_mcimd "$dir/mcimd.conf" || { echo "Bail out! mcimd does not start"; exit 1; }
iccid=$(CTL --json profile list | grep -o '"iccid":"[0-9]*"' | head -1 | cut -d'"' -f4)
[ -n "$iccid" ] || { echo "Bail out! no profile in the store"; exit 1; }

t "a control-group user may read (status)" "UCTL status >/dev/null"
UCTL profile enable $iccid >/dev/null 2>$dir/err; rc=$?
t "... but not enable a profile (exit $rc)" "[ $rc != 0 ] && grep -q 'is for root and the admin group' $dir/err"
UCTL profile disable $iccid >/dev/null 2>$dir/err; rc=$?
t "... nor disable one (exit $rc)" "[ $rc != 0 ] && grep -q 'is for root and the admin group' $dir/err"

# hog UID NAME: UID opens 6 connections (max_clients) and keeps them
# silent; NAME.out gets how many are alive, and again once the fifo NAME
# has a line (its writer is opened by the caller on fd 8 or 9).
hog() {
	mkfifo "$dir/$2"
	setpriv --reuid=$1 --regid=1 --clear-groups /usr/bin/python3 -u -c '
import socket, sys, time
held = []
for i in range(6):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1]); held.append(s)
def alive():
    n = 0
    for s in held:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
time.sleep(0.5)
print(alive(), flush=True)
sys.stdin.readline()
print(alive(), flush=True)
' "$dir/control" <"$dir/$2" >"$dir/$2.out" &
	hogs="$hogs $!"
}
lines() { local _; for _ in $(seq 100); do [ "$(wc -l <"$dir/$1.out")" -ge "$2" ] && return; sleep 0.05; done; }
hogs=
hog 65534 h1
exec 8>"$dir/h1"
lines h1 1
t "one user holds at most max_clients_per_user (3) connections (got $(head -1 $dir/h1.out))" "[ \"\$(head -1 $dir/h1.out)\" = 3 ]"
hog 65533 h2
exec 9>"$dir/h2"
lines h2 1
t "a second user gets 2: the last of max_clients (6) is kept for root (got $(head -1 $dir/h2.out))" "[ \"\$(head -1 $dir/h2.out)\" = 2 ]"
t "root still gets in while they are held (status)" "CTL status >/dev/null"
CTL tamper 'control test' >/dev/null 2>$dir/err
t "... and its tamper report reaches the daemon" "grep -q 'card removed' $dir/err || [ ! -s $dir/err ]"
sleep 2.5
CTL status >/dev/null
echo >&8; echo >&9
lines h1 2; lines h2 2
t "the silent connections are dropped after idle_timeout (2 s; left: $(tail -1 $dir/h1.out) + $(tail -1 $dir/h2.out))" "[ \"\$(tail -1 $dir/h1.out)\" = 0 ] && [ \"\$(tail -1 $dir/h2.out)\" = 0 ]"
exec 8>&- 9>&-
for p in $hogs; do wait $p; done
CTL profile enable $iccid >/dev/null 2>&1
CTL profile disable $iccid >/dev/null 2>&1
CTL profile enable $iccid >/dev/null 2>&1
CTL profile disable $iccid >/dev/null 2>$dir/err; rc=$?
t "the 4th profile change within the hour is refused (lifecycle_per_hour 3, exit $rc)" \
	"[ $rc != 0 ] && grep -q 'too many profile changes' $dir/err"
stop_mcimd
echo "1..$n"
