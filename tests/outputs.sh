# Sourced by tests/integration.sh (uses $ctlab, $out, ok, not_ok): the outputs
# as their real consumers read them — KTAP by the kernel's own kunit_parser,
# JUnit by the rules of Jenkins xunit's junit-10.xsd and by junitparser,
# results.json by its JSON Schema.
# shellcheck shell=bash disable=SC2154  # ctlab and out are set by the sourcing script

outputs=$(mktemp -d)
debian_python=/usr/bin/python3	# Debian's, with python3-junitparser and -jsonschema

# The kernel's tools/testing/kunit, out of Debian's linux-source tarball (make
# deps installs it), unpacked once into the cache.
kunit_dir() {
	local cache=/var/cache/ctlab/kunit tarball
	tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' 2>/dev/null | sort -V | tail -1)
	[ -n "$tarball" ] || return 1
	local top
	top=$(basename "$tarball" .tar.xz)
	if [ ! -f "$cache/$top/tools/testing/kunit/kunit.py" ]; then
		mkdir -p "$cache" &&
		tar -xJf "$tarball" -C "$cache" --wildcards "$top/tools/testing/kunit/*" || return 1
	fi
	echo "$cache/$top/tools/testing/kunit"
}

# A sample with every outcome: passes, failures (with diagnostics), skips.
"$ctlab" run --junit "$outputs/sample.xml" --json "$outputs/sample.json" --pcap "$outputs/pcap" \
	tests/fixtures/variant-fails.ct \
	tests/fixtures/kernel-future.ct tests/fixtures/flag-check.ct \
	scenarios/nat-reset/invalid-not-unnated.ct scenarios/tcp-rst/rst-after-entry-gone.ct \
	>"$outputs/sample.ktap" 2>"$outputs/sample.err"
sample_status=$?

# KTAP: kselftest's totals line, and kunit_parser reads it without a warning
# and counts the same.
if kunit=$(kunit_dir); then
	(cd "$kunit" && "$debian_python" kunit.py parse "$outputs/sample.ktap") >"$outputs/kunit.txt" 2>&1
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:0 xpass:0 skip:\([0-9]*\) error:0$/\1 \2 \3/p' "$outputs/sample.ktap")
	read -r pass fail skip <<<"$totals"
	ran=$((pass + fail + skip))
	if [ $sample_status = 1 ] && [ -n "$totals" ] &&
	   grep -q "Ran $ran tests: passed: $pass, failed: $fail, skipped: $skip" "$outputs/kunit.txt" &&
	   ! grep -qiE 'warning|error:|crash' "$outputs/kunit.txt"; then
		ok "KTAP: kunit_parser reads it without a warning: $ran tests, passed $pass, failed $fail, skipped $skip, as '# Totals' says"
	else
		not_ok "KTAP through kunit_parser (exit $sample_status, totals '$totals')"
		sed 's/^/    /' "$outputs/kunit.txt" | tail -20
	fi
else
	not_ok "KTAP: no kunit_parser (Debian's linux-source, installed by make deps)"
fi

# JUnit: the schema's rules, and junitparser finds properties and ladders.
if "$debian_python" tests/junit_check.py "$outputs/sample.xml" --expect-failed 2 --expect-skipped 2 \
	>"$outputs/junit.txt" 2>&1; then
	ok "JUnit: junit-10.xsd's rules hold, junitparser reads properties and system-out ($(cat "$outputs/junit.txt"))"
else
	not_ok "JUnit: $(cat "$outputs/junit.txt")"
fi
# Negative control: a testcase with a file attribute (which junit-10.xsd does
# not allow, and ctlab wrote before) is refused.
sed '0,/<testcase /s//<testcase file="x.ct" /' "$outputs/sample.xml" >"$outputs/bad.xml"
if ! "$debian_python" tests/junit_check.py "$outputs/bad.xml" >"$outputs/bad.txt" 2>&1 &&
   grep -q "may not have \['file'\]" "$outputs/bad.txt"; then
	ok "JUnit check refuses what the schema does not allow (a testcase's file=)"
else
	not_ok "JUnit check took a testcase with file=: $(cat "$outputs/bad.txt")"
fi

# results.json: valid against its schema, crafted packets and the service
# named; the check fails when a required field is taken out.
if "$debian_python" tests/results_check.py docs/results.schema.json "$outputs/sample.json" \
	>"$outputs/results.txt" 2>&1 &&
   ! "$debian_python" tests/results_check.py docs/results.schema.json "$outputs/sample.json" --mutate \
	>"$outputs/mutated.txt" 2>&1 && grep -q "'crafted' is a required property" "$outputs/mutated.txt"; then
	ok "results.json validates against docs/results.schema.json ($(cat "$outputs/results.txt")); a field taken out fails it"
else
	not_ok "results.json: $(cat "$outputs/results.txt" "$outputs/mutated.txt")"
fi

# pcapng: every packet conntrack judged has its verdict as a comment on the
# observing host's copy; the section names ctlab and the run. A false
# retransmission is one packet shown twice (each copy of a routed packet in one
# file): a file per interface has none — no two TCP frames alike in every
# field, IP ID and TSval included — where the file of all links has them, and
# tshark's analysis flags them (the control). A real retransmission, which a
# loaded machine may cause, has its own TSval and is not counted.
pcap_report=$("$debian_python" - "$outputs/sample.json" "$outputs/pcap" <<'PY' 2>&1
import glob, json, subprocess, sys
runs = json.load(open(sys.argv[1]))["runs"]
FIELDS = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.id", "tcp.srcport", "tcp.dstport",
          "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len", "tcp.options.timestamp.tsval"]
def tshark(path, *args):
    return subprocess.run(["tshark", "-r", path, *args], capture_output=True, text=True, check=True).stdout
def copies(path):
    frames = tshark(path, "-Y", "tcp", "-T", "fields", *sum([["-e", f] for f in FIELDS], [])).splitlines()
    return len(frames) - len(set(frames))
judged = commented = single = twice_single = twice_all = flagged_all = 0
for run in runs:
    if run["outcome"] == "skip":
        continue
    base = f"{sys.argv[2]}/{run['name'].replace('/', '-')}"
    comments = tshark(base + ".pcapng", "-T", "fields", "-e", "frame.comment").split("\n")
    mine = [c for c in comments if c.startswith("ct ") and "(judged as it arrived)" not in c]
    judged += len(run["packets"])
    commented += len(mine)
    invalid = [p for p in run["packets"] if p["verdict"] == "invalid"]
    if len([c for c in mine if c.startswith("ct INVALID")]) != len(invalid):
        sys.exit(f"{run['name']}: {len(invalid)} INVALID packets, comments {mine}")
    info = subprocess.run(["capinfos", base + ".pcapng"], capture_output=True, text=True).stdout
    if "ctlab " not in info or run["name"] not in info:
        sys.exit(f"{run['name']}: the section header names neither ctlab nor the run: {info}")
    twice_all += copies(base + ".pcapng")
    flagged_all += len(tshark(base + ".pcapng", "-Y", "tcp.analysis.retransmission").splitlines())
    for one in glob.glob(base + "/*.pcapng"):
        single += 1
        twice_single += copies(one)
if judged != commented:
    sys.exit(f"{judged} packets judged, {commented} comments")
print(f"{judged} judged packets, {commented} comments; {single} single-interface files with "
      f"{twice_single} packets shown twice; the files of all links {twice_all}, "
      f"{flagged_all} flagged as retransmissions")
PY
)
if [[ $pcap_report =~ with\ 0\ packets\ shown\ twice\;\ the\ files\ of\ all\ links\ ([0-9]+),\ ([0-9]+)\ flagged ]] &&
   [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]}" -gt 0 ]; then
	ok "pcapng: $pcap_report"
else
	not_ok "pcapng: $pcap_report"
fi

# A results folder: --out DIR holds all four outputs; --out auto makes
# results/DATE-KERNEL and results/latest; --json - is stdout with the report on
# stderr; one file for two outputs is refused.
here=$(pwd)
ctlab_path=$(cd "$(dirname "$ctlab")" && pwd)/$(basename "$ctlab")
mkdir "$outputs/auto"
(cd "$outputs/auto" && CTLAB_SCENARIOS=$here/scenarios "$ctlab_path" run --out auto syn-fin >/dev/null 2>&1)
"$ctlab" run --json - tests/fixtures/flag-check.ct >"$outputs/stdout.json" 2>"$outputs/stderr.ktap"
json_status=$?
if [ -f "$outputs/auto/results/latest/results.json" ] && [ -f "$outputs/auto/results/latest/junit.xml" ] &&
   [ -f "$outputs/auto/results/latest/results.ktap" ] && [ -d "$outputs/auto/results/latest/pcap" ] &&
   [ $json_status = 0 ] && "$debian_python" -c 'import json,sys; json.load(open(sys.argv[1]))' "$outputs/stdout.json" &&
   grep -q '^ok 2 fixture-flag-check/ipv6' "$outputs/stderr.ktap" &&
   exits 2 "$ctlab" run --json "$outputs/same" --junit "$outputs/same" tests/fixtures/flag-check.ct &&
   exits 2 "$ctlab" run --out "$outputs/o" --json "$outputs/o/results.ktap" tests/fixtures/flag-check.ct; then
	ok "--out auto fills results/latest; --json - is stdout (KTAP on stderr); one file for two outputs exits 2"
else
	not_ok "results folder: --json - exit $json_status; $(find "$outputs/auto" | head -5)"
fi

# --shard K/N and merge: three shards of a small catalogue merged are the
# whole run, in its order; a shard merged twice is refused.
shards=$outputs/shards
mkdir -p "$shards/catalogue"
cp -r scenarios/tcp-flags/*.ct scenarios/facts tests/fixtures/variant-fails.ct \
	scenarios/nat-reset/invalid-not-unnated.ct "$shards/catalogue/"
for k in 1 2 3; do
	CTLAB_SCENARIOS=$shards/catalogue "$ctlab" run --shard "$k/3" --out "$shards/s$k" >/dev/null 2>&1
done
CTLAB_SCENARIOS=$shards/catalogue "$ctlab" run --out "$shards/whole" >/dev/null 2>&1
"$ctlab" merge --out "$shards/merged" "$shards/s1" "$shards/s2" "$shards/s3" 2>"$shards/merge.err"
merge_status=$?
runs_in() { "$debian_python" -c 'import json,sys; print(" ".join(r["name"] + "=" + r["outcome"] for r in json.load(open(sys.argv[1]))["runs"]))' "$1"; }
if [ $merge_status = 0 ] &&
   diff <(grep -v '^KTAP' "$shards/whole/results.ktap") <(grep -v '^KTAP' "$shards/merged/results.ktap") >"$shards/ktap.diff" &&
   [ "$(runs_in "$shards/whole/results.json")" = "$(runs_in "$shards/merged/results.json")" ] &&
   [ "$(grep -c '^\(not \)\?ok' "$shards/s1/results.ktap")" -lt "$(grep -c '^\(not \)\?ok' "$shards/whole/results.ktap")" ] &&
   "$debian_python" tests/results_check.py docs/results.schema.json "$shards/merged/results.json" >/dev/null &&
   [ "$(grep -c '<section class="run"' "$shards/merged/report.html")" = "$(runs_in "$shards/whole/results.json" | wc -w)" ] &&
   "$debian_python" tests/junit_check.py "$shards/merged/junit.xml" --expect-failed 2 >/dev/null &&
   ! "$ctlab" merge --out "$shards/twice" "$shards/s1" "$shards/s1" 2>"$shards/twice.err" &&
   grep -q 'is in both' "$shards/twice.err"; then
	ok "--shard 1/3..3/3 merged equal the whole run (KTAP, JSON, JUnit: $(grep -c '^\(not \)\?ok' "$shards/whole/results.ktap") runs); a shard twice is refused"
else
	not_ok "shards merged (exit $merge_status): $(cat "$shards/merge.err")"
	sed 's/^/    /' "$shards/ktap.diff" | head -10
fi

rm -rf "$outputs"
