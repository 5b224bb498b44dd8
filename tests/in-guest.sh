#!/bin/sh
# Run by tests/vm.sh inside a QEMU guest, as ctlab vm's --ctlab binary:
# replay and diagnose on the guest's kernel, their output on stdout as KTAP
# comments ("# replay: ...", "# diagnose: ..."), then the `ctlab run` it was
# asked for. WORK holds the capture (n.pcapng, the router's of
# invalid-not-unnated/ipv4) and its DNAT (service: SERVICE=BACKEND).
#
# usage: in-guest.sh CTLAB WORK RUN-ARGS...
ctlab=$1
work=$2
shift 2
tmp=$(mktemp -d)
# shellcheck source=tests/wait.sh
. "$(dirname "$0")/wait.sh"

has() { grep -q "$2" "$1" 2>/dev/null; }

echo "# replay: kernel $(uname -r)"
"$ctlab" replay --entries --nat "dnat $(cat "$work/service")" "$work/n.pcapng" 2>&1 |
	sed 's/^/# replay: /'

# diagnose on the router of an incident run paused with its group 0 left free.
mkfifo "$tmp/go"
"$ctlab" run --pause --no-reasons k8s-94861-asymmetric-routing/invalid-drop/ipv4 \
	<"$tmp/go" >"$tmp/run.out" 2>"$tmp/run.err" &
run=$!
exec 9>"$tmp/go"
if wait_until 60 has "$tmp/run.err" "^ctlab: Enter goes on"; then
	router=$(sed -n 's/^ctlab:   \(.*\) (conntrack observed here)$/\1/p' "$tmp/run.err")
	"$ctlab" diagnose -v --netns "$router" --duration 300 >"$tmp/diag.out" 2>&1 &
	diag=$!
	wait_until 60 has "$tmp/diag.out" "^# nf_conntrack_tcp_be_liberal" && echo >&9
	wait_until 60 has "$tmp/run.out" "^ok 1 " && wait_until 60 has "$tmp/diag.out" "^# packet (index "
	kill -INT "$diag"
	wait "$diag"
	echo "# diagnose: exit $?"
	sed 's/^/# diagnose: /' "$tmp/diag.out"
fi
exec 9>&-
wait "$run"
echo "# diagnose: the run's exit $?"
rm -rf "$tmp"
exec "$ctlab" "$@"
