#!/usr/bin/env bash
# ctlab vm for real (make matrix; not make check): boots Debian's 6.12 in QEMU
# and runs one scenario there, which must pass with the kernel package in its
# JSON; a negative control that must fail in the guest makes the command exit
# 1; without the init's preload, ctlab must get conntrack and nfnetlink_log
# loaded itself; an unknown kernel is a SKIP (4) without a boot.
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

exit "$failed"
