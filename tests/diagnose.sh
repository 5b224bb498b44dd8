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
diag_run_pid=$!
diag_client=ctlab-$diag_run_pid-fixture-diagnose-target-ipv4-client
diag_server=ctlab-$diag_run_pid-fixture-diagnose-target-ipv4-server

# diag_target_ready: the client's rule is in once its port 7 listens.
diag_target_ready() {
	[ -e "/run/netns/$diag_client" ] && ip netns exec "$diag_client" ss -ltnH 2>/dev/null | grep -q ':7 '
}
# diag_settings: the client's logging switch, as one line.
diag_settings() {
	ip netns exec "$diag_client" sh -c 'cat /proc/sys/net/netfilter/nf_conntrack_log_invalid \
		/proc/sys/net/netfilter/nf_log/2 /proc/sys/net/netfilter/nf_log/10' | tr '\n' ' '
}
diag_settings_are() { [ "$(diag_settings)" = "$1" ]; }
diag_has_text() { grep -q "$2" "$1" 2>/dev/null; }
# diag_start OUT: diagnose the client in the background, until its header is out.
diag_start() {
	"$ctlab" diagnose -v --netns "$diag_client" --duration 120 --json "$1.json" >"$1" 2>&1 &
	diag_pid=$!
	wait_until 30 diag_has_text "$1" "^# nf_conntrack_tcp_be_liberal"
}
# diag_send FLAGS COUNT SPORT [badsum]: crafted segments from the server to the client's port 80.
diag_send() {
	ip netns exec "$diag_server" "$debian_python" tests/send_tcp.py 198.18.0.2 198.18.0.1 "$3" 80 "$1" "$2" ${4:+"$4"}
}

if ! wait_until 30 diag_target_ready; then
	not_ok "diagnose: the target run's namespaces: $(tail -3 "$diag/run.ktap")"
else
	# What nobody has switched on: after diagnose it must read so again.
	ip netns exec "$diag_client" sysctl -qw net.netfilter.nf_conntrack_log_invalid=0 \
		net.netfilter.nf_log.2=NONE net.netfilter.nf_log.10=NONE
	diag_before=$(diag_settings)

	if diag_start "$diag/one.out"; then
		# 3 SYNs with a bad checksum (dropped, no answer), then two SYN+FINs
		# the client answers with RSTs (their reasons may be read after them).
		diag_send 0x02 3 4100 badsum
		diag_send 0x03 2 4000
		# Once both RSTs and their own reasons are in (-v prints each), stop it as a person would.
		wait_until 30 diag_has_text "$diag/one.out" "^# invalid new: .*198.18.0.2.4001 " &&
			wait_until 30 diag_has_text "$diag/one.out" "^# RST .*198.18.0.2.4001 "
		kill -INT "$diag_pid"
		wait "$diag_pid"
		diag_status=$?
		diag_report=$diag/one.out
		if [ "$diag_status" = 1 ] &&
			grep -q '^1\. bad checksum: 3 packets, INVALID' "$diag_report" &&
			grep -q '^2\. invalid tcp flag combination: 2 packets, INVALID' "$diag_report" &&
			grep -q '^   see it happen: ctlab show syn-fin' "$diag_report" &&
			grep -q 'RSTs: 2 seen, 2 sent by this namespace, 2 right after a reason' "$diag_report" &&
			grep -q 'out on eth0, after a packet of the flow logged "invalid tcp flag combination"' "$diag_report" &&
			grep -q 'counters over the watch: invalid +7' "$diag_report" &&
			"$debian_python" -c 'import json,sys
d = json.load(open(sys.argv[1]))
r = d["reasons"]
assert d["kind"] == "diagnose" and d["logged"] == 7, d
assert [(x["reason"], x["count"], x["verdict"]) for x in r[:2]] == [("bad checksum", 3, "invalid"), ("invalid tcp flag combination", 2, "invalid")], r
assert r[1]["scenario"] == "syn-fin" and r[0]["samples"][0]["ifname"] == "eth0", r
assert d["rsts"]["seen"] == 2 and [x["after_reason"] for x in d["rsts"]["samples"]] == ["invalid tcp flag combination"] * 2, d["rsts"]
assert d["counters"]["invalid"] == 7, d["counters"]' "$diag_report.json" &&
			[ "$(diag_settings)" = "$diag_before" ]; then
			ok "diagnose of a running scenario's namespace ranks the reasons, ties the RSTs to the packets before them, and puts the logging back after Ctrl-C"
		else
			not_ok "diagnose of a live namespace: exit $diag_status, settings '$(diag_settings)' (were '$diag_before'):"
			sed 's/^/    /' "$diag_report"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/one.out")"
		kill "$diag_pid" 2>/dev/null
	fi

	# The run's observer listens on the server's group 0, a second diagnose on
	# the client's: both refused, nothing changed; then SIGKILL, and the
	# guardian puts the switch back.
	if diag_start "$diag/first.out"; then
		diag_on=$(diag_settings)
		"$ctlab" diagnose --netns "$diag_client" --duration 1 >"$diag/second.out" 2>&1
		diag_second=$?
		"$ctlab" diagnose --netns "$diag_server" --duration 1 >"$diag/observed.out" 2>&1
		diag_observed=$?
		if [ "$diag_second$diag_observed" = 11 ] && grep -q "listens on NFLOG group 0 there" "$diag/second.out" &&
			grep -q "listens on NFLOG group 0 there" "$diag/observed.out" &&
			[ "$(diag_settings)" = "$diag_on" ] && [ "$diag_on" != "$diag_before" ]; then
			ok "diagnose refuses a namespace whose NFLOG group 0 another program listens on (a second diagnose, a run's observer), and changes nothing there"
		else
			not_ok "diagnose beside another listener: exits $diag_second $diag_observed, settings '$(diag_settings)' (were '$diag_on'): $(cat "$diag/second.out" "$diag/observed.out")"
		fi
		kill -KILL "$diag_pid"
		wait "$diag_pid" 2>/dev/null
		if wait_until 30 diag_settings_are "$diag_before"; then
			ok "diagnose killed with SIGKILL: its guardian puts the namespace's logging back"
		else
			not_ok "diagnose killed with SIGKILL: settings '$(diag_settings)', were '$diag_before'"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/first.out")"
		kill "$diag_pid" 2>/dev/null
	fi
fi
kill -TERM "$diag_run_pid" 2>/dev/null
wait "$diag_run_pid" 2>/dev/null
ip netns del "$diag_client" 2>/dev/null
ip netns del "$diag_server" 2>/dev/null

# An incident of the gallery, paused before its steps with its router's group
# 0 left free (--no-reasons): diagnose on the router, attached meanwhile,
# ranks the incident's reason first and names the scenario; the run passes on
# its verdicts. Without --no-reasons the run's observer holds group 0 (the
# refusal above).
mkfifo "$diag/go"
"$ctlab" run --pause --no-reasons k8s-94861-asymmetric-routing/invalid-drop/ipv4 \
	<"$diag/go" >"$diag/incident.ktap" 2>"$diag/incident.err" &
diag_incident_pid=$!
exec {diag_go}>"$diag/go"
diag_router=
if wait_until 30 diag_has_text "$diag/incident.err" "^ctlab: Enter goes on"; then
	diag_router=$(sed -n 's/^ctlab:   \(.*\) (conntrack observed here)$/\1/p' "$diag/incident.err")
fi
diag_status=
if [ -n "$diag_router" ]; then
	"$ctlab" diagnose -v --netns "$diag_router" --duration 120 --json "$diag/incident.json" \
		>"$diag/incident.out" 2>&1 &
	diag_pid=$!
	if wait_until 30 diag_has_text "$diag/incident.out" "^# nf_conntrack_tcp_be_liberal"; then
		echo >&"$diag_go"
		wait_until 30 diag_has_text "$diag/incident.ktap" "^ok 1 " &&
			wait_until 30 diag_has_text "$diag/incident.out" "^# packet (index "
	fi
	kill -INT "$diag_pid"
	wait "$diag_pid"
	diag_status=$?
fi
exec {diag_go}>&-
wait "$diag_incident_pid"
diag_incident_status=$?
if [ "$diag_status" = 1 ] && [ "$diag_incident_status" = 0 ] &&
	grep -q '^1\. packet (index #) in dir # invalid, state SYN_SENT: [0-9]* packets\?, INVALID' "$diag/incident.out" &&
	grep -q '^   see it happen: ctlab show k8s-94861-asymmetric-routing' "$diag/incident.out" &&
	"$debian_python" -c 'import json,sys
r = json.load(open(sys.argv[1]))["reasons"]
assert r[0]["reason"] == "packet (index #) in dir # invalid, state SYN_SENT" and r[0]["scenario"] == "k8s-94861-asymmetric-routing", r' "$diag/incident.json"; then
	ok "diagnose on the router of a running incident (k8s-94861, paused with --no-reasons) ranks its reason first and names the scenario; the run passes"
else
	not_ok "diagnose of a running incident: diagnose exit '$diag_status', run exit $diag_incident_status:"
	sed 's/^/    /' "$diag/incident.err" "$diag/incident.ktap" "$diag/incident.out" 2>/dev/null | tail -40
fi

# Bad input: usage errors, and a namespace that is not there.
"$ctlab" diagnose >/dev/null 2>"$diag/err"
diag_s1=$?
"$ctlab" diagnose --netns a --host >/dev/null 2>>"$diag/err"
diag_s2=$?
"$ctlab" diagnose --netns ../x >/dev/null 2>>"$diag/err"
diag_s3=$?
"$ctlab" diagnose --host --duration 0 >/dev/null 2>>"$diag/err"
diag_s4=$?
"$ctlab" diagnose --netns ctlab-no-such-namespace >/dev/null 2>"$diag/none"
diag_s5=$?
if [ "$diag_s1$diag_s2$diag_s3$diag_s4$diag_s5" = 22221 ] && grep -q "expects one of --netns NAME, --pid PID, --host" "$diag/err" &&
	grep -q "No such file or directory" "$diag/none"; then
	ok "diagnose: no target, two targets, a bad name, a bad duration are usage errors; a missing namespace an error"
else
	not_ok "diagnose bad input: exits $diag_s1 $diag_s2 $diag_s3 $diag_s4 $diag_s5: $(cat "$diag/err" "$diag/none")"
fi
rm -rf "$diag"
