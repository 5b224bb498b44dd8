#!/usr/bin/env bash
# The whole catalogue under valgrind's memcheck, one run at a time (-j1): no
# invalid access, no use of uninitialised memory, no definite leak, in ctlab
# or in the guardian it forks. tests/valgrind.supp names what the libraries
# do themselves. The table-full scenarios run with --ct-max 16384: twice as
# fast, and the journal, the guardian and the restore are then under
# memcheck too; the global settings must be back afterwards.
set -u
ctlab=${1:-./ctlab}
cd "$(dirname "$0")/.." || exit 1
. tests/machine-lock.sh

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP valgrind: the catalogue needs root"
	exit 4
fi
logs=$(mktemp -d)
trap '"$ctlab" clean >/dev/null 2>&1; rm -rf "$logs"' EXIT
status=0

# Only definite leaks are shown and counted; each report is bracketed by a
# marker so that one in any process's log is found.
memcheck() {
	valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
		--error-markers=VALGRIND-ERROR,VALGRIND-END --suppressions=tests/valgrind.supp \
		--log-file="$logs/memcheck.%p" "$ctlab" run -j1 "$@"
}

# run_catalogue_part NAME ARGS...: one ctlab run under memcheck; it must pass.
run_catalogue_part() {
	local name=$1 start=$SECONDS rc
	shift
	memcheck "$@" >"$logs/$name.ktap" 2>"$logs/$name.err"
	rc=$?
	echo "valgrind: $name: $(grep -c '^ok' "$logs/$name.ktap") runs passed," \
		"$(grep -c '^not ok' "$logs/$name.ktap") failed, exit $rc, $((SECONDS - start)) s"
	if [ $rc != 0 ]; then
		grep '^not ok' "$logs/$name.ktap" | sed 's/^/    /'
		sed 's/^/    /' "$logs/$name.err" | head -20
		status=1
	fi
}

# As no other ctlab is changing them (a --ct-max run beside holds them changed).
settings() { settled /proc/sys/net/netfilter/nf_conntrack_max /proc/sys/net/netfilter/nf_conntrack_buckets; }
before=$(settings)
start=$SECONDS
mapfile -t most < <(find scenarios -mindepth 1 -maxdepth 1 -type d ! -name table-full | sort)
run_catalogue_part catalogue "${most[@]}"
run_catalogue_part table-full --ct-max 16384 scenarios/table-full

if [ "$(settings)" != "$before" ]; then
	echo "valgrind: nf_conntrack_max and buckets were $(echo "$before" | paste -sd/), now $(settings | paste -sd/)"
	status=1
fi
# valgrind 3.19 does not know openat2 (netns.c falls back to openat): that
# warning is not an error.
reports=$(cat "$logs"/memcheck.* | grep -c '^==[0-9]*== VALGRIND-ERROR')
if [ "$reports" != 0 ]; then
	echo "valgrind: $reports reports:"
	cat "$logs"/memcheck.* | sed -n '/VALGRIND-ERROR/,/VALGRIND-END/p' | head -200
	status=1
fi
echo "valgrind: $reports reports, $((SECONDS - start)) s in all"
exit $status
