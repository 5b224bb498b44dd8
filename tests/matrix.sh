#!/usr/bin/env bash
# The catalogue on the host's kernel and under Debian's 6.1 and 6.12 in QEMU
# (make matrix): each with --json, then `ctlab diff` of each guest against the
# host, then one table of every run by kernel (pass/fail/skip), the counts,
# wall times and median seconds per run.
#
# Each kernel's results are then diffed against its baseline in
# results/baselines/ (BASELINES=DIR elsewhere): the file named after the same
# kernel package and version, or else the latest one of its series, so that a
# new kernel upload that flips a fact or a verdict is a named change.
# UPDATE_BASELINES=1 writes this run's results as the baselines (one file per
# kernel package version: SERIES_PACKAGE_VERSION.json, host_RELEASE.json).
#
# usage: tests/matrix.sh CTLAB [OUTDIR]   (root; OUTDIR default build/matrix)
# SERIES (default "6.1 6.12") picks the kernels; SKIP_HOST=1 reuses OUTDIR/host.json.
# Exit 0 when every kernel ran (whatever the scenarios did: this is a report),
# 4 when a kernel could not be fetched, 3 when a guest died; with STRICT=1, 1
# when a run failed on some kernel; with STRICT_BASELINES=1 also when a run
# differs from its baseline.  (The differences are always printed; under TCG on
# a busy machine a retransmission timer can fire in another step than in the
# baseline's run, so CI fails on failed runs, not on every difference.)
set -u
ctlab=$(realpath "$1")
out=${2:-build/matrix}
mkdir -p "$out"
out=$(realpath "$out")
series=${SERIES:-6.1 6.12}
status=0
kernels=()

elapsed() { echo $(( $(date +%s) - $1 )); }

start_all=$(date +%s)
if [ "${SKIP_HOST:-0}" != 1 ]; then
	t=$(date +%s)
	"$ctlab" run --json "$out/host.json" >"$out/host.ktap" 2>"$out/host.err"
	rc=$?	# before $(uname -r) below, whose status $? would be
	echo "matrix: host $(uname -r): exit $rc, $(grep '^# Totals' "$out/host.ktap") in $(elapsed "$t") s" |
		tee "$out/host.wall"
fi
kernels+=(host)
for k in $series; do
	t=$(date +%s)
	"$ctlab" vm --kernel "$k" --json "$out/$k.json" >"$out/$k.ktap" 2>"$out/$k.err"
	rc=$?
	echo "matrix: $k: exit $rc, $(grep '^# Totals' "$out/$k.ktap" || echo 'no totals') in $(elapsed "$t") s" |
		tee "$out/$k.wall"
	grep '^ctlab vm: ' "$out/$k.err" | sed 's/^/    /'
	case $rc in
	0 | 1) kernels+=("$k") ;;
	4) echo "matrix: $k skipped: $(grep -m1 'SKIP' "$out/$k.err")"; status=4; continue ;;
	*) echo "matrix: $k: the guest failed:"; tail -n 20 "$out/$k.err"; [ "$status" = 0 ] && status=3
	   [ -s "$out/$k.json" ] || continue
	   kernels+=("$k") ;;
	esac
	echo "matrix: ctlab diff host $k:"
	"$ctlab" diff "$out/host.json" "$out/$k.json" >"$out/diff-host-$k.txt" 2>&1
	rc=$?
	# 1 means something changed, which is what this is for.
	[ "$rc" -le 1 ] || echo "matrix: ctlab diff exited $rc"
	sed 's/^/    /' "$out/diff-host-$k.txt"
done

# baseline_name KERNEL JSON: the baseline file's name for these results.
baseline_name() {
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
k, doc = sys.argv[1], json.load(open(sys.argv[2]))
pkg = doc.get("kernel_package") or {}
name = f"host_{doc.get('kernel', '?')}" if k == "host" else f"{k}_{pkg.get('name', '?')}_{pkg.get('version', '?')}"
print(re.sub(r"[^A-Za-z0-9._+~-]", "_", name) + ".json")
EOF
}

baselines=${BASELINES:-results/baselines}
changed=0
for k in "${kernels[@]}"; do
	[ -s "$out/$k.json" ] || continue
	file=$(baseline_name "$k" "$out/$k.json")
	if [ "${UPDATE_BASELINES:-0}" = 1 ]; then
		mkdir -p "$baselines"
		rm -f "$baselines/${k}_"*.json
		cp "$out/$k.json" "$baselines/$file"
		echo "matrix: $k: baseline $baselines/$file written"
		continue
	fi
	base=$baselines/$file
	# A new package of the series: compare with the latest one on record.
	[ -e "$base" ] || base=$(find "$baselines" -name "${k}_*.json" 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$base" ] || [ ! -e "$base" ]; then
		echo "matrix: $k: no baseline in $baselines (UPDATE_BASELINES=1 writes one)"
		continue
	fi
	"$ctlab" diff "$base" "$out/$k.json" >"$out/diff-baseline-$k.txt" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "matrix: $k: as its baseline ${base##*/}"
	else
		[ $rc = 1 ] && changed=1
		echo "matrix: $k: against its baseline ${base##*/} (ctlab diff exit $rc):"
		sed 's/^/    /' "$out/diff-baseline-$k.txt"
	fi
done

python3 - "$out" "${kernels[@]}" <<'EOF'
import json, statistics, sys
out, kernels = sys.argv[1], sys.argv[2:]
runs, order, facts = {}, [], {}
for k in kernels:
    try:
        doc = json.load(open(f"{out}/{k}.json"))
    except (OSError, ValueError) as e:
        print(f"matrix: {k}: no results ({e})")
        continue
    secs = []
    for r in doc.get("runs", []):
        name = r["name"]
        if name not in runs:
            runs[name] = {}
            order.append(name)
        runs[name][k] = (r["outcome"], r.get("reason") or "")
        secs.append(r.get("seconds", 0))
    for r in doc.get("runs", []):
        for fact, value in (r.get("facts") or {}).items():
            facts.setdefault(fact, {})[k] = value
    counts = {o: sum(1 for r in doc["runs"] if r["outcome"] == o) for o in ("pass", "fail", "skip")}
    pkg = doc.get("kernel_package", {})
    print(f"matrix: {k:5} {doc.get('kernel', '?'):28} {pkg.get('name', ''):34} {pkg.get('version', ''):22}"
          f" pass {counts['pass']:3} fail {counts['fail']:3} skip {counts['skip']:3}"
          f"  median {statistics.median(secs) if secs else 0:.2f} s/run")
width = max([len(n) for n in order] + [10])
print()
print(f"{'run':{width}}  " + "  ".join(f"{k:5}" for k in kernels))
for name in order:
    cells = [runs[name].get(k, ("-", ""))[0] for k in kernels]
    mark = "" if len(set(cells)) == 1 else "   <- differs"
    print(f"{name:{width}}  " + "  ".join(f"{c:5}" for c in cells) + mark)
if facts:
    print()
    print(f"{'kernel fact':{width}}  " + "  ".join(f"{k:5}" for k in kernels))
    for fact in sorted(facts):
        cells = [facts[fact].get(k, "-") for k in kernels]
        mark = "" if len(set(cells)) == 1 else "   <- differs"
        print(f"{fact:{width}}  " + "  ".join(f"{c:5}" for c in cells) + mark)
print()
failed = False
for k in kernels:
    failing = [(n, runs[n][k][1]) for n in order if runs[n].get(k, ("",))[0] == "fail"]
    if failing:
        print(f"matrix: failing on {k}:")
        failed = True
        for n, reason in failing:
            print(f"    {n}: {reason.splitlines()[0] if reason else ''}")
sys.exit(1 if failed else 0)
EOF
failing=$?
echo "matrix: all in $(elapsed "$start_all") s"
if [ "$status" = 0 ] && { { [ "${STRICT:-0}" = 1 ] && [ $failing != 0 ]; } ||
			  { [ "${STRICT_BASELINES:-0}" = 1 ] && [ $changed != 0 ]; }; }; then
	status=1
fi
exit "$status"
