# Sourced by tests/integration.sh (uses $ctlab, $out, ok, not_ok): kernel
# facts.  tests/fixtures/facts/ holds two control facts (one true and one
# false on every kernel) and a scenario whose steps they guard: each fact is
# probed once and said, the step whose fact is false is skipped naming it,
# the others run; a fact no file declares stops the run with file:line:column
# (exit 2); a catalogue run leaves facts out, a fact named alone runs as a test.
# shellcheck shell=bash disable=SC2154  # ctlab and out are set by the sourcing script

facts=tests/fixtures/facts
# Wide, so that no skip note wraps (the ladder fits $COLUMNS where not a terminal).
COLUMNS=200 CTLAB_SCENARIOS=$facts "$ctlab" run -v uses-facts >"$out/facts.out" 2>"$out/facts.err"
rc=$?
if [ $rc = 0 ] &&
	[ "$(grep -c '^ctlab: fact lab-answers-syn is true on this kernel' "$out/facts.err")" = 1 ] &&
	[ "$(grep -c '^ctlab: fact lab-never-true is false on this kernel' "$out/facts.err")" = 1 ] &&
	[ "$(grep -c 'skip  @fact:lab-never-true .*(fact lab-never-true is false on this' "$out/facts.out")" = 2 ] &&
	[ "$(grep -c 'ok    @!fact:lab-never-true' "$out/facts.out")" = 2 ] &&
	[ "$(grep -c 'ok    @fact:lab-answers-syn' "$out/facts.out")" = 2 ]; then
	ok "facts: each probed once, a false fact's step skipped naming it, the others run"
else
	not_ok "facts: probed and applied (exit $rc)"
	sed 's/^/    /' "$out/facts.err" "$out/facts.out" | head -30
fi

CTLAB_SCENARIOS=$facts "$ctlab" run >"$out/facts-all.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '^1\.\.2$' "$out/facts-all.out" && ! grep -q 'lab-never-true/' "$out/facts-all.out"; then
	ok "facts: a catalogue run leaves the facts out of its runs"
else
	not_ok "facts: a catalogue run leaves the facts out"
	sed 's/^/    /' "$out/facts-all.out" | head -20
fi

CTLAB_SCENARIOS=$facts "$ctlab" run lab-never-true >"$out/facts-one.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q '^not ok 1 lab-never-true/ipv4' "$out/facts-one.out"; then
	ok "facts: a fact named alone runs as a test (and a false one fails)"
else
	not_ok "facts: a fact named alone runs as a test"
	sed 's/^/    /' "$out/facts-one.out" | head -20
fi

CTLAB_SCENARIOS=tests/fixtures/facts-unknown "$ctlab" run unknown-fact >"$out/facts-unknown.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q 'unknown-fact.ct:4:1: expected a fact some scenario file declares with .fact no-such-fact.' "$out/facts-unknown.out"; then
	ok "facts: a fact no file declares stops the run at its line (exit 2)"
else
	not_ok "facts: an unknown fact is an error"
	sed 's/^/    /' "$out/facts-unknown.out" | head -20
fi
