#!/usr/bin/env bash
# kill -9 test of daemon/store/ (docs/store.md "Crash consistency").
#
# Runs tests/integration/store/store-crash.c's driver, kills it with SIGKILL
# after a random 5..100 ms, and checks the store against the driver's
# fsync'ed log after every kill: nothing answered is lost, no half profile,
# at most one enabled profile, integrity_check ok.  At least
# STORE_CRASH_KILLS (default 200) kills; stops adding kills after
# STORE_CRASH_SECONDS (default 60) once the minimum is reached.
set -u
cd "$(dirname "$0")/../../.."
BIN=${BUILD:-build}/tests/store-crash
[ -x "$BIN" ] || { echo "store-crash not built: $BIN"; exit 77; }
min=${STORE_CRASH_KILLS:-200}
budget=${STORE_CRASH_SECONDS:-60}
dir=$(mktemp -d /tmp/store-crash.XXXXXX)
trap 'rm -rf "$dir"' EXIT

kills=0 failures=0 early=0 committed=0 inflight=0
start=$SECONDS
echo "1..4"
while :; do
	elapsed=$((SECONDS - start))
	if [ "$kills" -ge "$min" ] && [ "$elapsed" -ge "$budget" ]; then break; fi
	# A hard ceiling so that a slow machine cannot run away.
	if [ "$elapsed" -ge $((budget * 3)) ]; then break; fi
	"$BIN" run "$dir/store.db" "$dir/log" $((kills + 1)) >"$dir/run.out" 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((5 + RANDOM % 96)))"
	# (braces: keep bash's "Killed" job message out of the output)
	{ kill -KILL "$pid"; wait "$pid"; rc=$?; } 2>/dev/null
	if [ "$rc" -ne 137 ]; then
		early=$((early + 1))
		echo "# driver ended by itself (exit $rc): $(tail -n 1 "$dir/run.out")"
	fi
	kills=$((kills + 1))
	if ! out=$("$BIN" check "$dir/store.db" "$dir/log" 2>&1); then
		failures=$((failures + 1))
		echo "# kill $kills: $out"
		[ "$failures" -ge 5 ] && break
		continue
	fi
	case $out in
	*"in-flight committed"*) committed=$((committed + 1)); inflight=$((inflight + 1)) ;;
	*"in-flight not committed"*) inflight=$((inflight + 1)) ;;
	esac
done
ops=$(grep -c '^D ' "$dir/log")
echo "# $kills kills in $((SECONDS - start)) s, $ops operations answered," \
	"$inflight killed mid-operation ($committed of them committed)," \
	"$failures inconsistencies"
echo "# log: $(grep -c ' I ' "$dir/log") installs, $(grep -c ' E ' "$dir/log") enables," \
	"$(grep -c ' X ' "$dir/log") deletes, $(grep -c ' S ' "$dir/log") SQN batches," \
	"$(grep -c ' F ' "$dir/log") file updates begun"
[ "$kills" -ge "$min" ] && echo "ok 1 - $kills SIGKILLs (at least $min)" ||
	echo "not ok 1 - only $kills SIGKILLs in the time budget (want $min)"
[ "$early" -eq 0 ] && echo "ok 2 - the driver never stopped by itself" ||
	echo "not ok 2 - the driver stopped by itself $early times"
[ "$failures" -eq 0 ] && echo "ok 3 - no answered operation lost, no half profile, one enabled at most, integrity ok" ||
	echo "not ok 3 - $failures inconsistent stores"
[ "$inflight" -gt 0 ] && [ "$ops" -gt "$kills" ] &&
	echo "ok 4 - kills landed mid-operation ($inflight) and between operations" ||
	echo "not ok 4 - kills never landed mid-operation"
