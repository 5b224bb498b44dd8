# Sourced by tests/integration.sh (uses $ctlab, ok, not_ok): ctlab diagnose
# against a namespace ctlab kept from a run, as a live namespace someone else
# made: it ranks what conntrack logged there, ties RSTs to the packets before
# them, puts the logging settings back (after Ctrl-C, a refusal and SIGKILL),
# and refuses a namespace whose NFLOG group 0 is taken.
# shellcheck shell=bash disable=SC2154  # ctlab is set by the sourcing script

diag=$(mktemp -d)
debian_python=/usr/bin/python3

# The kept pair of a short run: conntrack in use on the server (ctlab's table).
# Named after the run's pid: another suite's kept namespaces are not ours.
"$ctlab" run --keep --family ipv4 scenarios/tcp-flags/syn-fin.ct >"$diag/run.ktap" 2>&1 &
run_pid=$!
wait "$run_pid"
server=ctlab-$run_pid-syn-fin-ipv4-server
client=ctlab-$run_pid-syn-fin-ipv4-client

# settings: the namespace's logging switch, as one line.
settings() {
	ip netns exec "$server" sh -c 'cat /proc/sys/net/netfilter/nf_conntrack_log_invalid \
		/proc/sys/net/netfilter/nf_log/2 /proc/sys/net/netfilter/nf_log/10' | tr '\n' ' '
}
# until_text FILE TEXT: wait (bounded, 30 s) for TEXT in FILE.
until_text() {
	for _ in $(seq 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# until_settings WANT: wait (bounded, 30 s) for the logging switch to read WANT.
until_settings() {
	for _ in $(seq 300); do
		[ "$(settings)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# start_diagnose OUT: diagnose the server in the background, until its header is out.
start_diagnose() {
	"$ctlab" diagnose -v --netns "$server" --duration 120 --json "$1.json" >"$1" 2>&1 &
	diag_pid=$!
	until_text "$1" "^# nf_conntrack_tcp_be_liberal"
}

if [ ! -e "/run/netns/$server" ] || [ ! -e "/run/netns/$client" ]; then
	not_ok "diagnose: the kept namespaces of a run: $(tail -3 "$diag/run.ktap")"
else
	# What nobody has switched on: after diagnose it must read so again.
	ip netns exec "$server" sysctl -qw net.netfilter.nf_conntrack_log_invalid=0 \
		net.netfilter.nf_log.2=NONE net.netfilter.nf_log.10=NONE
	before=$(settings)

	if start_diagnose "$diag/one.out"; then
		# 3 SYNs with a bad checksum (dropped, no answer), then two SYN+FINs
		# the server answers with RSTs (their reasons may be read after them).
		ip netns exec "$client" "$debian_python" tests/send_tcp.py 198.18.0.1 198.18.0.2 4100 80 0x02 3 badsum
		ip netns exec "$client" "$debian_python" tests/send_tcp.py 198.18.0.1 198.18.0.2 4000 80 0x03 2
		# Once both RSTs and their own reasons are in (-v prints each), stop it as a person would.
		until_text "$diag/one.out" "^# invalid new: .*198.18.0.1.4001 " &&
			until_text "$diag/one.out" "^# RST .*198.18.0.1.4001 "
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
			ok "diagnose ranks the reasons of a live namespace, ties the RST to the packet before it, and puts the logging back after Ctrl-C"
		else
			not_ok "diagnose of a live namespace: exit $status, settings '$(settings)' (were '$before'):"
			sed 's/^/    /' "$out"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/one.out")"
		kill "$diag_pid" 2>/dev/null
	fi

	# A second listener on group 0 is refused; the first's switch stays on.
	if start_diagnose "$diag/first.out"; then
		on=$(settings)
		"$ctlab" diagnose --netns "$server" --duration 1 >"$diag/second.out" 2>&1
		status=$?
		if [ "$status" = 1 ] && grep -q "listens on NFLOG group 0 there" "$diag/second.out" &&
			[ "$(settings)" = "$on" ] && [ "$on" != "$before" ]; then
			ok "diagnose refuses a namespace whose NFLOG group 0 another program listens on, and changes nothing there"
		else
			not_ok "diagnose beside another listener: exit $status, settings '$(settings)' (were '$on'): $(cat "$diag/second.out")"
		fi
		# SIGKILL: the guardian puts the switch back.
		kill -KILL "$diag_pid"
		wait "$diag_pid" 2>/dev/null
		if until_settings "$before"; then
			ok "diagnose killed with SIGKILL: its guardian puts the namespace's logging back"
		else
			not_ok "diagnose killed with SIGKILL: settings '$(settings)', were '$before'"
		fi
	else
		not_ok "diagnose: no header in 30 s: $(cat "$diag/first.out")"
		kill "$diag_pid" 2>/dev/null
	fi
	ip netns del "$server"
	ip netns del "$client"
fi

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
