#!/usr/bin/env bash
# Benchmark: the whole scenario suite, both families.  Prints the suite's wall
# time and the median and worst time of one run (setup + run + teardown), as
# ctlab measures them itself.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s.%N)
"$ctlab" run -v >/tmp/ctlab-bench.$$ 2>&1
status=$?
end=$(date +%s.%N)
grep -E '^(PASS|FAIL) ' /tmp/ctlab-bench.$$ | sed -E 's/.*\(([0-9.]+) s\)$/\1/' | sort -n >/tmp/ctlab-bench-times.$$
runs=$(wc -l </tmp/ctlab-bench-times.$$)
median=$(awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}' /tmp/ctlab-bench-times.$$)
worst=$(tail -1 /tmp/ctlab-bench-times.$$)
printf 'suite: %d runs in %.3f s wall (exit %d)\n' "$runs" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" $status
printf 'per run (setup + run + teardown): median %s s, worst %s s\n' "${median:-?}" "${worst:-?}"
rm -f /tmp/ctlab-bench.$$ /tmp/ctlab-bench-times.$$
exit $status
