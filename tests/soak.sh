#!/usr/bin/env bash
# Soak (make soak), as root: make check SOAK_RUNS times (10) while stress-ng
# keeps both cores busy with unrelated work, then three whole catalogue runs
# side by side, then catalogue runs ended at random moments by 50 SIGKILLs,
# 10 SIGINTs and 10 SIGTERMs (SOAK_KILLS, SOAK_INTS, SOAK_TERMS; of the
# catalogue, or SOAK_SCENARIOS), each
# leaving nothing behind (tests/kills.sh). The load stays on to the end and
# is stopped however the soak ends. Prints every failure by name, then
# "N passed, N failed"; exits 1 on any failure.
#
# A soak takes longer than many a machine's session (some 4 hours on 2
# cores), so each part that ends (a make check, the runs side by side, a
# kill) is written down under $SOAK_STATE/COMMIT (/var/lib/ctlab/soak), and
# `make soak` again on the same commit, with no local change, goes on from
# the first part not done (SOAK_FRESH=1 starts over). A part cut short is
# done again from its start.
#
# With --idle (make soak-idle): make check SOAK_RUNS times (20) in a row and
# nothing else, no load started: the machine should be left alone meanwhile
# (each run's line tells the load average it began at). Its parts are
# another soak's (COMMIT-idle).
set -u
idle=0
if [ "${1:-}" = --idle ]; then
	idle=1
	shift
fi
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
runs=${SOAK_RUNS:-$([ $idle = 1 ] && echo 20 || echo 10)}
scenarios=${SOAK_SCENARIOS:-scenarios/}	# what the side-by-side and killed runs run

passed=0
failed=0
failures=()
part_log=""	# the part being done writes its lines here too
ok() {
	passed=$((passed + 1))
	echo "ok - $*"
	[ -z "$part_log" ] || echo "ok - $*" >>"$part_log"
}
not_ok() {
	failed=$((failed + 1))
	failures+=("$*")
	echo "not ok - $*"
	[ -z "$part_log" ] || echo "not ok - $*" >>"$part_log"
}

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

# Where the parts done are written down: one folder per commit, none for a
# tree with local changes (what it tested could not be named).
state=""
commit=$(git rev-parse HEAD 2>/dev/null)
if [ -n "$commit" ] && [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	state=${SOAK_STATE:-/var/lib/ctlab/soak}/$commit
	# Other scenarios are another soak.
	[ "$scenarios" = scenarios/ ] || state=$state-$(echo "$scenarios" | md5sum | cut -c1-8)
	[ $idle = 0 ] || state=$state-idle
	[ "${SOAK_FRESH:-0}" = 1 ] && rm -rf "$state"
	mkdir -p "$state" || state=""
fi

# part KEY COMMAND...: run COMMAND (in this shell) once per commit: done
# before, its ok and not ok lines are told again from $state (and counted).
part() {
	local key=$1 line
	shift
	if [ -n "$state" ] && [ -e "$state/$key.done" ]; then
		while IFS= read -r line; do
			case "$line" in
			"ok - "*) ok "${line#ok - } (earlier)" ;;
			"not ok - "*) not_ok "${line#not ok - } (earlier)" ;;
			esac
		done <"$state/$key.done"
		return
	fi
	part_log=$out/part
	: >"$part_log"
	"$@"
	part_log=""
	[ -z "$state" ] || cp "$out/part" "$state/$key.done"
}

# check_run I N: make check; each failing test named with its run.
check_run() {
	local i=$1 n=$2 start=$SECONDS rc load_then
	read -r load_then _ </proc/loadavg
	make --no-print-directory check >"$out/check-$i.log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		ok "make check $i/$n ($((SECONDS - start)) s, $(grep -c '^ok' "$out/check-$i.log") ok lines, load $load_then at its start)"
		return
	fi
	# Each failed test by name, or the run and the end of its log.
	if grep -q '^not ok' "$out/check-$i.log"; then
		while IFS= read -r line; do
			not_ok "make check $i/$n: ${line#not ok - }"
		done < <(grep '^not ok' "$out/check-$i.log")
		grep -A12 '^not ok' "$out/check-$i.log" | grep '^    ' | head -40
	else
		not_ok "make check $i/$n: exit $rc after $((SECONDS - start)) s"
		tail -20 "$out/check-$i.log" | sed 's/^/    /'
	fi
}

# measured: the lengths the random moments are drawn from, measured once
# per commit (measure_runs) and kept with the parts.
measured() {
	if [ -n "$state" ] && [ -s "$state/lengths" ]; then
		read -r ct_max length_plain length_ct_max <"$state/lengths"
		part measure true
		return
	fi
	[ -z "$state" ] || rm -f "$state/measure.done"
	part measure measure_runs "$scenarios"
	[ -z "$state" ] || echo "$ct_max $length_plain $length_ct_max" >"$state/lengths"
}

. tests/kills.sh
start=$SECONDS
[ $idle = 1 ] || start_load
if [ -n "$state" ]; then
	echo "# soak: commit $commit; each part done is written in $state" \
		"($(find "$state" -name '*.done' | wc -l) there already)"
else
	echo "# soak: local changes: nothing written down, a soak cut short starts over"
fi
if [ $idle = 1 ]; then
	echo "# soak: make check $runs times in a row, no load started"
else
	echo "# soak: make check $runs times under stress-ng --cpu 2 (pid $load)"
fi
for i in $(seq 1 "$runs"); do
	part "check-$i" check_run "$i" "$runs"
done
if [ $idle = 0 ]; then
	echo "# soak: three catalogue runs side by side"
	part side-by-side concurrent_runs 3 "$scenarios"
	echo "# soak: the catalogue killed at random moments"
	measured
	for sig in KILL INT TERM; do
		case $sig in
		KILL) count=${SOAK_KILLS:-50} ;;
		INT) count=${SOAK_INTS:-10} ;;
		TERM) count=${SOAK_TERMS:-10} ;;
		esac
		for i in $(seq 1 "$count"); do
			part "$sig-$i-of-$count" signal_run "$sig" "$i" "$count" "$scenarios"
		done
	done
fi
stop_load

echo "# soak: $((SECONDS - start)) s"
if [ $failed != 0 ]; then
	echo "# failed:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
