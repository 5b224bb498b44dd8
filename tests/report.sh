# Sourced by tests/integration.sh (uses $ctlab, ok, not_ok): the HTML report as
# a reader gets it — rendered by headless Chromium (Debian's), its DOM checked
# against the results it was made from, its screenshot not blank, its markup
# valid for tidy, nothing fetched from anywhere.
# shellcheck shell=bash disable=SC2154  # ctlab is set by the sourcing script

report=$(mktemp -d)
debian_python=/usr/bin/python3

# Root needs --no-sandbox; no name resolves, so nothing could be fetched.
browse() {
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$report/profile" \
		"$@" 2>>"$report/chromium.err"
}

# A sample with the 74839 reset, a drop at the router, failures and skips.
"$ctlab" run --out "$report/r" scenarios/nat-reset/invalid-not-unnated.ct \
	scenarios/nat-reset/invalid-drop-fix.ct tests/fixtures/variant-fails.ct \
	tests/fixtures/kernel-future.ct >"$report/run.ktap" 2>"$report/run.err"
run_status=$?
page=$report/r/report.html

# The page ctlab report makes from results.json is the one the run wrote.
"$ctlab" report "$report/r" -o "$report/r/again.html" 2>"$report/again.err"
if [ $run_status = 1 ] && [ -s "$page" ] && cmp -s "$page" "$report/r/again.html"; then
	ok "report: run --out writes report.html; ctlab report of its results.json makes the same page ($(wc -c <"$page") bytes)"
else
	not_ok "report: run exit $run_status, the pages differ or are missing: $(cat "$report/again.err")"
fi

# Self-contained: no script, style, font or image from elsewhere; every link
# to a capture leads to a file.
missing=0
while read -r href; do
	[ -e "$report/r/$href" ] || missing=$((missing + 1))
done < <(grep -o 'href="[^"#]*"' "$page" | sed 's/^href="//; s/"$//')
links=$(grep -c 'href="pcap/' "$page")
fetches='<(link|img|iframe|object|embed|script src)|\ssrc="|url\(|@import|href="https?:'
if ! grep -qiE "$fetches" "$page" &&
   [ "$links" -ge 1 ] && [ $missing = 0 ]; then
	ok "report: self-contained (no src, url(), @import, external link); its capture links lead to files"
else
	not_ok "report: refers to something outside it, or $missing of its links lead nowhere"
	grep -oiE "$fetches" "$page" | head -5 | sed 's/^/    /'
fi

# Valid HTML for tidy: not a warning.
if tidy -q -e "$page" >"$report/tidy.txt" 2>&1; then
	ok "report: tidy finds no error or warning"
else
	not_ok "report: tidy: $(head -5 "$report/tidy.txt")"
fi

# Rendered: a screenshot that is not blank (its negative control: an empty page).
browse --window-size=1400,1000 --screenshot="$report/shot.png" "file://$page" >/dev/null
echo '<!DOCTYPE html><html><body></body></html>' >"$report/blank.html"
browse --window-size=1400,1000 --screenshot="$report/blank.png" "file://$report/blank.html" >/dev/null
if shot=$("$debian_python" tests/html_check.py --screenshot "$report/shot.png") &&
   ! "$debian_python" tests/html_check.py --screenshot "$report/blank.png" >/dev/null; then
	ok "report: Chromium renders it ($shot); an empty page is seen as blank"
else
	not_ok "report: screenshot: $shot; $(tail -3 "$report/chromium.err")"
fi

# The DOM after rendering: an arrow per packet that arrived, the 74839 reset's
# INVALID badge and reason, the un-DNATed hop named by the server's address;
# the step-through (opened at #step=3) makes the third hop current.
browse --virtual-time-budget=5000 --dump-dom "file://$page#step=3" >"$report/dom.html"
if dom=$("$debian_python" tests/html_check.py "$report/r/results.json" "$report/dom.html" --step 3); then
	ok "report: the rendered DOM: $dom"
else
	not_ok "report: the rendered DOM: $dom"
fi

# Negative controls: a hop taken out, the DNAT note taken out, the page opened
# without #step: each check fails.
sed '0,/^<g class="hop/{/^<g class="hop/d}' "$page" >"$report/r/one-less.html"
sed 's/the DNAT was not undone/the DNAT was undone/' "$page" >"$report/r/no-note.html"
browse --virtual-time-budget=5000 --dump-dom "file://$report/r/one-less.html" >"$report/dom1.html"
browse --virtual-time-budget=5000 --dump-dom "file://$report/r/no-note.html" >"$report/dom2.html"
browse --virtual-time-budget=5000 --dump-dom "file://$page" >"$report/dom3.html"
c1=$("$debian_python" tests/html_check.py "$report/r/results.json" "$report/dom1.html")
c2=$("$debian_python" tests/html_check.py "$report/r/results.json" "$report/dom2.html")
c3=$("$debian_python" tests/html_check.py "$report/r/results.json" "$report/dom3.html" --step 3)
if [[ $c1 == *"arrows, "*"packets arrived"* ]] && [[ $c2 == *"not undone"* ]] &&
   [[ $c3 == *"#step=3"* ]]; then
	ok "report: the DOM check fails on a missing arrow, a missing DNAT note, no step-through"
else
	not_ok "report: negative controls: '$c1' / '$c2' / '$c3'"
fi

# show NAME --html: a fresh run where results/latest has none, then the latest's.
ctlab_path=$(realpath "$ctlab")
mkdir -p "$report/cwd"
(cd "$report/cwd" && "$ctlab_path" show invalid-not-unnated --html -o first.html) \
	>"$report/show1.out" 2>"$report/show1.err"
show1=$?
(cd "$report/cwd" && "$ctlab_path" show invalid-not-unnated --html) >"$report/show2.html" \
	2>"$report/show2.err"
show2=$?
if [ $show1 = 0 ] && [ $show2 = 0 ] && grep -q 'running it' "$report/show1.err" &&
   ! grep -q 'running it' "$report/show2.err" && [ ! -s "$report/show1.out" ] &&
   [ "$(grep -c '<section class="run"' "$report/cwd/first.html")" = 2 ] &&
   [ "$(grep -c '<section class="run"' "$report/show2.html")" = 2 ]; then
	ok "show NAME --html: a fresh run's page when results/latest has none (its report on stderr), then the latest's"
else
	not_ok "show --html: exit $show1 and $show2: $(tail -2 "$report/show1.err")"
fi

# A results.json is input like any other: wrong types and missing members
# anywhere make a page (or a clear error), never a crash; memcheck agrees.
cat >"$report/hostile.json" <<'JSON'
{"tool": "ctlab", "kernel": 5, "runs": [
 {"name": "a/ipv4", "steps": [], "packets": [], "hosts": "nope", "wire": [1, "x", null,
  {"direction": "in", "host": 7, "ifname": [], "judged": 999999, "step": -4}],
  "links": 3, "chains": [{"rst_wire": "x", "cause_wire": 1e300}], "about": 4},
 {"name": "b/ipv6", "steps": [{"kind": 1, "line": "x"}, 5], "packets": [{"index": -1, "seq": -9e18,
  "flags": "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"}],
  "hosts": [{"name": "client", "interfaces": [{"ifname": "eth0"}, 5]}, {"service": true}, 9],
  "wire": [{"direction": "in", "host": "client", "ifname": "eth0", "judged": 1, "judged_as": "arrived",
            "src": "<script>x</script>", "dst": "fe80::1", "protocol": "tcp", "flags": "R"}],
  "links": [{"a": "client", "a_ifname": "eth0", "b": "<b>", "b_ifname": "eth0"}], "chains": []}]}
JSON
printf '{"tool": "ctlab", "runs": [' >"$report/deep.json"
printf '[%.0s' $(seq 1 5000) >>"$report/deep.json"
valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	"$ctlab" report "$report/hostile.json" -o "$report/hostile.html" 2>"$report/hostile.err"
hostile=$?
"$ctlab" report "$report/deep.json" -o "$report/deep.html" 2>"$report/deep.err"
deep=$?
if [ $hostile = 0 ] && [ "$(grep -c '<section class="run"' "$report/hostile.html")" = 2 ] &&
   ! grep -q '<script>x' "$report/hostile.html" && [ $deep = 2 ] && [ ! -e "$report/deep.html" ] &&
   grep -q 'deep.json:' "$report/deep.err"; then
	ok "report: a hostile results.json makes a page (escaped, memcheck clean); a broken one is a clear error, exit 2"
else
	not_ok "report of hostile input: exit $hostile and $deep: $(head -3 "$report/hostile.err" "$report/deep.err")"
fi

# The terminal ladder at a projector's 80 columns: the story first, every
# line within 80 columns, the crafted segment marked, the hop that leaves the
# router with the server's address named as a DNAT not undone.
COLUMNS=80 "$ctlab" run -v --family ipv4 scenarios/nat-reset/invalid-not-unnated.ct \
	>"$report/ladder.txt" 2>/dev/null
ladder_status=$?
wide=$(awk 'length($0) > 80' "$report/ladder.txt" | wc -l)
server4=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; print([h["addr"] for h in r["hosts"] if h["name"]=="server"][0])' "$report/r/results.json")
if [ $ladder_status = 0 ] && [ "$wide" = 0 ] &&
   sed -n 2p "$report/ladder.txt" | grep -q 'kubernetes issue 74839' &&
   grep -q '| crafted PA seq' "$report/ladder.txt" &&
   tr -s ' |\n' ' ' <"$report/ladder.txt" | grep -q "not un-DNATed: leaves router from $server4, not the service"; then
	ok "ladder: 80 columns, the story first, the crafted segment marked, the un-DNATed hop from $server4"
else
	not_ok "ladder at 80 columns: exit $ladder_status, $wide lines wider"
	sed 's/^/    /' "$report/ladder.txt" | head -40
fi

rm -rf "$report"
