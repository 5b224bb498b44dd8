# Sourced by tests/integration.sh (uses $ctlab, ok, not_ok): ctlab replay
# against the runs it replays. Each run's capture at its observing host (a
# pair's server interface; both of a router's, merged as tcpdump -i any
# would see them) replayed with the run's conntrack settings must give the
# verdicts and reasons, bounds and all, that the run's own conntrack gave; and
# broken captures are clear errors.
# shellcheck shell=bash disable=SC2154  # ctlab is set by the sourcing script

replay=$(mktemp -d)
debian_python=/usr/bin/python3

# Pair and routed scenarios, with DNAT too (the 74839 reset): INVALID packets of several reasons,
# RSTs, a window that moves, an ICMP error related to its flow.
# And the incident gallery but the table-full one (its flood and fill are not in
# a capture), with their NAT, the rules the steps loaded and the entries they
# deleted given to the replay as the run had them.
incident_files=()
for file in scenarios/incidents/*.ct; do
	[[ $file == *table-full-old-flows-live* ]] || incident_files+=("$file")
done
"$ctlab" run --pcap "$replay/pcap" --json "$replay/runs.json" \
	scenarios/tcp-window/seq-over-window.ct scenarios/tcp-flags/syn-rst.ct \
	scenarios/icmp/icmp-error-related.ct scenarios/nat-reset/invalid-not-unnated.ct \
	"${incident_files[@]}" \
	>"$replay/runs.ktap" 2>"$replay/runs.err"
runs_status=$?

# compare RUN: replay what its observing host captured; the verdicts must agree.
compare() {
	local run=$1 base host capture
	local -a settings flushes
	base=$replay/pcap/${run//\//-}
	host=$("$debian_python" -c 'import json,sys
r=[r for r in json.load(open(sys.argv[1]))["runs"] if r["name"]==sys.argv[2]][0]
print([h["name"] for h in r["hosts"] if h["observing"]][0])' "$replay/runs.json" "$run")
	mapfile -t settings < <("$debian_python" -c 'import json,sys
r=[r for r in json.load(open(sys.argv[1]))["runs"] if r["name"]==sys.argv[2]][0]
keep=("tcp_be_liberal","tcp_loose","tcp_ignore_invalid_rst","tcp_max_retrans","checksum")
for k, v in r["sysctls"].items():
    if k.endswith(keep):
        print("--sysctl=%s=%s" % (k, v))
addr = {h["name"]: h["addr"] for h in r["hosts"]}
if "service" in addr:
    print("--nat=dnat %s=%s" % (addr["service"], addr["server"]))
rules = r.get("observing_rules") or ""
if r["nat"] in ("snat", "masquerade"):
    router = [h for h in r["hosts"] if h["name"] == "router"][0]
    out = [i["addr"] for i in router["interfaces"] if i["ifname"] == "eth1"][0]
    if r["name"].startswith("cni-816-address-leak/"):
        # As the router had it: out of eth1 only, toward the servers (--side
        # routes their prefix out by it, else oifname never matches).
        v6 = ":" in out
        rules += ("table inet replay_masquerade {\n chain postrouting {\n"
                  "  type nat hook postrouting priority 100;\n"
                  "  oifname \"eth1\" meta nfproto %s snat %s to %s\n }\n}\n"
                  % ("ipv6" if v6 else "ipv4", "ip6" if v6 else "ip", out))
        print("--side=eth1=%s/%d" % (out, 64 if v6 else 24))
    else:
        print("--nat=snat %s" % out)
# The rules the steps loaded there (a bypass, a drop of INVALID packets).
if rules:
    with open(sys.argv[3], "w") as f:
        f.write(rules)
    print("--nft=%s" % sys.argv[3])' "$replay/runs.json" "$run" "$replay/${run//\//-}.nft")
	capture=$replay/${run//\//-}.pcapng
	# One host's interfaces in one file, as tcpdump -i any writes it.
	mergecap -w "$capture" "$base/$host"-*.pcapng || return 1
	"$ctlab" replay -v "${settings[@]}" "$capture" >"$replay/out.txt" 2>&1
	[ $? -le 1 ] || return 1
	# An entry the run deleted (delete ct, flush ct): every entry deleted
	# before the frame of the packet that came next, found in this replay.
	mapfile -t flushes < <("$debian_python" - "$replay/runs.json" "$run" "$replay/out.txt" <<'PY'
import json, re, sys
run = [r for r in json.load(open(sys.argv[1]))["runs"] if r["name"] == sys.argv[2]][0]
# The run's packets in order are the replay's verdict lines in order.
frame_of = {}
for line in open(sys.argv[3]):
    m = re.match(r"frame (\d+): +#\d+ ", line)
    if m:
        frame_of[len(frame_of) + 1] = int(m.group(1))
for step in run["steps"]:
    if step["kind"] == "ct" and not step["skipped"] and step["first_packet"] in frame_of:
        print("--flush-before=%d" % frame_of[step["first_packet"]])
PY
)
	if [ ${#flushes[@]} -gt 0 ]; then
		"$ctlab" replay -v "${settings[@]}" "${flushes[@]}" "$capture" >"$replay/out.txt" 2>&1
		[ $? -le 1 ] || return 1
	fi
	"$debian_python" - "$replay/runs.json" "$run" "$replay/out.txt" "$replay/chains" <<'PY'
import json, re, sys
run = [r for r in json.load(open(sys.argv[1]))["runs"] if r["name"] == sys.argv[2]][0]
want = [(p["verdict"], p["reason"] or "") for p in run["packets"]]
got = []
for line in open(sys.argv[3]):
    m = re.match(r'frame \d+: .*  (new|established|related|invalid|untracked|unseen)(?: "(.*)")?$', line.rstrip("\n"))
    if m:
        got.append((m.group(1), m.group(2) or ""))
if got != want:
    print("run:   ", want)
    print("replay:", got)
    sys.exit(1)
# The RST chains: each RST the run found caused by an INVALID packet at its
# observing host, the replay ties to that same packet (by their places in order).
index_of = {}
links = set()
for line in open(sys.argv[3]):
    m = re.match(r"frame (\d+): +#\d+ ", line)
    if m:
        index_of[int(m.group(1))] = len(index_of) + 1
    m = re.match(r" *frame (\d+): RST, after the INVALID packet of frame (\d+) the other way", line)
    if m:
        links.add((int(m.group(1)), int(m.group(2))))
links = {(index_of.get(r), index_of.get(c)) for r, c in links}
wire = {w["index"]: w for w in run["wire"]}
observing = [h["name"] for h in run["hosts"] if h["observing"]][0]
chains = 0
for chain in run["chains"]:
    if chain.get("cause_verdict") != "invalid" or chain.get("judged_at") != observing:
        continue
    rst = wire[chain["rst_wire"]]
    seen = [p["index"] for p in run["packets"] if p["index"] > chain["cause_packet"] and
            "R" in (p.get("flags") or "") and p.get("seq") == rst.get("seq")]
    if not seen or (seen[0], chain["cause_packet"]) not in links:
        print("run: RST #%s caused by INVALID #%d; replay: %s" % (seen[:1], chain["cause_packet"], sorted(links)))
        sys.exit(1)
    chains += 1
with open(sys.argv[4], "a") as counted:
    counted.write("%d\n" % chains)
PY
}

# Each incident run but those whose capture cannot hold what conntrack saw:
# a connection the observing host made itself to a DNAT service (its capture
# shows it only after the DNAT, so the replay cannot know the service), and a
# clash of two packets held side by side (a race is not an order of packets).
mapfile -t incident_runs < <("$debian_python" -c 'import json,sys
limits = ("k8s-117924-node-local-client/unfixed/", "k8s-117924-node-local-client/forward-drop/",
          "k8s-56903-dns-race/two-backends/")
for r in json.load(open(sys.argv[1]))["runs"]:
    if r["file"].startswith("scenarios/incidents/") and not r["name"].startswith(limits):
        print(r["name"])' "$replay/runs.json")
agreed=0
replay_failed=""
for run in seq-over-window/strict/ipv4 seq-over-window/strict/ipv6 seq-over-window/liberal/ipv4 \
	   syn-rst/nofilter/ipv4 syn-rst/nofilter/ipv6 \
	   icmp-error-related/ipv4 icmp-error-related/ipv6 \
	   invalid-not-unnated/ipv4 invalid-not-unnated/ipv6 "${incident_runs[@]}"; do
	if compare "$run" >"$replay/compare.txt" 2>&1; then
		agreed=$((agreed + 1))
	else
		replay_failed="$replay_failed $run"
		sed 's/^/    /' "$replay/compare.txt" "$replay/out.txt" | head -20 >>"$replay/failures.txt"
	fi
done
if [ $runs_status -le 1 ] && [ -z "$replay_failed" ]; then
	ok "replay: $agreed runs' captures replayed give the runs' own verdicts and reasons, packet for packet (${#incident_runs[@]} of the incident gallery's), and tie each of the $(awk '{n += $1} END {print n + 0}' "$replay/chains") RSTs the runs found caused by an INVALID packet to that packet"
else
	not_ok "replay: verdicts differ from the runs' for:$replay_failed (runs exit $runs_status)"
	head -40 "$replay/failures.txt"
fi

# --scenario: a replay written as a scenario of crafted packets passes as a
# run, with the replay's verdicts and reasons expected; one verdict changed
# in it fails (the expectations are real).
written=0
scenario_failed=""
for run in seq-over-window/strict/ipv4 seq-over-window/strict/ipv6 syn-rst/nofilter/ipv4; do
	base=$replay/pcap/${run//\//-}
	written_ct=$replay/${run//\//-}.ct
	"$ctlab" replay --scenario "$written_ct" "$base"/server-eth0.pcapng >/dev/null 2>"$replay/scenario.err"
	if [ $? -le 1 ] && grep -q '^expect   verdict invalid reason "' "$written_ct" &&
		"$ctlab" run "$written_ct" >"$replay/scenario.ktap" 2>&1; then
		written=$((written + 1))
	else
		scenario_failed="$scenario_failed $run"
		sed 's/^/    /' "$replay/scenario.err" "$written_ct" "$replay/scenario.ktap" 2>/dev/null | head -30 >>"$replay/scenario-failures.txt"
	fi
done
mutant_ct=$replay/mutant.ct
sed '0,/^expect   verdict invalid/s//expect   verdict established/' "$replay/seq-over-window-strict-ipv4.ct" >"$mutant_ct" 2>/dev/null
"$ctlab" run "$mutant_ct" >/dev/null 2>&1
mutant_status=$?
# With --flush-before the last packet's entry is gone (it is picked up anew:
# new): the scenario deletes every entry there too, and fails without it.
# (Its frame as this capture numbers it: neighbour discovery may come first.)
flushed_capture=$replay/pcap/seq-over-window-strict-ipv4/server-eth0.pcapng
last=$("$ctlab" replay -v "$flushed_capture" 2>/dev/null | sed -n 's/^frame \([0-9]*\): .*/\1/p' | tail -1)
"$ctlab" replay --flush-before "${last:-1}" --scenario "$replay/flushed.ct" "$flushed_capture" \
	>/dev/null 2>"$replay/scenario.err"
grep -v '^flush    ct router' "$replay/flushed.ct" >"$replay/unflushed.ct" 2>/dev/null
if grep -q "^flush    ct router .*# --flush-before $last\$" "$replay/flushed.ct" &&
   grep -q '^expect   verdict new reason none$' "$replay/flushed.ct" &&
   "$ctlab" run "$replay/flushed.ct" >"$replay/scenario.ktap" 2>&1 &&
   ! "$ctlab" run "$replay/unflushed.ct" >/dev/null 2>&1; then
	written=$((written + 1))
else
	scenario_failed="$scenario_failed --flush-before"
	sed 's/^/    /' "$replay/scenario.err" "$replay/flushed.ct" "$replay/scenario.ktap" 2>/dev/null | head -30 >>"$replay/scenario-failures.txt"
fi
# --json: the same replay as a document.
"$ctlab" replay --json "$replay/replay.json" "$replay/pcap/seq-over-window-strict-ipv4/server-eth0.pcapng" >/dev/null 2>&1
json_ok=$("$debian_python" -c 'import json,sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["packets"] if x["verdict"] == "invalid"]
f = d["flows"][0]
assert d["kind"] == "replay" and d["counts"]["invalid"] == 1 and len(p) == 1, d["counts"]
assert p[0]["reason"].startswith("SEQ is over upper bound") and p[0]["flags"] == "PA", p
assert f["events"][0]["kind"] == "invalid" and f["events"][0]["frame"] == p[0]["frame"], f
print("yes")' "$replay/replay.json" 2>&1)
# --html: the flow drawn as the report draws a run, the INVALID badge with its reason.
"$ctlab" replay --html "$replay/replay.html" "$replay/pcap/seq-over-window-strict-ipv4/server-eth0.pcapng" >/dev/null 2>&1
if [ "$json_ok" = yes ] && [ "$(grep -o '<g class="hop' "$replay/replay.html" | wc -l)" = 5 ] &&
	grep -q '>INVALID<' "$replay/replay.html" && grep -q 'SEQ is over upper bound' "$replay/replay.html"; then
	json_ok=yes
else
	json_ok="no page with 5 packets and the INVALID one's badge: $(head -c 300 "$replay/replay.html" 2>&1)"
fi
if [ -z "$scenario_failed" ] && [ "$mutant_status" = 1 ] && [ "$json_ok" = yes ]; then
	ok "replay --scenario: $written captures written as scenarios of crafted packets pass as runs with the replay's verdicts and reasons (one with --flush-before, as a flush step: without it, it fails); one verdict changed fails; --json names the INVALID packet and its flow, --html draws it"
else
	not_ok "replay --scenario: failed for:$scenario_failed; the mutant exits $mutant_status; --json: $json_ok"
	head -40 "$replay/scenario-failures.txt" 2>/dev/null
fi

# --paced: an answer 3 s after its datagram, with a UDP timeout of 1 s, finds
# the entry gone when paced (new) and there when not (established); the paced
# replay takes the capture's 3 s at least.
"$debian_python" tests/udp_pair_pcap.py "$replay/udp.pcap" 3
"$ctlab" replay -v --sysctl net.netfilter.nf_conntrack_udp_timeout=1 "$replay/udp.pcap" >"$replay/unpaced.txt" 2>&1
paced_start=$(date +%s%N)
"$ctlab" replay -v --paced --sysctl net.netfilter.nf_conntrack_udp_timeout=1 "$replay/udp.pcap" >"$replay/paced.txt" 2>&1
paced_took=$((($(date +%s%N) - paced_start) / 1000000))
if grep -q '^frame 2: .* udp len 12  established$' "$replay/unpaced.txt" &&
	grep -q '^frame 2: .* udp len 12  new$' "$replay/paced.txt" && [ "$paced_took" -ge 3000 ]; then
	ok "replay --paced: the answer 3 s later finds its entry timed out (1 s), as it would have; unpaced, it is there; the paced replay took $paced_took ms"
else
	not_ok "replay --paced: took $paced_took ms: $(cat "$replay/unpaced.txt" "$replay/paced.txt")"
fi

# The 74839 reset, from the router's capture: the INVALID segment with its
# reason, the client's RST after it; without the DNAT rule the replay is wrong.
nat_capture=$replay/invalid-not-unnated-ipv4.pcapng
service=$("$debian_python" -c 'import json,sys
r=[r for r in json.load(open(sys.argv[1]))["runs"] if r["name"]=="invalid-not-unnated/ipv4"][0]
a={h["name"]: h["addr"] for h in r["hosts"]}; print(a["service"] + "=" + a["server"])' "$replay/runs.json")
"$ctlab" replay --nat "dnat $service" --html "$replay/nat.html" "$nat_capture" >"$replay/nat.txt" 2>&1
nat_status=$?
"$ctlab" replay -v "$nat_capture" >"$replay/nonat.txt" 2>&1
# The page draws the RST back to that segment, as the report draws a run's chain.
chain=$(sed -n 's/.*RST, after the INVALID packet of frame \([0-9]*\) the other way.*/\1/p' "$replay/nat.txt" | head -1)
rst=$(sed -n 's/^ *frame \([0-9]*\): RST, after the INVALID packet.*/\1/p' "$replay/nat.txt" | head -1)
if [ $nat_status = 1 ] && grep -q 'INVALID: SEQ is over upper bound [0-9]* (over the window of the receiver)' "$replay/nat.txt" &&
   [ -n "$chain" ] && grep -q "<g class=\"chain\" data-rst=\"$rst\" data-cause=\"$chain\">" "$replay/nat.html" &&
   grep -q 'SA .*invalid "invalid new"' "$replay/nonat.txt"; then
	ok "replay: the 74839 reset from the router's capture with --nat: the INVALID segment, its reason, the RST after it, drawn back to it on the --html page (without --nat the SYN-ACK is a stray)"
else
	not_ok "replay of the 74839 capture (exit $nat_status)"
	sed 's/^/    /' "$replay/nat.txt" "$replay/nonat.txt" | head -30
fi
# --scenario of it with its DNAT: both halves of the connection (to the
# service, from the backend) crafted through a router with nat dnat, the
# verdicts and reasons expected; without the router's DNAT the scenario fails.
"$ctlab" replay --nat "dnat $service" --scenario "$replay/dnat.ct" "$nat_capture" >/dev/null 2>"$replay/dnat.err"
sed '/^nat      dnat/d; s/client -> service/client -> server/' "$replay/dnat.ct" >"$replay/undnat.ct" 2>/dev/null
if grep -q '^nat      dnat' "$replay/dnat.ct" && grep -q '^send     client -> service tcp .*flags=S ' "$replay/dnat.ct" &&
   grep -q '^expect   verdict invalid reason "SEQ is over upper bound' "$replay/dnat.ct" &&
   "$ctlab" run "$replay/dnat.ct" >"$replay/dnat.ktap" 2>&1 && ! "$ctlab" run "$replay/undnat.ct" >/dev/null 2>&1; then
	ok "replay --scenario with --nat dnat: the 74839 capture written as a scenario through the router's DNAT passes, with its INVALID segment and RST expected; without the DNAT it fails"
else
	not_ok "replay --scenario with --nat dnat:"
	sed 's/^/    /' "$replay/dnat.err" "$replay/dnat.ct" "$replay/dnat.ktap" 2>/dev/null | head -30
fi

# --entries: the entry after each INVALID packet and RST, read before the
# next packet of its flow goes: the leaked segment leaves the DNAT entry
# ESTABLISHED; the client's RST to the server's own address finds none (its
# tuple is no entry's). The same in --json's events.
"$ctlab" replay --entries --json "$replay/entries.json" --nat "dnat $service" "$nat_capture" >"$replay/entries.txt" 2>&1
if grep -q 'INVALID: SEQ is over upper bound [0-9]* (over the window of the receiver); entry stays ESTABLISHED$' "$replay/entries.txt" &&
   grep -q 'RST, after the INVALID packet of frame [0-9]* the other way; no entry$' "$replay/entries.txt" &&
   ! grep -q 'without their entry' "$replay/entries.txt" &&
   "$debian_python" -c 'import json,sys
e = json.load(open(sys.argv[1]))["flows"][0]["events"]
assert [x["entry_state"] for x in e if x["kind"] == "invalid"][0] == "ESTABLISHED", e
assert [x["entry_state"] for x in e if x["kind"] == "rst"] == ["no entry"], e' "$replay/entries.json"; then
	ok "replay --entries: the 74839 segment leaves its entry ESTABLISHED, the RST after it has none; the same in --json"
else
	not_ok "replay --entries of the 74839 capture:"
	sed 's/^/    /' "$replay/entries.txt" | tail -12
fi

# Sides: a router's capture of both interfaces names them, and each packet
# comes in by the judge's interface of that name, so an iifname rule (here
# the server side's packets left untracked) matches as on the router; the
# same capture without names (pcap) comes in by one interface (the control:
# nothing untracked), unless --side puts the servers' addresses or MAC there.
sides=$replay/pcap/invalid-not-unnated-ipv4
mergecap -w "$replay/sides.pcapng" "$sides"/router-eth0.pcapng "$sides"/router-eth1.pcapng
editcap -F pcap "$replay/sides.pcapng" "$replay/sides.pcap"
# The cooked frames as Ethernet, the servers' (198.19.0.0/24) from 02:00:00:00:00:02.
"$debian_python" - "$replay/sides.pcap" "$replay/sides-ether.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", data[20:24])[0] == 276, "not Linux cooked v2"
out = bytearray(data[:20] + struct.pack("<I", 1))
at = 24
while at < len(data):
    sec, usec, incl, orig = struct.unpack("<IIII", data[at:at + 16])
    frame = data[at + 16:at + 16 + incl]
    ip = frame[20:]
    server = len(ip) > 16 and ip[0] >> 4 == 4 and ip[12:14] == bytes([198, 19])
    ether = bytes(6) + bytes([2, 0, 0, 0, 0, 2 if server else 1]) + frame[0:2]
    out += struct.pack("<IIII", sec, usec, len(ether) + len(ip), orig - 6) + ether + ip
    at += 16 + incl
open(sys.argv[2], "wb").write(out)
PY
printf 'table inet sides {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n  iifname "eth1" notrack\n }\n}\n' >"$replay/sides.nft"
# untracked_servers FILE [OPTIONS]: "yes" when the packets untracked are the
# servers' (and some are), else what was untracked.
untracked_servers() {
	local file=$1
	shift
	"$ctlab" replay -v --nft "$replay/sides.nft" "$@" "$file" >"$replay/sides.txt" 2>&1
	"$debian_python" - "$replay/sides.txt" <<'PY'
import re, sys
untracked, servers = [], []
for line in open(sys.argv[1]):
    m = re.match(r"frame (\d+): +#\d+ +(\S+) > .*  (\w+)(?: \".*\")?$", line.rstrip("\n"))
    if m:
        if m.group(3) == "untracked":
            untracked.append(m.group(1))
        if m.group(2).startswith("198.19."):
            servers.append(m.group(1))
print("yes" if servers and untracked == servers else "untracked %s, servers' %s" % (untracked, servers))
PY
}
by_name=$(untracked_servers "$replay/sides.pcapng")
# (in the order first seen: neighbour discovery may come first from either)
{ grep -q "in by.* eth0 ([0-9]* by the capture's interface)" "$replay/sides.txt" &&
  grep -q "in by.* eth1 ([0-9]* by the capture's interface)" "$replay/sides.txt"; } ||
	by_name="$by_name; no sides line: $(head -1 "$replay/sides.txt")"
unnamed=$(untracked_servers "$replay/sides.pcap")
by_address=$(untracked_servers "$replay/sides.pcap" --side eth1=198.19.0.7/24)
by_mac=$(untracked_servers "$replay/sides-ether.pcap" --side eth1=02:00:00:00:00:02)
"$ctlab" replay --side eth1=nonsense "$replay/sides.pcap" >/dev/null 2>"$replay/side-bad.err"
bad_spec=$?
"$ctlab" replay --side lo=198.19.0.0/24 "$replay/sides.pcap" >/dev/null 2>"$replay/side-bad2.err"
bad_name=$?
if [ "$by_name" = yes ] && [[ $unnamed == "untracked [], servers' ["* ]] && [ "$by_address" = yes ] &&
   [ "$by_mac" = yes ] && [ $bad_spec = 2 ] && [ $bad_name = 2 ] &&
   grep -q "expected a MAC (aa:bb:cc:dd:ee:ff) or an address prefix" "$replay/side-bad.err" &&
   grep -q "'lo' cannot be an interface's name" "$replay/side-bad2.err"; then
	ok "replay: a router's packets come in by the interface the capture names (an iifname rule matches as there), by --side address or MAC without names; none without (the control)"
else
	not_ok "replay sides: by name: $by_name; unnamed: $unnamed; by address: $by_address; by MAC: $by_mac; bad spec exit $bad_spec, bad name exit $bad_name"
	sed 's/^/    /' "$replay/sides.txt" "$replay/side-bad.err" "$replay/side-bad2.err" | head -20
fi

# A mutant: without the run's be_liberal=1 the liberal run's replay differs.
capture=$replay/seq-over-window-liberal-ipv4.pcapng
"$ctlab" replay -v "$capture" >"$replay/strict.txt" 2>&1
if grep -q 'invalid "SEQ is over upper bound' "$replay/strict.txt" &&
   "$ctlab" replay -v --sysctl net.netfilter.nf_conntrack_tcp_be_liberal=1 "$capture" >"$replay/liberal.txt" 2>&1 &&
   ! grep -q 'invalid' "$replay/liberal.txt"; then
	ok "replay: the settings count: the liberal run's capture is INVALID without be_liberal=1, clean with it"
else
	not_ok "replay: --sysctl made no difference"
	sed 's/^/    /' "$replay/strict.txt" | head -10
fi
# The same from a saved sysctl -a: its conntrack settings applied, the
# machine's table size, what this kernel has not and other lines left.
saved_sysctls() {
	printf 'kernel.hostname = node-7\nnet.netfilter.nf_conntrack_max = 131072\n'
	printf 'net.netfilter.nf_conntrack_tcp_be_liberal = %s\n' "$1"
	printf 'net.netfilter.nf_conntrack_tcp_loose = 1\nnet.netfilter.nf_conntrack_no_such_key = 3\n'
	printf 'net.netfilter.nf_log.2 = nf_log_ipv4\nnet.netfilter.nf_conntrack_udp_timeout = 30\n'
}
saved_sysctls 1 >"$replay/liberal.sysctl"
saved_sysctls 0 >"$replay/strict.sysctl"
"$ctlab" replay -v --sysctl-file "$replay/liberal.sysctl" "$capture" >"$replay/liberal-file.txt" 2>&1
liberal_status=$?
"$ctlab" replay -v --sysctl-file "$replay/strict.sysctl" "$capture" >"$replay/strict-file.txt" 2>&1
strict_status=$?
if [ $liberal_status = 0 ] && [ $strict_status = 1 ] &&
   grep -q "; 3 settings of $replay/liberal.sysctl applied, 2 left as they are (.*: nf_conntrack_max, nf_conntrack_no_such_key)" "$replay/liberal-file.txt" &&
   grep -q 'invalid "SEQ is over upper bound' "$replay/strict-file.txt"; then
	ok "replay --sysctl-file: a saved sysctl -a with be_liberal = 1 replays clean, with 0 INVALID; the machine's table size and a key this kernel has not left and named"
else
	not_ok "replay --sysctl-file: exit $liberal_status (liberal), $strict_status (strict)"
	sed 's/^/    /' "$replay/liberal-file.txt" | head -5
fi

# Packets dropped before conntrack's log (a rule of the host's at -400, as a
# raw-table drop would be) get no verdict: each is counted, and the replay
# does not wait out -t for them (the marker behind them comes back), so the
# whole replay ends before one such wait could have. All are dropped: none
# judged after them says they will not come.
strict=$replay/seq-over-window-strict-ipv4.pcapng
cat >"$replay/drop.nft" <<'NFT'
table inet host_raw {
chain prerouting {
type filter hook prerouting priority -400; policy accept;
meta l4proto tcp drop
}
}
NFT
"$ctlab" replay -v "$strict" >"$replay/all.txt" 2>&1
dropped=$(grep -c '^frame [0-9]*: ' "$replay/all.txt")
start=$SECONDS
"$ctlab" replay -v -t 20000 --nft "$replay/drop.nft" "$strict" >"$replay/dropped.txt" 2>&1
took=$((SECONDS - start))
if [ "$dropped" -gt 0 ] && [ $took -lt 20 ] &&
   head -1 "$replay/dropped.txt" | grep -q "; $dropped got no verdict (dropped before conntrack's log)" &&
   [ "$(grep -c 'no verdict seen' "$replay/dropped.txt")" = "$dropped" ] &&
   ! head -1 "$replay/all.txt" | grep -q 'got no verdict'; then
	ok "replay: all $dropped packets dropped by a rule before conntrack's log: each counted as without a verdict, in $took s with -t 20000 (no wait ran out)"
else
	not_ok "replay with a dropping rule: $dropped packets, $took s"
	sed 's/^/    /' "$replay/dropped.txt" | head -20
fi

# A table too small for the capture's flows (--ct-max 1024, journaled and
# put back): the entries conntrack dropped early to make room (whose flows'
# next packets meet no entry) are counted and said to be the table's, with
# its size, and the packets it dropped are those without a verdict; the
# host's setting is as before afterwards.
mkcapture=${MKCAPTURE:-build/tests/bench/mkcapture}
# Another ctlab may hold the setting changed (the journal says who) before or
# after: then the journal alone says this one put it back.
max_held() { grep -qs '^net.netfilter.nf_conntrack_max ' /run/ctlab/journal; }
max_before=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
max_held && max_was_held=1
if "$mkcapture" "$replay/many.pcap" 100000 >/dev/null 2>&1; then
	"$ctlab" replay --ct-max 1024 "$replay/many.pcap" >"$replay/full.txt" 2>"$replay/full.err" &
	full_pid=$!
	wait $full_pid
	full_status=$?
fi
max_after=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
max_held && max_was_held=1
max_back() {
	! grep -qs " ${full_pid:-none}\$" /run/ctlab/journal &&
		{ [ -n "${max_was_held:-}" ] || [ "$max_after" = "$max_before" ]; }
}
# Each packet dropped (stat drop) is one without a verdict, and no other.
full_line=$(head -1 "$replay/full.txt")
unjudged=$(sed -n 's/.*; \([0-9]*\) got no verdict.*/\1/p' <<<"$full_line")
dropped_full=$(sed -n 's/.*, \([0-9]*\) packets dropped.*/\1/p' <<<"$full_line")
if [ "${full_status:-9}" = 1 ] && [ -n "$unjudged" ] && [ "$unjudged" = "$dropped_full" ] &&
   head -1 "$replay/full.txt" | grep -q "; conntrack's table was full (nf_conntrack_max 1024, the host's global: --ct-max N replays with another): [1-9][0-9]* entries dropped early for room" &&
   ! head -1 "$replay/all.txt" | grep -q "table was full" &&
   max_back; then
	ok "replay --ct-max 1024 of 100,000 packets: a full table's early drops counted and named, its $dropped_full drops the packets without a verdict, nf_conntrack_max put back"
else
	not_ok "replay with a full table (exit ${full_status:-none}; nf_conntrack_max $max_before -> $max_after${max_was_held:+, another ctlab holding it})"
	head -c 600 "$replay/full.txt" "$replay/full.err" | sed 's/^/    /'
fi

# Broken captures: a clear error naming the file (and the byte), exit 2.
printf 'not a capture at all' >"$replay/junk.pcap"
head -c 100 "$capture" >"$replay/cut.pcapng"
"$ctlab" replay "$replay/junk.pcap" >/dev/null 2>"$replay/junk.err"
junk=$?
"$ctlab" replay "$replay/cut.pcapng" >/dev/null 2>"$replay/cut.err"
cut=$?
"$ctlab" replay --sysctl net.ipv4.ip_forward=1 "$capture" >/dev/null 2>"$replay/bad-sysctl.err"
bad_sysctl=$?
if [ $junk = 2 ] && grep -q 'junk.pcap: not a pcap or pcapng file' "$replay/junk.err" &&
   [ $cut = 2 ] && grep -q 'cut.pcapng: byte [0-9]*: the file ends inside a block' "$replay/cut.err" &&
   [ $bad_sysctl = 2 ] && grep -q 'expects net.netfilter.KEY=VALUE' "$replay/bad-sysctl.err"; then
	ok "replay: a file that is no capture, one cut short, a setting outside conntrack's: exit 2, saying which and where"
else
	not_ok "replay of broken input: exit $junk, $cut, $bad_sysctl: $(cat "$replay/junk.err" "$replay/cut.err" "$replay/bad-sysctl.err")"
fi

# Under memcheck (with the libraries' known reports suppressed, as make
# valgrind does): no error, no leak, on a capture whole and cut short.
memcheck() {
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions=tests/valgrind.supp "$ctlab" replay "$@" >/dev/null 2>>"$replay/memcheck.txt"
	[ $? != 9 ]
}
if memcheck "$capture" && memcheck "$replay/cut.pcapng"; then
	ok "replay: memcheck finds nothing, on a whole capture and a cut one"
else
	not_ok "replay under memcheck"
	grep -v 'syscall: 437\|your own handler\|README_MISSING\|consider this a bug\|bug_reports' \
		"$replay/memcheck.txt" | head -30 | sed 's/^/    /'
fi

rm -rf "$replay"
