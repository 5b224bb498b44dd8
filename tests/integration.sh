#!/usr/bin/env bash
# Integration tests, as root, on the real kernel: the scenario suite must pass,
# every negative control must be reported failing with the expectation named,
# every malformed file must be a file:line:column error with exit 2 and nothing
# made, and ctlab must leave the host as it found it, even when killed.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
. tests/machine-lock.sh
. tests/wait.sh

passed=0
failed=0
out=$(mktemp -d)
# Whatever happens, nothing ctlab changed may outlive the tests.
trap '"$ctlab" clean >/dev/null 2>&1; rm -rf "$out"' EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check WHAT COMMAND...: ok WHAT if COMMAND succeeds, else not ok.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# What ctlab must never leave or change, and only that (other programs, and
# other ctlab runs with their kept namespaces, come and go meanwhile): veths
# with its link names and addresses from its ranges in the host namespace,
# the sysctls; a killed run's own namespaces are looked for by its pid.
host_state() {
	ip -o link show type veth | sed 's/^[0-9]*: //; s/[@:].*//' | grep -x 'eth[0-9]*' | sort
	ip -o addr show | grep -E ' (198\.1[89]\.|2001:db8:)' | sort
	# The global ones as no other ctlab (a --ct-max run beside) is changing them.
	shared_lock host_sysctls
}

host_sysctls() {
	for key in nf_conntrack_max nf_log_all_netns nf_conntrack_tcp_be_liberal \
		   nf_conntrack_tcp_loose nf_conntrack_log_invalid nf_log/2 nf_log/10; do
		echo "$key=$(settled_values /proc/sys/net/netfilter/$key)"
	done
}

# namespaces_held PID: how many network namespaces PID holds open.
namespaces_held() { find "/proc/$1/fd" -lname 'net:\[*' 2>/dev/null | wc -l; }

# killed_host_unchanged PID REACHED WHAT: SIGKILL the run; it must have got as
# far as meant (REACHED yes) and left the host as it was before the tests.
killed_host_unchanged() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	host_state >"$out/after"
	find /run/netns -maxdepth 1 -name "ctlab-$1-*" 2>/dev/null | sort >>"$out/after"
	if [ "$2" = yes ] && cmp -s "$out/before" "$out/after"; then
		ok "$3: host unchanged"
	else
		not_ok "$3: got that far: $2; host state:"
		diff "$out/before" "$out/after" | sed 's/^/    /'
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP integration tests need root (namespaces, raw sockets)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi

host_state >"$out/before"

# 1. The suite, KTAP on stdout (and the JSON, for diff in 4e).
"$ctlab" run --json "$out/suite.json" >"$out/suite.ktap" 2>"$out/suite.err"
status=$?
if [ $status = 0 ] && head -1 "$out/suite.ktap" | grep -qx 'KTAP version 1' &&
   ! grep -q '^not ok' "$out/suite.ktap"; then
	ok "scenario suite passes ($(grep -c '^ok' "$out/suite.ktap") runs)"
else
	not_ok "scenario suite (exit $status)"
	sed 's/^/    /' "$out/suite.ktap" "$out/suite.err"
fi

# 2. Negative controls: exit 1, and each "# expect-failure:" text in the output.
for file in tests/negative/*.ct; do
	"$ctlab" run -v "$file" >"$out/neg.txt" 2>&1
	status=$?
	missing=""
	while IFS= read -r want; do
		grep -qF -- "$want" "$out/neg.txt" || missing="$missing [$want]"
	done < <(sed -n 's/^# expect-failure: //p' "$file")
	if [ $status = 1 ] && [ -z "$missing" ]; then
		ok "negative control $file reported failing"
	else
		not_ok "negative control $file: exit $status, missing:$missing"
		sed 's/^/    /' "$out/neg.txt"
	fi
done

# 2b. Mutants: one expectation changed in every catalogue file must fail there.
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < <(tests/mutate.sh "$ctlab")

# 3. Malformed files ("# error: LINE:COLUMN: message" on their first line):
# exit 2, that message after the file name, nothing run.
for file in tests/scenarios-bad/*.ct; do
	"$ctlab" run "$file" >"$out/bad.out" 2>"$out/bad.err"
	status=$?
	want="$file:$(sed -n '1s/^# error: //p' "$file")"
	if [ $status = 2 ] && grep -qF -- "$want" "$out/bad.err" && [ ! -s "$out/bad.out" ]; then
		ok "malformed $file: $(head -1 "$out/bad.err")"
	else
		not_ok "malformed $file: exit $status, wanted '$want'"
		sed 's/^/    /' "$out/bad.out" "$out/bad.err"
	fi
done

# 3b. Hostile files that cannot be kept in git as they are.
. tests/hostile.sh

# 3c. The table-full stories with another table size.
. tests/table-sizes.sh

# 3d. Kernel facts: probed once, steps guarded by them.
. tests/facts.sh

# 4. Exit codes of the command line itself.
exits() { local want=$1; shift; "$@" >/dev/null 2>&1; [ $? = "$want" ]; }
check "unknown scenario name exits 2" exits 2 "$ctlab" run no-such-scenario
check "unknown command exits 2" exits 2 "$ctlab" frobnicate
usage_printed() { "$ctlab" --help | grep -q '^usage: ctlab'; }
check "--help prints usage" usage_printed
# Each sourced file shares this shell: one that set $out would send every
# test after it to the wrong folder.
suite_out=$out
for sourced in cli outputs report replay diagnose; do
	# shellcheck source=/dev/null  # each of the five above
	. "tests/$sourced.sh"
	if [ "$out" != "$suite_out" ]; then
		not_ok "tests/$sourced.sh changed the suite's \$out to '$out'"
		out=$suite_out
	fi
done
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ctlab" run tests/fixtures/flag-check.ct >"$out/nonroot" 2>&1
	status=$?
	if [ $status = 4 ] && grep -q '# SKIP not root' "$out/nonroot"; then
		ok "not root: SKIP with the reason, exit 4"
	else
		not_ok "not root: exit $status"
		sed 's/^/    /' "$out/nonroot"
	fi
fi

# 4. list and show: every scenario listed; show prints the story and the steps.
listed=$("$ctlab" list | wc -l)
files=$(find scenarios -name '*.ct' | wc -l)
"$ctlab" show seq-over-window >"$out/show.txt" 2>&1
if [ "$listed" = "$files" ] && grep -q '^Conntrack tracks the window each side advertised' "$out/show.txt" &&
   grep -q '^topology pair, IPv4 and IPv6; variants strict, liberal$' "$out/show.txt" &&
   grep -q '^ *16  send     client -> server tcp conn=c flags=PA' "$out/show.txt"; then
	ok "list names all $files scenarios; show prints the story, variants and steps"
else
	not_ok "list ($listed of $files) / show"
	sed 's/^/    /' "$out/show.txt"
fi

# 3e. Two hold/release cycles in one run: the second hold makes the hold table
# the first release deleted (before 7300209: "No such file or directory").
"$ctlab" run tests/fixtures/hold-twice.ct >"$out/hold.txt" 2>&1
status=$?
if [ $status = 0 ]; then
	ok "hold and release twice in one run"
else
	not_ok "hold and release twice in one run: exit $status"
	sed 's/^/    /' "$out/hold.txt"
fi

# 4a. Kernel-version guards: a scenario for a future kernel is a SKIP with the
# reason (exit 4); an expectation guarded out is not checked.
"$ctlab" run tests/fixtures/kernel-future.ct >"$out/guard.txt" 2>&1
status=$?
if [ $status = 4 ] && grep -q '# SKIP needs kernel >= 99.0' "$out/guard.txt"; then
	ok "kernel >= 99.0: SKIP with the reason, exit 4"
else
	not_ok "kernel guard on a scenario: exit $status"
	sed 's/^/    /' "$out/guard.txt"
fi
"$ctlab" run -v tests/fixtures/kernel-step-guard.ct >"$out/guard.txt" 2>&1
status=$?
if [ $status = 0 ] && grep -q 'skip  @kernel<3.0 expect verdict new  (not on this kernel)' "$out/guard.txt"; then
	ok "an expectation guarded out by @kernel<3.0 is not checked"
else
	not_ok "kernel guard on a step: exit $status"
	sed 's/^/    /' "$out/guard.txt"
fi

# 4c. Every catalogue scenario explains itself in 3 to 8 about lines.
short=""
while IFS= read -r file; do
	n=$(grep -c '^about' "$file")
	[ "$n" -ge 3 ] && [ "$n" -le 8 ] || short="$short $file($n)"
done < <(find scenarios -name '*.ct')
check "every scenario has 3-8 about lines${short:+:$short}" [ -z "$short" ]

# 4b. JSON and JUnit outputs, and diff between two JSON results.
"$ctlab" run --json "$out/r.json" --junit "$out/r.xml" tests/fixtures/flag-check.ct >/dev/null 2>&1
if python3 - "$out/r.json" "$out/r.xml" <<'PY'
import json, sys, xml.etree.ElementTree as ET
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["name"] for r in runs] == ["fixture-flag-check/ipv4", "fixture-flag-check/ipv6"], runs
for r in runs:
    assert r["outcome"] == "pass"
    sent = [s for s in r["steps"] if "sent_packet" in s]
    p = r["packets"][sent[0]["sent_packet"] - 1]
    assert p["verdict"] == "invalid" and p["reason"] == "invalid tcp flag combination", p
    assert p["flags"] == "SR", p
    assert r["hosts"][1]["observing"] and r["hosts"][1]["name"] == "server", r["hosts"]
    assert r["sysctls"]["net.netfilter.nf_conntrack_tcp_loose"] == "1", r["sysctls"]
suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
assert suite.get("tests") == "2" and suite.get("failures") == "0", suite.attrib
PY
then ok "--json has every packet with verdict and reason; --junit is valid JUnit"
else not_ok "--json/--junit output"; fi
sed 's/"invalid tcp flag combination"/"flags changed"/; s/"net.netfilter.nf_conntrack_tcp_loose": "1"/"net.netfilter.nf_conntrack_tcp_loose": "0"/' "$out/r.json" >"$out/r2.json"
"$ctlab" diff "$out/r.json" "$out/r.json" >/dev/null; same=$?
"$ctlab" diff "$out/r.json" "$out/r2.json" >"$out/diff.txt"; changed=$?
if [ $same = 0 ] && [ $changed = 1 ] && grep -q 'fixture-flag-check/ipv4: .*flag-check.ct:' "$out/diff.txt" &&
   grep -q 'reason  invalid tcp flag combination -> flags changed' "$out/diff.txt" &&
   grep -q 'fixture-flag-check/ipv4: net.netfilter.nf_conntrack_tcp_loose 1 -> 0' "$out/diff.txt"; then
	ok "diff: no change exits 0; a changed reason is named, exit 1"
else
	not_ok "diff: same $same, changed $changed"
	sed 's/^/    /' "$out/diff.txt"
fi

# 4e. diff of two real catalogue runs on this kernel: no change, exit 0 (the
# random numbers, ports, ISNs and ticking timeouts aside); then copies of one
# with a reason, a reply's verdict and an entry's timeout edited: each named,
# exit 1.
"$ctlab" run --json "$out/suite2.json" >/dev/null 2>&1
"$ctlab" diff "$out/suite.json" "$out/suite2.json" >"$out/same.txt" 2>&1
status=$?
if [ $status = 0 ] && head -1 "$out/same.txt" | grep -q '^0 of [0-9]* runs changed: no behavioural change$'; then
	ok "diff of two catalogue runs: $(head -1 "$out/same.txt"), exit 0"
else
	not_ok "diff of two catalogue runs: exit $status"
	head -40 "$out/same.txt" | sed 's/^/    /'
fi
# edit KIND: a copy of suite.json with one thing changed in seq-over-window/strict/ipv4.
edit() {
	python3 - "$out/suite.json" "$out/edited.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
run = [r for r in doc["runs"] if r["name"] == "seq-over-window/strict/ipv4"][0]
send = [s for s in run["steps"] if s["kind"] == "send"][0]
if sys.argv[3] == "reason":
    p = run["packets"][send["sent_packet"] - 1]
    p["reason"] = p["reason"].replace("over upper bound", "over the upper bound")
elif sys.argv[3] == "verdict":
    reply = [p for p in run["packets"][send["first_packet"] - 1:send["end_packet"] - 1]
             if p["index"] != send["sent_packet"]][0]
    reply["verdict"] = "invalid"
else:
    send["entries"][0]["timeout"] = 10
json.dump(doc, open(sys.argv[2], "w"), indent=1)
PY
}
for change in "reason:reason  SEQ is over upper bound [0-9]* (over the window of the receiver) -> SEQ is over the upper bound" \
	      "verdict:verdict established -> invalid" "timeout:timeout [0-9]* s -> 10 s"; do
	edit "${change%%:*}"
	"$ctlab" diff "$out/suite.json" "$out/edited.json" >"$out/edited.txt" 2>&1
	status=$?
	if [ $status = 1 ] && head -1 "$out/edited.txt" | grep -q '^1 of [0-9]* runs changed: 1 [a-z ]*$' &&
	   grep -q "^seq-over-window/strict/ipv4: scenarios/tcp-window/seq-over-window.ct:[0-9]*: send " "$out/edited.txt" &&
	   grep -q "^        ${change#*:}" "$out/edited.txt"; then
		ok "diff names an edited ${change%%:*}: $(head -1 "$out/edited.txt"), exit 1"
	else
		not_ok "diff of an edited ${change%%:*}: exit $status"
		head -20 "$out/edited.txt" | sed 's/^/    /'
	fi
done

# A write the kernel cut into other segments is timing (the same bytes, other
# packet lengths); a write of other bytes is a change.
segments() {
	python3 - "$out/suite.json" "$out/edited.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
run = [r for r in doc["runs"] if r["name"] == "ack-loss-stall/ipv4"][0]
write = [s for s in run["steps"] if s["text"].startswith("write")][0]
data = [p for p in run["packets"][write["first_packet"] - 1:write["end_packet"] - 1]
        if p.get("length", 0) > 100 and p["src"] == run["hosts"][0]["addr"]]
if sys.argv[3] == "cut":
    data[0]["length"] += 100
    data[1]["length"] -= 100
elif sys.argv[3] == "moved":
    # The write's last 100 bytes left during the read, in a segment without PSH.
    read = run["steps"][run["steps"].index(write) + 1]
    later = [p for p in run["packets"][read["first_packet"] - 1:read["end_packet"] - 1]
             if p.get("length", 0) > 0 and p["src"] == run["hosts"][0]["addr"]]
    if later:
        data[-1]["length"] -= 100
        later[0]["length"] += 100
        later[0]["flags"] = later[0]["flags"].replace("P", "")
    else:
        # All of it left during the write: its last segment moves into the
        # read, cut another way (a boundary alone moves no packet).
        read["first_packet"] = write["end_packet"] = data[-1]["index"]
        data[-2]["length"] += 100
        data[-1]["length"] -= 100
        data[-1]["flags"] = data[-1]["flags"].replace("P", "")
else:
    data[0]["length"] -= 100
json.dump(doc, open(sys.argv[2], "w"), indent=1)
PY
}
segments cut
"$ctlab" diff "$out/suite.json" "$out/edited.json" >"$out/edited.txt" 2>&1
cut_status=$?
cut_line=$(grep -c '^# not counted: 1 step whose data the kernel cut into other segments' "$out/edited.txt")
segments moved
"$ctlab" diff "$out/suite.json" "$out/edited.json" >"$out/edited3.txt" 2>&1
moved_status=$?
moved_line=$(grep -c '^# not counted: [0-9]* steps\{0,1\} whose data the kernel cut into other segments' "$out/edited3.txt")
segments total
"$ctlab" diff "$out/suite.json" "$out/edited.json" >"$out/edited2.txt" 2>&1
total_status=$?
if [ $cut_status = 0 ] && [ "$cut_line" = 1 ] && [ $total_status = 1 ] &&
   [ $moved_status = 0 ] && [ "$moved_line" = 1 ] &&
   grep -q '^1 of [0-9]* runs changed: 1 packet length$' "$out/edited2.txt"; then
	ok "diff: the same write cut into other segments, or partly sent in the next step, is not a change; other bytes are"
else
	not_ok "diff of segments: cut exit $cut_status, moved exit $moved_status, total exit $total_status"
	head -12 "$out/edited.txt" "$out/edited3.txt" "$out/edited2.txt" | sed 's/^/    /'
fi

# 4d. The located RST chain: in the incidents' verbose and JSON output, in
# none of the survivors'; and without its fix a survivor is an incident again.
"$ctlab" run -v --json "$out/nat.json" scenarios/nat-reset/ >"$out/nat.txt" 2>&1
status=$?
if [ $status = 0 ] && python3 - "$out/nat.json" <<'PY'
import json, sys
runs = {r["name"]: r for r in json.load(open(sys.argv[1]))["runs"]}
for family in ("ipv4", "ipv6"):
    for name, sender in (("invalid-not-unnated", "client"), ("snat-gateway-reset", "router")):
        chains = runs["%s/%s" % (name, family)]["chains"]
        assert len(chains) == 1, (name, chains)
        c = chains[0]
        assert c["rst_sender"] == sender and c["rst_receiver"] == "server", c
        assert c["cause_verdict"] == "invalid" and c["judged_at"] == "router", c
        assert c["cause_reason"].startswith("SEQ is over upper bound "), c
        assert c["reset"] == "c.server" and c["reset_error"] == "ECONNRESET", c
    for name in ("invalid-drop-fix/fixed", "liberal-fix/liberal", "lost-state-loose/loose1"):
        assert runs["%s/%s" % (name, family)]["chains"] == [], name
PY
then
	ok "RST chains located in the incidents (JSON), none in the survivors"
else
	not_ok "RST chains in scenarios/nat-reset (exit $status)"
fi
# A chain wraps to the width, its lines after the first indented by four.
awk '/^  RST /{ if (l) print l; l = $0; next }
     l && /^    [^ ]/ { sub(/^ +/, " "); l = l $0; next }
     { if (l) { print l; l = "" } print }
     END { if (l) print l }' "$out/nat.txt" >"$out/nat-joined.txt"
if grep -q '^  RST client->server caused by packet #4 (server->client, .*INVALID at router: SEQ is over upper bound .*it reset c.server (ECONNRESET)$' "$out/nat-joined.txt" &&
   grep -q '^  RST router->server caused by packet #4 (server->router, .*INVALID at router: .*it reset c.server (ECONNRESET)$' "$out/nat-joined.txt"; then
	ok "RST chains printed under the ladders of both incidents"
else
	not_ok "RST chains in the verbose output"
fi
# Through the DNAT the reply is numbered from the client's SYN all the same.
if grep -q ' SA seq 0 ack 1 win ' "$out/nat.txt" &&
   grep -q 'INVALID at router: SEQ is over upper bound [0-9]* (over the window of the receiver));' "$out/nat-joined.txt" &&
   grep -q 'caused by packet #4 (server->client, seq [0-9]* ack 1 len 100,' "$out/nat-joined.txt"; then
	ok "sequence numbers relative to the SYN across the DNAT, in the ladder and the chain"
else
	not_ok "relative sequence numbers across the DNAT"
fi
for fix in "invalid-drop-fix.ct:^@fixed   nft router" "liberal-fix.ct:^@liberal sysctl router"; do
	file=scenarios/nat-reset/${fix%%:*}
	sed "/${fix#*:}/d" "$file" >"$out/unfixed.ct"
	"$ctlab" run "$out/unfixed.ct" >"$out/unfixed.txt" 2>&1
	status=$?
	if [ $status = 1 ] && grep -q '^not ok' "$out/unfixed.txt"; then
		ok "$file without its fix fails"
	else
		not_ok "$file without its fix: exit $status"
	fi
done

# 5. --keep leaves the namespaces for `ip netns exec`; `ctlab clean` removes them.
# Its namespaces by its pid: another ctlab's kept ones may come and go.
"$ctlab" run --keep tests/fixtures/flag-check.ct >/dev/null 2>"$out/keep.err" &
keep_pid=$!
wait $keep_pid
kept=$(ip netns list | grep -c "^ctlab-$keep_pid-fixture-flag-check-")
"$ctlab" clean >/dev/null
left=$(ip netns list | grep -c "^ctlab-$keep_pid-")
if [ "$kept" = 4 ] && [ "$left" = 0 ]; then
	ok "--keep kept 4 namespaces, clean removed them"
else
	not_ok "--keep kept $kept namespaces (want 4), $left left after clean"
	sed 's/^/    /' "$out/keep.err"
fi

# 5b. --ct-max: the global maximum is changed for the run only, restored on
# exit; a SIGKILL of the run and of its guardian (which alone would restore
# it, section 9) leaves it changed and journaled, and `ctlab clean` restores it.
max_file=/proc/sys/net/netfilter/nf_conntrack_max
# settled_max: the maximum as no ctlab is changing it (another make check's
# --ct-max run holds the machine lock until it has restored its own change);
# what this section's own run set is read directly, while that run holds it.
settled_max() { settled $max_file; }
# children_of PID: the pids of PID's children, from /proc (no procps needed).
children_of() {
	local stat line fields
	for stat in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$stat" || continue
		read -ra fields <<<"${line##*) }"
		[ "${fields[1]}" = "$1" ] && { stat=${stat#/proc/}; echo "${stat%/stat}"; }
	done
}
old_max=$(settled_max)
"$ctlab" run --ct-max 8192 tests/fixtures/flag-check.ct >/dev/null 2>&1
now=$(settled_max)
check "--ct-max restored on exit ($old_max; now $now)" [ "$now" = "$old_max" ]
"$ctlab" run -j1 --ct-max 8192 scenarios/table-full/recovery.ct >/dev/null 2>&1 &
pid=$!
# Bounded by time, not by a count of looks: another ctlab on the machine (a
# second make check, a CI job) may hold the machine lock for minutes first.
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	[ "$(cat $max_file)" = 8192 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.02
done
changed=$(cat $max_file)
# shellcheck disable=SC2046  # one pid a word, split on purpose
kill -9 $(children_of $pid) $pid 2>/dev/null
wait $pid 2>/dev/null
left=$(cat $max_file)
"$ctlab" clean >"$out/clean.txt" 2>&1
# Another ctlab's flood or fill (a second make check, a CI job) puts back what a
# dead process journaled as soon as it has the machine: then clean finds
# nothing left, and the value is back all the same.
if [ "$changed" = 8192 ] && [ "$(settled_max)" = "$old_max" ] &&
   { { [ "$left" = 8192 ] && grep -q 'nf_conntrack_max' "$out/clean.txt"; } ||
     ! grep -q 'nf_conntrack_max' "$out/clean.txt"; }; then
	ok "killed with --ct-max: journaled, and put back to $old_max ($(grep -q nf_conntrack_max "$out/clean.txt" && echo 'by ctlab clean' || echo 'by another ctlab first'))"
else
	not_ok "--ct-max after SIGKILL: changed $changed, left $left, now $(cat $max_file)"
	sed 's/^/    /' "$out/clean.txt"
fi

# 5c. A ctlab already running when another, with --ct-max, is killed: its
# next run that needs the machine (a flood here) puts the dead one's setting
# back before it begins, instead of flooding a table of another size (seen:
# a matrix run beside make check, "saw 65536" entries in a 262144 table).
old_max=$(settled_max)
"$ctlab" run -j1 --ct-max 8192 scenarios/table-full/recovery.ct >/dev/null 2>&1 &
pid=$!
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ] && [ "$(cat $max_file)" != 8192 ] && kill -0 $pid 2>/dev/null; do
	sleep 0.02
done
changed=$(cat $max_file)
"$ctlab" run -j1 tests/fixtures/small-table.ct >"$out/waiter.txt" 2>&1 &
waiter=$!
# The waiter has started (its own recovery at start found a live owner) once
# it waits for the machine lock: a blocked flock shows in /proc/locks as "->".
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] && ! grep -q -- "-> FLOCK .* $waiter " /proc/locks; do
	sleep 0.02
done
blocked=$(grep -c -- "-> FLOCK .* $waiter " /proc/locks)
# shellcheck disable=SC2046  # one pid a word, split on purpose
kill -9 $(children_of $pid) $pid 2>/dev/null
wait $pid 2>/dev/null
wait $waiter
waiter_status=$?
"$ctlab" clean >"$out/clean.txt" 2>&1
if [ "$changed" = 8192 ] && [ "$blocked" -ge 1 ] && [ $waiter_status = 0 ] &&
   [ "$(settled_max)" = "$old_max" ] && ! grep -q 'nf_conntrack_max' "$out/clean.txt"; then
	ok "a running ctlab's flood puts back what a killed --ct-max run left ($old_max) before it floods"
else
	not_ok "flood after a killed --ct-max run: changed $changed, waiter blocked $blocked, exit $waiter_status"
	sed 's/^/    /' "$out/waiter.txt" "$out/clean.txt" | tail -8
fi

# 5d. The same while the killed run's pid still shows (a zombie its parent has
# not reaped: it let go of the machine lock as it died): the next run that
# needs the machine puts its setting back all the same (before, it kept the
# dead run's 8192 and filled that table, then ctlab clean put 262144 back
# under it: "expected 262144 entries, saw 8192").
old_max=$(settled_max)
rm -f "$out/zombie.pid"
# Its parent execs into sleep, which never reaps it.
bash -c '"$0" run -j1 --ct-max 8192 scenarios/table-full/recovery.ct >/dev/null 2>&1 &
echo $! >"$1"; exec sleep 600' "$ctlab" "$out/zombie.pid" &
parent=$!
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ] && { [ ! -s "$out/zombie.pid" ] || [ "$(cat $max_file)" != 8192 ]; }; do
	sleep 0.02
done
zombie=$(cat "$out/zombie.pid" 2>/dev/null)
changed=$(cat $max_file)
# shellcheck disable=SC2046  # one pid a word, split on purpose
kill -9 $(children_of "$zombie") "$zombie" 2>/dev/null
zombie_state() { local line; read -r line 2>/dev/null <"/proc/$zombie/stat" && line=${line##*) } && echo "${line:0:1}"; }
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ] && [ "$(zombie_state)" != Z ]; do
	sleep 0.02
done
"$ctlab" run -j1 tests/fixtures/small-table.ct >"$out/after-zombie.txt" 2>&1
after_status=$?
after_max=$(settled_max)
state=$(zombie_state)
kill "$parent" 2>/dev/null
wait "$parent" 2>/dev/null
# Reaped by init now, then gone: only then is it clean's to put back.
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ] && [ -e "/proc/$zombie" ]; do
	sleep 0.02
done
"$ctlab" clean >/dev/null 2>&1
if [ "$changed" = 8192 ] && [ "$state" = Z ] && [ $after_status = 0 ] && [ "$after_max" = "$old_max" ]; then
	ok "a run that needs the machine puts back what a killed --ct-max run left ($old_max) while that run is still a zombie"
else
	not_ok "after a killed --ct-max run, unreaped: changed $changed, its state '$state', the next run exit $after_status, max then $after_max (was $old_max)"
	tail -5 "$out/after-zombie.txt" | sed 's/^/    /'
fi

# 5e. A --ct-max run SIGKILLed while its guardian cannot run yet (stopped):
# the guardian keeps the machine lock until it has put the setting back, so
# no reader under the lock sees the dead run's value (before, the lock was
# free at the kill: a table-sizes test beside a soak's kills read "65536").
# Another ctlab holding the lock meanwhile makes the look below pass all
# the same; the mutant is seen on a machine of its own.
old_max=$(settled_max)
"$ctlab" run -j1 --ct-max 8192 scenarios/table-full/recovery.ct >/dev/null 2>&1 &
pid=$!
max_is_8192() { [ "$(cat $max_file)" = 8192 ] || ! kill -0 "$1" 2>/dev/null; }
wait_until 300 max_is_8192 $pid
changed=$(cat $max_file)
guardian=""
for child in $(children_of $pid); do
	[ "$(cat "/proc/$child/comm" 2>/dev/null)" = ctlab-guardian ] && guardian=$child
done
kill -STOP "$guardian" 2>/dev/null
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if flock -s -w 2 /run/ctlab/machine.lock true; then held=no; else held=yes; fi
kill -CONT "$guardian" 2>/dev/null
after_max=$(settled_max)
if [ "$changed" = 8192 ] && [ -n "$guardian" ] && [ $held = yes ] && [ -n "$old_max" ] &&
   [ "$after_max" = "$old_max" ]; then
	ok "a killed --ct-max run's guardian keeps the machine until it has put $old_max back"
else
	not_ok "killed --ct-max run, guardian stopped: changed $changed, guardian '$guardian', lock held $held, max then $after_max (was $old_max)"
fi
"$ctlab" clean >/dev/null 2>&1

# 5f. A run that must wait for the machine (held here as a flood would hold
# it) says so, once, and goes on when it is let go.
exec {machine}>>/run/ctlab/machine.lock
if flock -x -w 300 $machine; then
	"$ctlab" run tests/fixtures/flag-check.ct tests/fixtures/flag-check.ct >"$out/waits.out" 2>"$out/waits.err" &
	pid=$!
	told_wait() { grep -q '^ctlab: waiting for the machine: another ctlab process has it' "$out/waits.err"; }
	wait_until 60 told_wait && told=yes || told=no
	flock -u $machine
	exec {machine}>&-
	wait $pid
	status=$?
	if [ "$told" = yes ] && [ $status = 0 ] && [ "$(grep -c 'waiting for the machine' "$out/waits.err")" = 1 ]; then
		ok "a run waiting for the machine says so once, and passes once it is free"
	else
		not_ok "a run kept from the machine: told $told, exit $status"
		sed 's/^/    /' "$out/waits.err" | head -5
	fi
else
	exec {machine}>&-
	not_ok "the machine lock not had in 300 s"
fi

# 6. SIGKILL in the middle of a run: the kernel frees what ctlab made.  Wait
# (bounded) until ctlab holds a namespace, then kill it.
"$ctlab" run >/dev/null 2>&1 &
pid=$!
held=""
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	held=$(namespaces_held $pid)
	[ "${held:-0}" -gt 0 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.01
done
[ "${held:-0}" -gt 0 ] && reached=yes || reached=no
killed_host_unchanged $pid "$reached" "killed mid-run (holding ${held:-0} namespaces)"

# 6b. Memory: a sample of runs under valgrind, no error and no leak of ctlab's
# own (tests/valgrind.supp names what the libraries do). Not for a binary
# built with AddressSanitizer (tests/sanitized.sh), which valgrind cannot run.
if ldd "$ctlab" 2>/dev/null | grep -q libasan; then
	echo "# SKIP valgrind: $ctlab is built with AddressSanitizer"
elif valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=tests/valgrind.supp -q "$ctlab" run -j1 --out "$out/valgrind" tests/fixtures/small-table.ct \
	tests/fixtures/flag-check.ct scenarios/nat-reset/invalid-not-unnated.ct \
	scenarios/udp/udp-length-too-large.ct scenarios/icmp/icmp-error-related.ct \
	scenarios/tcp-state/fin-handshake.ct >"$out/valgrind.txt" 2>&1; then
	ok "valgrind: no errors, no leaks in a sample of runs"
else
	not_ok "valgrind (exit $?)"
	grep '==[0-9]*==' "$out/valgrind.txt" | head -30 | sed 's/^/    /'
fi

# 7. SIGKILL in the middle of a flood (the process has spent 0.2 s of CPU time
# in the kernel with a routed topology up): the host is as it was.
"$ctlab" run -j1 scenarios/table-full/syn-flood-early-drop.ct >/dev/null 2>&1 &
pid=$!
spent=0
# A flood waits for the machine lock while another ctlab has it: bounded by time.
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	held=$(namespaces_held $pid)
	spent=$(awk '{ print $14 + $15 }' /proc/$pid/stat 2>/dev/null || echo 0)
	[ "${held:-0}" -ge 3 ] && [ "${spent:-0}" -ge 20 ] && break
	kill -0 $pid 2>/dev/null || break
done
[ "${spent:-0}" -ge 20 ] && reached=yes || reached=no
killed_host_unchanged $pid "$reached" "killed mid-flood (${spent:-0} ticks in)"

# 8. Output paths another user could have planted something at: a symlink at
# --json, --junit or --pcap is refused before anything runs (exit 2, the path
# named) and what it points to is never written; a file there, even a hard
# link to one elsewhere, is replaced whole, and the one elsewhere left as it was.
planted="$out/planted"
mkdir -p "$planted/victim-dir"
echo "not yours" >"$planted/victim"
for opt in --json --junit --pcap; do
	for to in victim victim-dir; do
		link="$planted/link$opt-$to"
		ln -s "$planted/$to" "$link"
		"$ctlab" run $opt "$link" tests/fixtures/flag-check.ct >"$out/planted.out" 2>"$out/planted.err"
		status=$?
		if [ $status = 2 ] && [ ! -s "$out/planted.out" ] &&
		   grep -qxF "ctlab: $opt $link: a symlink: refusing to write through it" "$out/planted.err" &&
		   [ "$(cat "$planted/victim")" = "not yours" ] && [ -z "$(ls -A "$planted/victim-dir")" ]; then
			ok "$opt at a symlink to the $to: refused (exit 2), nothing written through it"
		else
			not_ok "$opt at a symlink to the $to: exit $status, victim: $(head -c 40 "$planted/victim")"
			sed 's/^/    /' "$out/planted.err" "$out/planted.out"
			# shellcheck disable=SC2012  # a listing for a person to read
			ls -lA "$planted/victim-dir" | sed 's/^/    /'
		fi
	done
done
"$ctlab" run --pcap "$planted/link--pcap-victim-dir/" tests/fixtures/flag-check.ct >/dev/null 2>"$out/planted.err"
status=$?
if [ $status = 2 ] && [ -z "$(ls -A "$planted/victim-dir")" ]; then
	ok "--pcap at a symlink with a trailing slash: refused (exit 2)"
else
	not_ok "--pcap at a symlink with a trailing slash: exit $status"
fi

ln "$planted/victim" "$planted/r.json"
ln "$planted/victim" "$planted/r.xml"
mkdir "$planted/pcap"
ln -s "$planted/victim" "$planted/pcap/fixture-flag-check-ipv4.pcapng"
ln "$planted/victim" "$planted/pcap/fixture-flag-check-ipv6.pcapng"
"$ctlab" run --json "$planted/r.json" --junit "$planted/r.xml" --pcap "$planted/pcap" \
	tests/fixtures/flag-check.ct >"$out/planted.out" 2>"$out/planted.err"
status=$?
if [ $status = 0 ] && [ "$(cat "$planted/victim")" = "not yours" ] &&
   [ -z "$(find "$planted" "$planted/pcap" -mindepth 1 -maxdepth 1 -name '.*')" ] &&
   [ "$(head -c 4 "$planted/pcap/fixture-flag-check-ipv6.pcapng" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a ] &&
   [ -L "$planted/pcap/fixture-flag-check-ipv4.pcapng" ] &&
   grep -qxF "ctlab: --pcap $planted/pcap/fixture-flag-check-ipv4.pcapng: a symlink: refusing to write through it" "$out/planted.err" &&
   python3 - "$planted/r.json" "$planted/r.xml" <<'PY'
import json, sys, xml.dom.minidom
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["name"] for r in runs] == ["fixture-flag-check/ipv4", "fixture-flag-check/ipv6"], runs
suite = xml.dom.minidom.parse(sys.argv[2]).getElementsByTagName("testsuite")[0]
assert suite.getAttribute("tests") == "2" and suite.getAttribute("failures") == "0"
PY
then
	ok "files (hard links) at --json, --junit and in --pcap replaced whole; a symlink in --pcap refused; the file elsewhere untouched"
else
	not_ok "outputs over planted files: exit $status, victim: $(head -c 40 "$planted/victim")"
	sed 's/^/    /' "$out/planted.err"
	# shellcheck disable=SC2012  # a listing for a person to read
	ls -lA "$planted" "$planted/pcap" | sed 's/^/    /'
fi

# 9. The global maximum comes back however a run ends, without `ctlab clean`:
# a SIGPIPE (`| head`) or another fatal signal (restored, then died of it, its
# guardian ended with it), a SIGKILL (the guardian restores it, then exits).
# Every wait is for the event, bounded. Not root: clean and --ct-max say they
# need root, exit 4. clean removes only the caller's kept namespaces.
old_max=$(settled_max)
ct=65536
[ "$old_max" = $ct ] && ct=65537
# The value itself, not settled's: a restore that failed leaves its journal
# line, which settled would tell as restored.
restored() { [ "$(shared_lock cat $max_file)" = "$old_max" ]; }
changed_by() { [ "$(cat $max_file)" = $ct ] && kill -0 "$1" 2>/dev/null; }
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
no_entry_of() { ! grep -qs " $1\$" /run/ctlab/journal; }
# A failed check must not leave the host changed either.
repair() { "$ctlab" clean >/dev/null 2>&1; }

"$ctlab" run --ct-max $ct tests/fixtures/flag-check.ct 2>"$out/pipe.err" | head -1 >"$out/pipe.out"
status=${PIPESTATUS[0]}
if restored && grep -qx 'KTAP version 1' "$out/pipe.out"; then
	ok "--ct-max | head -1: $old_max back (exit $status)"
else
	not_ok "--ct-max | head -1: exit $status, nf_conntrack_max $(cat $max_file)"
	sed 's/^/    /' "$out/pipe.out" "$out/pipe.err"
	repair
fi

# The same, certain to be a SIGPIPE mid-run: stdout a FIFO nobody reads any more.
mkfifo "$out/fifo"
# Open for both to get past the FIFO's open, keep a write end, drop the reader.
# shellcheck disable=SC2094  # the same FIFO opened twice on purpose
exec {both}<>"$out/fifo" {unread}>"$out/fifo" {both}<&-
"$ctlab" run --ct-max $ct tests/fixtures/flag-check.ct 1>&"$unread" 2>"$out/pipe.err"
status=$?
exec {unread}>&-
if restored && [ $status = $((128 + 13)) ]; then
	ok "--ct-max, SIGPIPE at its first line: $old_max back, died of SIGPIPE"
else
	not_ok "--ct-max into a pipe nobody reads: exit $status, nf_conntrack_max $(cat $max_file)"
	sed 's/^/    /' "$out/pipe.err"
	repair
fi

# SIGUSR1 is handled: restored before it dies, its guardian reaped. SIGKILL
# is not: the guardian restores, within the bound, and is gone.
for sig in USR1 KILL; do
	"$ctlab" run -j1 --ct-max $ct scenarios/table-full/recovery.ct >/dev/null 2>"$out/sig.err" &
	pid=$!
	wait_until 30 changed_by $pid && reached=yes || reached=no
	guardian=$(children_of $pid)
	kill -$sig $pid 2>/dev/null
	wait $pid 2>/dev/null
	status=$?
	took=""
	if [ $sig = KILL ]; then
		start=$(date +%s%N)
		wait_until 5 restored
		took=" in $((($(date +%s%N) - start) / 1000000)) ms"
		wait_until 5 gone "$guardian"
	fi
	if [ "$reached" = yes ] && restored && gone "$guardian" && no_entry_of $pid &&
	   [ $status = $((128 + $(kill -l $sig))) ]; then
		ok "SIG$sig mid-run with --ct-max: $old_max back$took, no entry or guardian left"
	else
		not_ok "SIG$sig mid-run: reached $reached, exit $status, nf_conntrack_max $(cat $max_file), guardian '$guardian'"
		sed 's/^/    /' "$out/sig.err" /run/ctlab/journal
		repair
	fi
done

setpriv --reuid=65534 --regid=65534 --clear-groups "$ctlab" clean >"$out/nonroot" 2>&1
status=$?
if [ $status = 4 ] && grep -q '^ctlab: clean needs root (' "$out/nonroot"; then
	ok "not root: clean says it needs root, exit 4"
else
	not_ok "not root: clean exit $status"
	sed 's/^/    /' "$out/nonroot"
fi
setpriv --reuid=65534 --regid=65534 --clear-groups "$ctlab" run --ct-max $ct \
	tests/fixtures/flag-check.ct >"$out/nonroot" 2>&1
status=$?
if [ $status = 4 ] && grep -q '^ctlab: --ct-max needs root (' "$out/nonroot" && restored; then
	ok "not root: --ct-max says it needs root, exit 4, nothing changed"
else
	not_ok "not root: --ct-max exit $status, nf_conntrack_max $(cat $max_file)"
	sed 's/^/    /' "$out/nonroot"
fi

# Namespaces kept by a dead pid, one root's, one another user's (the file
# under the mount is theirs): clean removes root's only.
true &
dead=$!
wait $dead
mine=/run/netns/ctlab-$dead-fixture-mine
theirs=/run/netns/ctlab-$dead-fixture-theirs
mkdir -p /run/netns
touch "$mine" "$theirs"
chown 65534:65534 "$theirs"
mount --bind /proc/$$/ns/net "$mine" && mount --bind /proc/$$/ns/net "$theirs"
"$ctlab" clean >"$out/clean.txt" 2>&1
status=$?
if [ $status = 0 ] && [ ! -e "$mine" ] && [ -e "$theirs" ] &&
   grep -qxF "left $theirs: kept by uid 65534" "$out/clean.txt"; then
	ok "clean removes the caller's kept namespaces, leaves another user's"
else
	not_ok "clean and another user's kept namespace: exit $status"
	sed 's/^/    /' "$out/clean.txt"
fi
umount "$mine" "$theirs" 2>/dev/null
rm -f "$mine" "$theirs"

# 10. Side by side and killed at random moments (the short version of make
# soak's): two runs of a few quick scenarios at once both pass; runs of a few
# connections and a fill (most of the run), with --ct-max every other time,
# sent SIGKILL five times, SIGINT and SIGTERM twice, each at a random moment,
# leave nothing behind.
. tests/kills.sh
concurrent_runs 2 scenarios/tcp-flags scenarios/udp
killed_set=(tests/fixtures/flag-check.ct scenarios/tcp-state scenarios/table-full/recovery.ct)
measure_runs "${killed_set[@]}"
signals_at_random KILL 5 "${killed_set[@]}"
signals_at_random INT 2 "${killed_set[@]}"
signals_at_random TERM 2 "${killed_set[@]}"

echo "$passed passed, $failed failed"
[ $failed = 0 ]
