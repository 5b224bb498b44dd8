#!/usr/bin/env bash
# make bench, part 2: the time to fill a 262,144-entry conntrack table with a SYN
# flood — ctlab, hping3 (--flood -S --rand-source) and trafgen (netsniff-ng) —
# side by side, in one run, each in a fresh routed topology of the same kind
# (tests/bench/topology.ct kept with --keep), with the ratios.
#
# A peer's fill time runs from its start until the router's nf_conntrack_count
# reaches nf_conntrack_max, read every 5 ms (the measurement's resolution).
# ctlab's is its flood step's own time, from its first SYN until the router's
# counters account for every SYN sent, and its peak RSS is measured with
# /usr/bin/time.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
[ "$(id -u)" = 0 ] || { echo "bench-flood: needs root"; exit 4; }
missing=""
command -v hping3 >/dev/null || missing="$missing hping3"
command -v trafgen >/dev/null || missing="$missing netsniff-ng"
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
	echo "bench-flood: installing$missing"
	# shellcheck disable=SC2086  # $missing is a list of package names, split on purpose
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1; }
fi
tmp=$(mktemp -d)
trap '"$ctlab" clean >/dev/null 2>&1; rm -rf "$tmp"' EXIT
max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
limit=30

now() { date +%s.%N; }

# settle: wait (bounded) until the entries of tables freed before — namespaces
# die asynchronously — are gone, so that each tool starts on an idle kernel.
settle() {
	for _ in $(seq 1 600); do
		[ "$(awk '$1 == "nf_conntrack" { print $2 }' /proc/slabinfo)" -lt 20000 ] && return
		sleep 0.05
	done
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# keep_topology: a fresh routed topology; sets $ns to its name prefix.
keep_topology() {
	"$ctlab" run --keep tests/bench/topology.ct >/dev/null 2>"$tmp/keep.err"
	ns=$(sed -n 's|.*kept /run/netns/\(ctlab-[0-9]*-bench-topology-ipv4\)-client .*|\1|p' "$tmp/keep.err")
	[ -n "$ns" ]
}

# peer NAME COMMAND: run COMMAND in the client namespace until the router's
# table is full (or $limit s); prints the fill time or why there is none.
peer() {
	local name=$1 command=$2 start end count pid
	settle
	keep_topology || { echo "$name: no topology"; return; }
	# trafgen writes whole frames: it needs the router's MAC, as bytes.
	ROUTER_MAC_BYTES=$(ip -n "$ns-router" link show eth0 | awk '/ether/ { print $2 }' |
			   sed 's/^/0x/; s/:/, 0x/g')
	export ROUTER_MAC_BYTES
	printf '%s\n' "$command" >"$tmp/command"
	start=$(now)
	setsid ip netns exec "$ns-client" sh "$tmp/command" >"$tmp/$name.out" 2>&1 &
	pid=$!
	count=0
	while [ "$count" -lt "$max" ]; do
		count=$(ip netns exec "$ns-router" cat /proc/sys/net/netfilter/nf_conntrack_count)
		[ "$(elapsed "$start" "$(now)" | cut -d. -f1)" -ge $limit ] && break
		sleep 0.005
	done
	end=$(now)
	kill -- -$pid 2>/dev/null
	wait $pid 2>/dev/null
	"$ctlab" clean >/dev/null 2>&1
	if [ "$count" -ge "$max" ]; then
		eval "${name}_time=$(elapsed "$start" "$end")"
	else
		eval "${name}_time="
		echo "$name: only $count of $max entries in $limit s"
	fi
}

# ctlab's own flood, with its peak RSS.
settle
/usr/bin/time -f '%M' -o "$tmp/rss" "$ctlab" run -v --json "$tmp/ctlab.json" tests/bench/flood.ct \
	>"$tmp/ctlab.out" 2>&1
ctlab_time=$(python3 -c '
import json, re, sys
for step in json.load(open(sys.argv[1]))["runs"][0]["steps"]:
    m = re.search(r"came to the router.s conntrack after ([0-9.]+) s", step.get("message", ""))
    if m:
        print(m.group(1))' "$tmp/ctlab.json")
ctlab_rss=$(tail -1 "$tmp/rss")
grep -q '^PASS' "$tmp/ctlab.out" || { echo "ctlab: the flood did not fill the table:"; sed 's/^/    /' "$tmp/ctlab.out"; }

peer hping3 'exec hping3 --flood -S --rand-source -p 9 198.19.0.2'
cat >"$tmp/syn.trafgen" <<'CFG'
{
  MACBYTES,
  drnd(6),
  c16(0x0800),
  0x45, 0x00, c16(44), c16(0), c16(0x4000), 64, 6, csumip(14, 33),
  198, 18, dinc(128, 255), drnd(),
  198, 19, 0, 2,
  drnd(2), c16(9), drnd(4), c32(0), 0x60, 0x02, c16(64240), csumtcp(14, 34), c16(0),
  0x02, 0x04, 0x05, 0xb4,
}
CFG
peer trafgen "sed \"s/MACBYTES/\$ROUTER_MAC_BYTES/\" $tmp/syn.trafgen > $tmp/syn.cfg; exec trafgen --dev eth0 --conf $tmp/syn.cfg --cpus 2 --qdisc-path -q"

ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }' || echo "n/a"; }
echo "flood fill, $max entries, IPv4, routed topology, same machine, one run:"
printf '  %-8s %8s s   peak RSS %s kB\n' ctlab "${ctlab_time:-n/a}" "${ctlab_rss:-?}"
printf '  %-8s %8s s   %s ctlab\n' hping3 "${hping3_time:-n/a}" "$(ratio "${hping3_time:-}" "${ctlab_time:-}")"
printf '  %-8s %8s s   %s ctlab\n' trafgen "${trafgen_time:-n/a}" "$(ratio "${trafgen_time:-}" "${ctlab_time:-}")"
