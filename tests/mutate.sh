#!/usr/bin/env bash
# Mutation test: every expectation in the catalogue must be able to fail.  For
# each scenario file, change one expectation — its verdict, its reason or an
# entry state, in turn — and require ctlab to report that scenario failing at
# exactly the changed line.  Prints one "ok"/"not ok" line per mutant.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mutate KIND FILE OUT: write FILE with its first mutable KIND line changed into
# OUT; print the line number, or nothing when there is no such line.
mutate() {
	awk -v kind="$1" '
	function done_at() { if (!line) line = NR }
	!line && kind == "verdict" && /expect +verdict +[a-z]+/ {
		if ($0 ~ /verdict +invalid/) sub(/verdict +invalid/, "verdict established")
		else sub(/verdict +[a-z]+/, "verdict invalid")
		done_at()
	}
	!line && kind == "reason" && /reason +("|none)/ {
		if ($0 ~ /reason +none/) sub(/reason +none/, "reason \"mutated\"")
		else sub(/reason +"/, "reason \"mutated ")
		done_at()
	}
	!line && kind == "state" && /expect +ct .* state +[A-Z_]+/ {
		# The whole word: state A|B accepts either.
		if ($0 ~ /state +ESTABLISHED([ \t]|$)/) sub(/state +ESTABLISHED/, "state SYN_RECV")
		else sub(/state +[A-Z_|]+/, "state ESTABLISHED")
		done_at()
	}
	{ print > out }
	END { if (line) print line }
	' out="$3" "$2"
}

kinds=(verdict reason state)
passed=0
failed=0
n=0
for file in $(find scenarios -name '*.ct' | sort); do
	# Each file gets one kind, in turn; the next kind if the file has none of it.
	for try in 0 1 2; do
		kind=${kinds[$(((n + try) % 3))]}
		mutant="$work/$(basename "$file" .ct)-$kind.ct"
		line=$(mutate "$kind" "$file" "$mutant")
		[ -n "$line" ] && break
	done
	n=$((n + 1))
	[ -n "$line" ] || continue
	"$ctlab" run "$mutant" >"$work/out" 2>&1
	status=$?
	if [ $status = 4 ]; then
		echo "ok - $file: $kind mutant skipped on this kernel # SKIP"
	elif [ $status = 1 ] && grep -q "^# $mutant:$line:" "$work/out"; then
		passed=$((passed + 1))
		echo "ok - $file: changed $kind at line $line is reported failing"
	else
		failed=$((failed + 1))
		echo "not ok - $file: changed $kind at line $line: exit $status, not reported at that line"
		sed -n "${line}p" "$mutant" | sed 's/^/    mutant: /'
		sed 's/^/    /' "$work/out" | head -20
	fi
done
echo "# mutants: $passed reported failing, $failed missed"
[ $failed = 0 ]
