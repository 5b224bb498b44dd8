#!/usr/bin/env bash
# ctlab vm for real (make matrix; not make check): boots Debian's 6.12 in QEMU
# and runs one scenario there, which must pass with the kernel package in its
# JSON; a negative control that must fail in the guest makes the command exit
# 1; replay and diagnose work on the guest's kernel; without the init's preload, ctlab must get conntrack and nfnetlink_log
# loaded itself; an unknown kernel is a SKIP (4) without a boot; SIGTERM,
# SIGINT and SIGKILL while the guest runs leave no QEMU and no share.
#
# usage: tests/vm.sh CTLAB    (root; exit 0 passed, 1 failed, 4 skipped)
set -u
ctlab=$(realpath "$1")
kernel=${VM_TEST_KERNEL:-6.12}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

check() {	# check NAME WANTED-STATUS COMMAND...
	local name=$1 wanted=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 4 ] && [ "$wanted" != 4 ]; then
		echo "SKIP $name: $(grep -m1 SKIP "$tmp/err")"
		exit 4
	fi
	if [ "$rc" = "$wanted" ]; then
		echo "ok $name"
	else
		echo "not ok $name: exit $rc, wanted $wanted"
		sed 's/^/    /' "$tmp/out" "$tmp/err" | tail -n 25
		failed=1
	fi
}

[ "$(id -u)" = 0 ] || { echo "SKIP vm.sh: needs root"; exit 4; }

check "vm: syn-rst passes under $kernel" 0 \
	"$ctlab" vm --kernel "$kernel" --json "$tmp/syn-rst.json" syn-rst
if [ -s "$tmp/syn-rst.json" ]; then
	name=$(jq -r '.kernel_package.name' "$tmp/syn-rst.json")
	version=$(jq -r '.kernel_package.version' "$tmp/syn-rst.json")
	passes=$(jq '[.runs[] | select(.outcome == "pass")] | length' "$tmp/syn-rst.json")
	case $name in
	linux-image-*) echo "ok vm: the JSON names $name $version, $passes runs passed" ;;
	*) echo "not ok vm: the JSON names no kernel package ($name)"; failed=1 ;;
	esac
	[ "$passes" -gt 0 ] || { echo "not ok vm: no run passed in the JSON"; failed=1; }
else
	echo "not ok vm: no JSON came back"
	failed=1
fi

# Negative control: a scenario that must fail makes the command exit 1.
check "vm: a wrong expectation fails in the guest (exit 1)" 1 \
	"$ctlab" vm --kernel "$kernel" tests/negative/wrong-verdict.ct
grep -q 'expected verdict established' "$tmp/out" "$tmp/err" ||
	{ echo "not ok vm: the guest's failure line did not come back"; failed=1; }

# Nothing preloaded: the observer must have the kernel load conntrack,
# nf_tables and nfnetlink_log itself.
check "vm: --no-preload, ctlab loads what it needs" 0 \
	"$ctlab" vm --kernel "$kernel" --no-preload --json "$tmp/no-preload.json" syn-rst
skips=$(jq '[.runs[] | select(.outcome == "skip")] | length' "$tmp/no-preload.json" 2>/dev/null)
[ "${skips:-1}" = 0 ] || { echo "not ok vm: --no-preload skipped $skips runs"; failed=1; }

check "vm: an unknown kernel is a skip" 4 "$ctlab" vm --kernel 5.99 syn-rst

# replay and diagnose on the guest's kernel (tests/in-guest.sh): the router's
# capture of the 74839 reset replayed with its DNAT names the INVALID segment
# with its reason, the entry it leaves ESTABLISHED and the RST after it;
# diagnose on the router of a paused incident run ranks its reason first.
# What the guest reads sits beside the binary (the guest has its own /tmp).
work=$(dirname "$ctlab")/vm-guest-work
rm -rf "$work" && mkdir -p "$work"
if "$ctlab" run --pcap "$work/pcap" --json "$work/run.json" invalid-not-unnated/ipv4 >/dev/null 2>&1 &&
	mergecap -w "$work/n.pcapng" "$work"/pcap/invalid-not-unnated-ipv4/router-*.pcapng &&
	jq -r '.runs[0].hosts | map({(.name): .addr}) | add | .service + "=" + .server' "$work/run.json" >"$work/service"; then
	printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$(realpath "$(dirname "$0")/in-guest.sh")" "$ctlab" "$work" >"$work/ctlab"
	chmod +x "$work/ctlab"
	check "vm: replay and diagnose in the guest" 0 "$ctlab" vm --kernel "$kernel" --ctlab "$work/ctlab" syn-rst/nofilter/ipv4
	if grep -q '^# replay: .*INVALID: SEQ is over upper bound [0-9]* (over the window of the receiver); entry stays ESTABLISHED$' "$tmp/out" &&
		grep -q '^# replay: .*RST, after the INVALID packet of frame [0-9]* the other way' "$tmp/out" &&
		grep -q '^# diagnose: 1\. packet (index #) in dir # invalid, state SYN_SENT: [0-9]* packets\?, INVALID' "$tmp/out" &&
		grep -q '^# diagnose: exit 1$' "$tmp/out" && grep -q "^# diagnose: the run's exit 0$" "$tmp/out"; then
		echo "ok vm: under $kernel, replay names the 74839 INVALID segment, its entry and the RST after it; diagnose ranks k8s-94861's reason first"
	else
		echo "not ok vm: replay and diagnose under $kernel:"
		grep '^# \(replay\|diagnose\)' "$tmp/out" | tail -30 | sed 's/^/    /'
		failed=1
	fi
else
	echo "not ok vm: the capture for the guest's replay could not be made"
	failed=1
fi
rm -rf "$work"

# Stopped while the guest runs: SIGTERM and SIGINT stop QEMU and remove the
# share at once; after SIGKILL, QEMU dies with it (PDEATHSIG) and the next
# ctlab vm removes the share it left.
# qemu_of PID: the QEMU that ctlab vm PID started, waited for (bounded).
qemu_of() {
	local q
	for _ in $(seq 600); do
		q=$(pgrep -P "$1" -x qemu-system-x86 || pgrep -P "$1" qemu-system)
		[ -n "$q" ] && { echo "$q"; return 0; }
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# gone PID: true once PID has ended (a zombie counts), bounded.
gone() {
	for _ in $(seq 100); do
		[ -e "/proc/$1" ] || return 0
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && return 0
		sleep 0.1
	done
	return 1
}
for sig in TERM INT KILL; do
	"$ctlab" vm --kernel "$kernel" tcp-window >"$tmp/out" 2>"$tmp/err" &
	vm=$!
	qemu=$(qemu_of "$vm")
	if [ -z "$qemu" ]; then
		wait "$vm"
		echo "not ok vm: SIG$sig: no QEMU seen (exit $?)"; failed=1; continue
	fi
	share=$(tr '\0' '\n' <"/proc/$qemu/cmdline" | grep -o '/var/tmp/ctlab-vm\.[A-Za-z0-9]*' | head -n 1)
	kill -"$sig" "$vm"
	wait "$vm"
	rc=$?
	problems=""
	gone "$qemu" || problems+=" QEMU $qemu still runs;"
	[ "$sig" = KILL ] || [ "$rc" = $((128 + $(kill -l "$sig"))) ] || problems+=" exit $rc;"
	[ "$sig" = KILL ] || grep -q "stopped by SIG$sig" "$tmp/err" || problems+=" no 'stopped by' line;"
	if [ "$sig" = KILL ]; then
		# The next ctlab vm sweeps what a killed one left when it makes its share.
		"$ctlab" vm --kernel "$kernel" syn-rst >/dev/null 2>&1
	fi
	[ -n "$share" ] && [ -e "$share" ] && problems+=" $share left;"
	if [ -z "$problems" ]; then
		echo "ok vm: SIG$sig while the guest runs: QEMU and its share gone"
	else
		echo "not ok vm: SIG$sig while the guest runs:$problems"; failed=1
	fi
done

exit "$failed"
