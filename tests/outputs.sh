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
"$ctlab" run --junit "$outputs/sample.xml" --json "$outputs/sample.json" tests/fixtures/variant-fails.ct \
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

rm -rf "$outputs"
