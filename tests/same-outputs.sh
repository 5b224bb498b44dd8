#!/usr/bin/env bash
# Compare what two ctlab binaries write for the same runs, apart from times
# and random numbers: for a change that must not change behaviour (a
# restructuring), OLD and NEW run the same scenarios with --json --junit
# --pcap, one after the other, and their KTAP, JSON, JUnit and pcapng files
# are compared after numbers are replaced by '#' (ISNs, ports, IP IDs and
# times differ between any two runs; verdicts, reasons, flags, steps and
# outcomes may not).  The pcapng files are compared packet by packet through
# tshark (links, addresses, protocols, TCP flags and lengths), and the
# comments tshark finds in them.
#
# usage: tests/same-outputs.sh OLD-CTLAB NEW-CTLAB [RUN ARGS...]   (as root)
# Prints each file that differs with the diff; exits 0 when all are alike,
# 1 when something differs, 2 on bad usage.
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 OLD-CTLAB NEW-CTLAB [RUN ARGS...]" >&2
	exit 2
fi
old=$1 new=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# normalize: digits to '#', in any text.
normalize() { sed -E 's/[0-9]+(\.[0-9]+)?/#/g'; }

# json_shape FILE: the JSON with every number '#' and keys sorted.
json_shape() {
	python3 - "$1" <<'EOF'
import json, re, sys
def walk(v):
    if isinstance(v, dict):
        return {k: walk(x) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return '#'
    return re.sub(r'[0-9]+(\.[0-9]+)?', '#', v)
print(json.dumps(walk(json.load(open(sys.argv[1]))), indent=1, sort_keys=True))
EOF
}

# pcap_shape FILE: one line per packet as tshark reads it, grouped by link in
# the order each link saw them (how the links interleave is timing).  IPv6
# neighbour discovery, router solicitations and MLD (ICMPv6 types 130-143)
# are left out: the kernel sends them on its own timers.
pcap_shape() {
	tshark -r "$1" -Y 'not (icmpv6.type >= 130 and icmpv6.type <= 143)' -T fields \
		-E separator=' ' -e frame.interface_name -e ip.src -e ip.dst \
		-e ipv6.src -e ipv6.dst -e _ws.col.Protocol -e tcp.flags.str -e tcp.len -e udp.length \
		-e icmp.type -e icmpv6.type -e frame.comment 2>/dev/null | normalize | sort -s -k1,1
}

status=0
for side in old new; do
	bin=$old
	[ "$side" = new ] && bin=$new
	mkdir -p "$out/$side/pcap"
	"$bin" run --json "$out/$side/results.json" --junit "$out/$side/results.xml" \
		--pcap "$out/$side/pcap" "$@" >"$out/$side/ktap" 2>"$out/$side/stderr"
	echo "$?" >"$out/$side/exit"
	normalize <"$out/$side/ktap" >"$out/$side/ktap.n"
	normalize <"$out/$side/stderr" >"$out/$side/stderr.n"
	normalize <"$out/$side/results.xml" >"$out/$side/xml.n"
	json_shape "$out/$side/results.json" >"$out/$side/json.n"
	(cd "$out/$side/pcap" && ls) >"$out/$side/pcaps"
	for f in "$out/$side"/pcap/*.pcapng; do
		[ -e "$f" ] && pcap_shape "$f" >"$f.n"
	done
done

compare() {	# compare WHAT FILE
	if ! diff -u "$out/old/$2" "$out/new/$2" >"$out/diff"; then
		echo "differs: $1"
		head -40 "$out/diff" | sed 's/^/    /'
		status=1
	fi
}
compare "exit status" exit
compare "KTAP" ktap.n
compare "stderr" stderr.n
compare "JUnit" xml.n
compare "JSON" json.n
compare "pcapng files" pcaps
packets=0
for f in "$out"/old/pcap/*.pcapng.n; do
	[ -e "$f" ] || continue
	packets=$((packets + $(wc -l <"$f")))
	compare "pcapng ${f##*/}" "pcap/${f##*/}"
done
echo "same-outputs: $(grep -c '^\(ok\|not ok\) ' "$out/old/ktap") runs, $(wc -l <"$out/old/pcaps") pcapng files, $packets packets compared: $([ $status = 0 ] && echo alike || echo DIFFERENT)"
exit $status
