#!/usr/bin/env bash
# make bench, replay: a capture of mixed flows written by ctlab's packet
# builder (tests/bench/mkcapture.c; BENCH_REPLAY_PACKETS, default 1,000,000,
# kept under build/, out of git) replayed through conntrack by `ctlab replay`:
# packets per second and the largest resident size. Goal: 200,000 packets/s.
set -u
ctlab=${1:-./ctlab}
mkcapture=${2:-build/tests/bench/mkcapture}
packets=${BENCH_REPLAY_PACKETS:-1000000}
capture=build/bench/mix-$packets.pcap

if [ "$(id -u)" != 0 ]; then
	echo "replay:                not measured (needs root)"
	exit 0
fi
mkdir -p build/bench
[ -s "$capture" ] || "$mkcapture" "$capture" "$packets" 2>/dev/null || {
	echo "replay:                cannot write $capture" >&2
	exit 1
}
# Wall time and the child's peak RSS, from the kernel's own accounting.
/usr/bin/python3 - "$ctlab" "$capture" "$packets" <<'PY'
import resource, subprocess, sys, time
ctlab, capture, packets = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.monotonic()
run = subprocess.run([ctlab, "replay", capture], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
# exit 1: something was INVALID, as the capture means it to be
if run.returncode not in (0, 1):
    print("replay:                exit %d: %s" % (run.returncode, run.stderr.decode()[-300:].strip()))
    sys.exit(1)
print("%-22s %d packets in %.2f s: %d packets/s (goal 200000), peak RSS %d MB"
      % ("replay:", packets, wall, packets / wall, rss // 1024))
PY
