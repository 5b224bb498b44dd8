#!/usr/bin/env bash
# ctlab built with AddressSanitizer, LeakSanitizer and UBSan (make check-asan):
# the whole catalogue with every output (--json, --junit, --pcap, --html), then the
# integration tests, all with that binary. Every process writes its reports
# to a file of its own (log_path), so a report in any of them fails, whatever
# its exit status was and whoever ran it (the tests also run ctlab as nobody).
set -u
ctlab=${1:-build/asan/ctlab}
cd "$(dirname "$0")/.." || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP check-asan: the catalogue needs root"
	exit 4
fi
work=$(mktemp -d)
reports=$work/reports
mkdir -m 1777 "$reports"
trap '"$ctlab" clean >/dev/null 2>&1; rm -rf "$work"' EXIT
status=0

# Stop at the first error, with its stack; leaks checked at exit (with the
# scenario threads and namespaces, as root, LeakSanitizer works here). No
# leak suppression is needed: what the libraries keep at exit (libnl's
# caches, libnftables' context) is still reachable, which LSan does not report.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"

# The catalogue: it must pass, and the outputs be whole and readable.
start=$SECONDS
"$ctlab" run --json "$work/r.json" --junit "$work/r.xml" --pcap "$work/pcap" --html "$work/r.html" \
	>"$work/suite.ktap" 2>"$work/suite.err"
rc=$?
runs=$(grep -c '^ok' "$work/suite.ktap")
pcaps=$(find "$work/pcap" -name '*.pcapng' -size +0 | wc -l)
sections=$(grep -c '<section class="run"' "$work/r.html")
if [ $rc = 0 ] && ! grep -q '^not ok' "$work/suite.ktap" && [ "$pcaps" = "$runs" ] &&
   [ "$sections" = "$runs" ] &&
   python3 - "$work/r.json" "$work/r.xml" "$runs" <<'PY'
import json, sys, xml.etree.ElementTree as ET
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == int(sys.argv[3]) and all(r["outcome"] == "pass" for r in runs)
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
assert suite.get("tests") == sys.argv[3] and suite.get("failures") == "0", suite.attrib
PY
then
	echo "ok - sanitized catalogue: $runs runs passed, JSON, JUnit, the HTML page and $pcaps pcapng files ($((SECONDS - start)) s)"
else
	echo "not ok - sanitized catalogue: exit $rc, $runs passed, $pcaps pcapng files"
	grep '^not ok' "$work/suite.ktap" | sed 's/^/    /'
	sed 's/^/    /' "$work/suite.err" | head -20
	status=1
fi

# The integration tests with that binary (they skip valgrind for it).
start=$SECONDS
tests/integration.sh "$ctlab" || status=1
echo "# sanitized integration tests: $((SECONDS - start)) s"

if [ -n "$(ls -A "$reports")" ]; then
	echo "not ok - sanitizer reports:"
	for f in "$reports"/*; do
		echo "    == $f"
		sed 's/^/    /' "$f" | head -60
	done
	status=1
else
	echo "ok - no sanitizer report from any process"
fi
exit $status
