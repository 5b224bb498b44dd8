#!/usr/bin/env bash
# Soak (make soak), as root: make check SOAK_RUNS times (10) while stress-ng
# keeps both cores busy with unrelated work, then three whole catalogue runs
# side by side, then catalogue runs ended at random moments by 50 SIGKILLs,
# 10 SIGINTs and 10 SIGTERMs (SOAK_KILLS, SOAK_INTS, SOAK_TERMS), each
# leaving nothing behind (tests/kills.sh). The load stays on to the end and
# is stopped however the soak ends. Prints every failure by name, then
# "N passed, N failed"; exits 1 on any failure.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
runs=${SOAK_RUNS:-10}

passed=0
failed=0
failures=()
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); failures+=("$*"); echo "not ok - $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP soak needs root (make check as root, namespaces, --ct-max)"
	exit 4
fi

out=$(mktemp -d)
load=""
# stop_load: end stress-ng (it ends its workers on SIGTERM) and reap it;
# a worker still there after that is killed.
stop_load() {
	local workers worker comm
	[ -n "$load" ] || return 0
	workers=$(cat /proc/"$load"/task/*/children 2>/dev/null)
	kill -TERM "$load" 2>/dev/null
	wait "$load" 2>/dev/null
	for worker in $workers; do
		comm=$(cat /proc/"$worker"/comm 2>/dev/null)
		[ "${comm#stress-ng}" = "$comm" ] || kill -KILL "$worker" 2>/dev/null
	done
	load=""
}
trap 'stop_load; "$ctlab" clean >/dev/null 2>&1; rm -rf "$out"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_load: stress-ng --cpu 2, installed with apt-get the first time.
start_load() {
	if ! command -v stress-ng >/dev/null; then
		echo "soak: installing stress-ng"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q stress-ng >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q stress-ng >/dev/null 2>&1; } ||
			{ echo "soak: cannot install stress-ng" >&2; exit 1; }
	fi
	stress-ng --cpu 2 --quiet &
	load=$!
}

# check_runs N: make check N times; each failing test named with its run.
check_runs() {
	local i start rc
	for i in $(seq 1 "$1"); do
		start=$SECONDS
		make --no-print-directory check >"$out/check-$i.log" 2>&1
		rc=$?
		if [ $rc = 0 ]; then
			ok "make check $i/$1 ($((SECONDS - start)) s, $(grep -c '^ok' "$out/check-$i.log") ok lines)"
			continue
		fi
		# Each failed test by name, or the run and the end of its log.
		if grep -q '^not ok' "$out/check-$i.log"; then
			while IFS= read -r line; do
				not_ok "make check $i/$1: ${line#not ok - }"
			done < <(grep '^not ok' "$out/check-$i.log")
			grep -A12 '^not ok' "$out/check-$i.log" | grep '^    ' | head -40
		else
			not_ok "make check $i/$1: exit $rc after $((SECONDS - start)) s"
			tail -20 "$out/check-$i.log" | sed 's/^/    /'
		fi
	done
}

. tests/kills.sh
start=$SECONDS
start_load
echo "# soak: make check $runs times under stress-ng --cpu 2 (pid $load)"
check_runs "$runs"
echo "# soak: three catalogue runs side by side"
concurrent_runs 3 scenarios/
echo "# soak: the catalogue killed at random moments"
measure_runs scenarios/
signals_at_random KILL "${SOAK_KILLS:-50}" scenarios/
signals_at_random INT "${SOAK_INTS:-10}" scenarios/
signals_at_random TERM "${SOAK_TERMS:-10}" scenarios/
stop_load

echo "# soak: $((SECONDS - start)) s"
if [ $failed != 0 ]; then
	echo "# failed:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
