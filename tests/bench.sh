#!/usr/bin/env bash
# make bench, part 1: the catalogue, both families, timed as a user runs it.
# Prints the wall time of the TCP/UDP/ICMP/NAT catalogue, of the kernel's six
# packetdrill conntrack cases (scenarios/selftests, 12 runs; for reference the
# kernel's own runner takes about 14 s for them with packetdrill, which Debian
# does not package, so it is not run here) and of the table-full set (which
# floods and fills tables of 262,144 entries, alone on the machine), and the
# median and worst time of one run (setup + run + teardown) as ctlab measures
# them itself.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# bench LABEL DIR...: one ctlab run over the folders, timed.
bench() {
	local label=$1 start end runs median worst rc
	shift
	start=$(date +%s.%N)
	"$ctlab" run -v "$@" >"$tmp/out" 2>&1
	rc=$?
	end=$(date +%s.%N)
	[ $rc = 0 ] || status=$rc
	grep -E '^(PASS|FAIL) ' "$tmp/out" | sed -E 's/.*\(([0-9.]+) s\)$/\1/' | sort -n >"$tmp/times"
	runs=$(wc -l <"$tmp/times")
	median=$(awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }' "$tmp/times")
	worst=$(tail -1 "$tmp/times")
	printf '%-22s %3d runs in %6.3f s wall (exit %d); per run: median %s s, worst %s s\n' \
		"$label:" "$runs" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" $rc \
		"${median:-?}" "${worst:-?}"
}

catalogue=$(find scenarios -mindepth 1 -maxdepth 1 -type d ! -name table-full | sort)
# shellcheck disable=SC2086
bench "catalogue" $catalogue
bench "selftests (6 cases)" scenarios/selftests
bench "table-full" scenarios/table-full
exit $status
