# Sourced by tests/integration.sh (uses $ctlab, ok, not_ok): ctlab diagnose
# against a ctlab run in progress, as a live namespace someone else made: its
# client runs conntrack with nobody on NFLOG group 0 there (diagnose ranks
# what conntrack logged, ties RSTs to the packets before them, puts the
# logging back after Ctrl-C and SIGKILL); its server is the run's observer's
# (diagnose refuses it, as it refuses a second listener).
# shellcheck shell=bash disable=SC2154  # ctlab is set by the sourcing script

diag=$(mktemp -d)
debian_python=/usr/bin/python3

# The run holds its namespaces while it sleeps: no `ctlab clean` beside takes
# them (their ctlab is alive); named after its pid, another run's are not ours.
"$ctlab" run --keep tests/fixtures/diagnose-target.ct >"$diag/run.ktap" 2>&1 &
run_pid=$!
client=ctlab-$run_pid-fixture-diagnose-target-ipv4-client
server=ctlab-$run_pid-fixture-diagnose-target-ipv4-server

# target_ready: the client's rule is in once its port 7 listens.
target_ready() {
	[ -e "/run/netns/$client" ] && ip netns exec "$client" ss -ltnH 2>/dev/null | grep -q ':7 '
}
# until_ok COMMAND...: until COMMAND succeeds, bounded (30 s).
until_ok() {
	for _ in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# settings: the client's logging switch, as one line.
settings() {
	ip netns exec "$client" sh -c 'cat /proc/sys/net/netfilter/nf_conntrack_log_invalid \
		/proc/sys/net/netfilter/nf_log/2 /proc/sys/net/netfilter/nf_log/10' | tr '\n' ' '
}
settings_are() { [ "$(settings)" = "$1" ]; }
has_text() { grep -q "$2" "$1" 2>/dev/null; }
# start_diagnose OUT: diagnose the client in the background, until its header is out.
start_diagnose() {
	"$ctlab" diagnose -v --netns "$client" --duration 120 --json "$1.json" >"$1" 2>&1 &
	diag_pid=$!
	until_ok has_text "$1" "^# nf_conntrack_tcp_be_liberal"
}
# send FLAGS COUNT SPORT [badsum]: crafted segments from the server to the client's port 80.
send() {
	ip netns exec "$server" "$debian_python" tests/send_tcp.py 198.18.0.2 198.18.0.1 "$3" 80 "$1" "$2" ${4:+"$4"}
}

if ! until_ok target_ready; then
	not_ok "diagnose: the target run's namespaces: $(tail -3 "$diag/run.ktap")"
else
	# What nobody has switched on: after diagnose it must read so again.
	ip netns exec "$client" sysctl -qw net.netfilter.nf_conntrack_log_invalid=0 \
		net.netfilter.nf_log.2=NONE net.netfilter.nf_log.10=NONE
	before=$(settings)

	if start_diagnose "$diag/one.out"; then
		# 3 SYNs with a bad checksum (dropped, no answer), then two SYN+FINs
		# the client answers with RSTs (their reasons may be read after them).
		send 0x02 3 4100 badsum
		send 0x03 2 4000
		# Once both RSTs and their own reasons are in (-v prints each), stop it as a person would.
		until_ok has_text "$diag/one.out" "^# invalid new: .*198.18.0.2.4001 " &&
			until_ok has_text "$diag/one.out" "^# RST .*198.18.0.2.4001 "
		kill -INT "$diag_pid"
		wait "$diag_pid"
		status=$?
		out=$diag/one.out
		if [ "$status" = 1 ] &&
			grep -q '^1\. bad checksum: 3 packets, INVALID' "$out" &&
			grep -q '^2\. invalid tcp flag combination: 2 packets, INVALID' "$out" &&
			grep -q '^   see it happen: ctlab show syn-fin' "$out" &&
			grep -q 'RSTs: 2 seen, 2 sent by this namespace, 2 right after a reason' "$out" &&
			grep -q 'out on eth0, after a packet of the flow logged "invalid tcp flag combination"' "$out" &&
			grep -q 'counters over the watch: invalid +7' "$out" &&
			"$debian_python" -c 'import json,sys
d = json.load(open(sys.argv[1]))
r = d["reasons"]
assert d["kind"] == "diagnose" and d["logged"] == 7, d
assert [(x["reason"], x["count"], x["verdict"]) for x in r[:2]] == [("bad checksum", 3, "invalid"), ("invalid tcp flag combination", 2, "invalid")], r
assert r[1]["scenario"] == "syn-fin" and r[0]["samples"][0]["ifname"] == "eth0", r
assert d["rsts"]["seen"] == 2 and [x["after_reason"] for x in d["rsts"]["samples"]] == ["invalid tcp flag combination"] * 2, d["rsts"]
assert d["counters"]["invalid"] == 7, d["counters"]' "$out.json" &&
			[ "$(settings)" = "$before" ]; then
			ok "diagnose of a running scenario's namespace ranks the reasons, ties the RSTs to the packets before them, and puts the logging back after Ctrl-C"
		else
			not_ok "diagnose of a live namespace: exit $status, settings '$(settings)' (were '$before'):"
			sed 's/^/    /' "$out"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/one.out")"
		kill "$diag_pid" 2>/dev/null
	fi

	# The run's observer listens on the server's group 0, a second diagnose on
	# the client's: both refused, nothing changed; then SIGKILL, and the
	# guardian puts the switch back.
	if start_diagnose "$diag/first.out"; then
		on=$(settings)
		"$ctlab" diagnose --netns "$client" --duration 1 >"$diag/second.out" 2>&1
		second=$?
		"$ctlab" diagnose --netns "$server" --duration 1 >"$diag/observed.out" 2>&1
		observed=$?
		if [ "$second$observed" = 11 ] && grep -q "listens on NFLOG group 0 there" "$diag/second.out" &&
			grep -q "listens on NFLOG group 0 there" "$diag/observed.out" &&
			[ "$(settings)" = "$on" ] && [ "$on" != "$before" ]; then
			ok "diagnose refuses a namespace whose NFLOG group 0 another program listens on (a second diagnose, a run's observer), and changes nothing there"
		else
			not_ok "diagnose beside another listener: exits $second $observed, settings '$(settings)' (were '$on'): $(cat "$diag/second.out" "$diag/observed.out")"
		fi
		kill -KILL "$diag_pid"
		wait "$diag_pid" 2>/dev/null
		if until_ok settings_are "$before"; then
			ok "diagnose killed with SIGKILL: its guardian puts the namespace's logging back"
		else
			not_ok "diagnose killed with SIGKILL: settings '$(settings)', were '$before'"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/first.out")"
		kill "$diag_pid" 2>/dev/null
	fi
fi
kill -TERM "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
ip netns del "$client" 2>/dev/null
ip netns del "$server" 2>/dev/null

# Bad input: usage errors, and a namespace that is not there.
"$ctlab" diagnose >/dev/null 2>"$diag/err"
s1=$?
"$ctlab" diagnose --netns a --host >/dev/null 2>>"$diag/err"
s2=$?
"$ctlab" diagnose --netns ../x >/dev/null 2>>"$diag/err"
s3=$?
"$ctlab" diagnose --host --duration 0 >/dev/null 2>>"$diag/err"
s4=$?
"$ctlab" diagnose --netns ctlab-no-such-namespace >/dev/null 2>"$diag/none"
s5=$?
if [ "$s1$s2$s3$s4$s5" = 22221 ] && grep -q "expects one of --netns NAME, --pid PID, --host" "$diag/err" &&
	grep -q "No such file or directory" "$diag/none"; then
	ok "diagnose: no target, two targets, a bad name, a bad duration are usage errors; a missing namespace an error"
else
	not_ok "diagnose bad input: exits $s1 $s2 $s3 $s4 $s5: $(cat "$diag/err" "$diag/none")"
fi
rm -rf "$diag"
