#!/usr/bin/env bash
# make bench, part 1: the catalogue, both families, timed as a user runs it.
# Prints the wall time of the TCP/UDP/ICMP/NAT catalogue, of the kernel's six
# packetdrill conntrack cases (scenarios/selftests, 12 runs; for reference the
# kernel's own runner takes about 14 s for them with packetdrill, which Debian
# does not package, so it is not run here) and of the table-full set (which
# floods and fills tables of 262,144 entries, alone on the machine), and the
# median and worst time of one run (setup + run + teardown) as ctlab measures
# them itself.  Then the HTML page of all those runs (ctlab merge of the three
# parts' JSON): its size, and how long headless Chromium takes to load and lay
# it out (the page's own performance.now() at its load event, after a forced
# layout; median of three).
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
	parts=$((parts + 1))
	"$ctlab" run -v --json "$tmp/part-$parts.json" "$@" >"$tmp/out" 2>&1
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

parts=0
catalogue=$(find scenarios -mindepth 1 -maxdepth 1 -type d ! -name table-full | sort)
# shellcheck disable=SC2086
bench "catalogue" $catalogue
bench "selftests (6 cases)" scenarios/selftests
bench "table-full" scenarios/table-full

# The page: merged like CI's shards, timed in the browser that renders it.
if "$ctlab" merge --out "$tmp/all" "$tmp"/part-*.json 2>/dev/null && command -v chromium >/dev/null; then
	sed 's|</body></html>|<script>addEventListener("load", function () { var h = document.body.offsetHeight; document.title = "laid out " + Math.round(performance.now()) + " ms " + h; });</script></body></html>|' \
		"$tmp/all/report.html" >"$tmp/timed.html"
	for _ in 1 2 3; do
		chromium --headless --no-sandbox --disable-gpu --host-resolver-rules="MAP * ~NOTFOUND" \
			--user-data-dir="$tmp/profile" --window-size=1400,1000 --dump-dom \
			"file://$tmp/timed.html" 2>/dev/null | sed -n 's/.*<title>laid out \([0-9]*\) ms.*/\1/p'
	done | sort -n >"$tmp/page-times"
	printf '%-22s %3d runs, %s bytes; Chromium loads and lays it out in %s ms (median of 3; %s)\n' \
		"report page:" "$(grep -c '<section class="run"' "$tmp/all/report.html")" \
		"$(wc -c <"$tmp/all/report.html")" "$(sed -n 2p "$tmp/page-times")" \
		"$(tr '\n' ' ' <"$tmp/page-times" | sed 's/ $//')"
else
	echo "report page:           not measured (merge failed or no chromium)"
	status=1
fi
exit $status
