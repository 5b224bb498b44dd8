# Sourced by tests/integration.sh (uses $ctlab, $out, ok, not_ok): the command
# line's conventions — --version, options anywhere, one message per mistake, a
# failed run rerun by the KTAP name it printed, --family/--variant, list --json,
# --color.
# shellcheck shell=bash disable=SC2154  # ctlab and out are set by the sourcing script

cli=$(mktemp -d)

# --version, -V and version: "ctlab VERSION" with the Makefile's VERSION.
version=$(sed -n 's/^VERSION := //p' Makefile)
all_same=yes
for word in --version -V version; do
	"$ctlab" "$word" >"$cli/version" 2>&1 || all_same=no
	grep -q "^ctlab $version\( (.*)\)\?$" "$cli/version" || all_same=no
done
if [ "$all_same" = yes ]; then
	ok "--version, -V and version print 'ctlab $version' and the commit"
else
	not_ok "--version: $(cat "$cli/version")"
fi

# Options after the names, as GNU tools take them.
"$ctlab" run tests/fixtures/flag-check.ct --json "$cli/late.json" >"$cli/late.out" 2>&1
status=$?
if [ $status = 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$cli/late.json" 2>/dev/null; then
	ok "an option after the scenario names is taken (--json written)"
else
	not_ok "an option after the names: exit $status"
	sed 's/^/    /' "$cli/late.out"
fi

# One message per mistake, ctlab's, naming the word (not getopt's as well).
one_message() {
	local want=$1
	shift
	"$ctlab" "$@" >/dev/null 2>"$cli/err"
	[ $? = 2 ] && [ "$(head -1 "$cli/err")" = "$want" ] && [ "$(wc -l <"$cli/err")" = 2 ]
}
if one_message "ctlab: run: unknown option '--bogus'" run --bogus &&
   one_message "ctlab: run: unknown option '-x'" run -vx &&
   one_message "ctlab: run: option '--json' expects a value" run --json &&
   one_message "ctlab: diff: unknown option '--frob'" diff --frob a b &&
   one_message "ctlab: list: unknown option '--frob'" list --frob; then
	ok "a bad option is one message of ctlab's, naming it (exit 2)"
else
	not_ok "a bad option: $(cat "$cli/err")"
fi

# A failed run, rerun by the name its KTAP line printed: that run alone.
mkdir "$cli/catalogue"
cp tests/fixtures/variant-fails.ct tests/fixtures/flag-check.ct "$cli/catalogue/"
CTLAB_SCENARIOS=$cli/catalogue "$ctlab" run >"$cli/all.ktap" 2>&1
failed_name=$(sed -n 's/^not ok [0-9]* \([^ ]*\).*/\1/p' "$cli/all.ktap" | tail -1)
CTLAB_SCENARIOS=$cli/catalogue "$ctlab" run "$failed_name" >"$cli/one.ktap" 2>&1
status=$?
if [ "$failed_name" = fixture-variant-fails/bad/ipv6 ] && [ $status = 1 ] &&
   grep -qx '1\.\.1' "$cli/one.ktap" && grep -qx "not ok 1 $failed_name" "$cli/one.ktap"; then
	ok "a failed run's KTAP name ($failed_name) reruns exactly that run"
else
	not_ok "rerun by KTAP name '$failed_name': exit $status"
	sed 's/^/    /' "$cli/all.ktap" "$cli/one.ktap" | head -20
fi

# A name that does not fit says what would (the variants there are).
CTLAB_SCENARIOS=$cli/catalogue "$ctlab" run fixture-variant-fails/ugly/ipv4 >/dev/null 2>"$cli/err"
status=$?
if [ $status = 2 ] && grep -q 'has the variants good, bad' "$cli/err"; then
	ok "an unknown variant in a run name is refused, naming the variants there"
else
	not_ok "unknown variant in a run name: exit $status: $(cat "$cli/err")"
fi

# --family and --variant keep those runs of every scenario named.
runs_of() { CTLAB_SCENARIOS=$cli/catalogue "$ctlab" run "$@" 2>/dev/null | sed -n 's/^\(not \)\?ok [0-9]* \([^ ]*\).*/\2/p' | tr '\n' ' '; }
got_family=$(runs_of --family ipv6 fixture-variant-fails fixture-flag-check)
got_variant=$(runs_of fixture-variant-fails --variant good)
got_both=$(runs_of --variant bad --family ipv4)
if [ "$got_family" = "fixture-variant-fails/good/ipv6 fixture-variant-fails/bad/ipv6 fixture-flag-check/ipv6 " ] &&
   [ "$got_variant" = "fixture-variant-fails/good/ipv4 fixture-variant-fails/good/ipv6 " ] &&
   [ "$got_both" = "fixture-variant-fails/bad/ipv4 " ] &&
   exits 2 env CTLAB_SCENARIOS="$cli/catalogue" "$ctlab" run --variant nowhere; then
	ok "--family and --variant keep only those runs; a filter nothing matches exits 2"
else
	not_ok "filters: family '$got_family', variant '$got_variant', both '$got_both'"
fi

# list: one line per scenario, --json the same scenarios for machines.
listed=$("$ctlab" list | wc -l)
json_listed=$("$ctlab" list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(e["story"] and e["topology"] and e["runs"] >= 1 for e in d); print(len(d))' 2>&1)
if [ "$listed" = "$json_listed" ] && "$ctlab" list | grep -q '^syn-rst  *pair  *4 '; then
	ok "list shows topology, runs and story, one line each; --json the same $listed"
else
	not_ok "list: $listed lines, --json: $json_listed"
fi

# --color: always colours a pipe, never leaves a terminal plain (NO_COLOR aside).
"$ctlab" run -v --color=always tests/fixtures/flag-check.ct >"$cli/always" 2>&1
"$ctlab" run -v --color never tests/fixtures/flag-check.ct >"$cli/never" 2>&1
if grep -q "$(printf '\033')\[" "$cli/always" && ! grep -q "$(printf '\033')" "$cli/never" &&
   exits 2 "$ctlab" run --color=sometimes; then
	ok "--color=always colours a pipe, --color never does not, a bad value exits 2"
else
	not_ok "--color"
fi

# An nft ruleset nft cannot parse: exit 2 before anything runs, naming the
# scenario's line and the ruleset's own line with its carets under it.
"$ctlab" run tests/fixtures/nft-syntax.ct >"$cli/nft.out" 2>"$cli/nft.err"
status=$?
if [ $status = 2 ] && [ ! -s "$cli/nft.out" ] &&
   grep -qxF 'tests/fixtures/nft-syntax.ct:6:1: nft ruleset: ruleset line 4:26-26: Error: syntax error, unexpected newline' "$cli/nft.err" &&
   grep -qxF '  tcp dport 80 frobnicate' "$cli/nft.err"; then
	ok "a ruleset nft cannot parse is a scenario error (exit 2) before any run, at its line and the ruleset's"
else
	not_ok "nft ruleset error: exit $status"
	sed 's/^/    /' "$cli/nft.out" "$cli/nft.err" | head -10
fi

rm -rf "$cli"
