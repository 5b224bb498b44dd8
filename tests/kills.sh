# Sourced by tests/integration.sh (section 10, a few of each) and tests/soak.sh
# (many), which define ok, not_ok, $ctlab and $out: ctlab runs side by side
# must each pass, and a run ended by a signal at a random moment (setup,
# traffic, a flood, a fill, teardown) must leave nothing it owns behind: no
# namespace of its own under /run/netns, no veth or address of ctlab's in the
# host namespace, the global settings as they were, no guardian, no journal
# entry. Every wait is for the event, and bounded.
# shellcheck shell=bash disable=SC2154  # ctlab, out, ok and not_ok come from the sourcing script

sysctl_dir=/proc/sys/net/netfilter
. tests/machine-lock.sh
. tests/wait.sh

# host_owned_state PID: what a run could leave on the host: its namespaces
# kept under /run/netns (named after its pid), veths with ctlab's link names
# and addresses of its ranges in the host namespace, the global settings.
host_owned_state() {
	find /run/netns -maxdepth 1 -name "ctlab-$1-*" 2>/dev/null | sort
	ip -o link show type veth | sed 's/^[0-9]*: //; s/[@:].*//' | grep -x 'eth[0-9]*' | sort
	ip -o addr show | grep -E ' (198\.1[89]\.|2001:db8:)' | sort
	shared_lock global_sysctls
}

global_sysctls() {
	for key in nf_conntrack_max nf_conntrack_buckets nf_log_all_netns; do
		echo "$key=$(settled_values $sysctl_dir/$key)"
	done
}

process_gone() { ! kill -0 "$1" 2>/dev/null; }
all_gone() { local p; for p in "$@"; do process_gone "$p" || return 1; done; }
no_journal_entry() { ! grep -qs " $1\$" /run/ctlab/journal; }

# every_task_stopped PID: each thread of PID has stopped (SIGSTOP), so that
# none is inside a fork and its children are all there to be read.
every_task_stopped() {
	local stat line
	for stat in /proc/"$1"/task/*/stat; do
		read -r line 2>/dev/null <"$stat" || return 1
		line=${line##*) }
		[ "${line:0:1}" = T ] || return 1
	done
}
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null; }

# others_settings PID: "name=" of each global setting another live run
# holds changed now (journal lines "key old-value pid"): on a shared machine
# those are not PID's to have restored.
others_settings() {
	local key holder
	while read -r key _ holder; do
		[ "$holder" != "$1" ] && kill -0 "$holder" 2>/dev/null && echo "${key#net.netfilter.}="
	done </run/ctlab/journal 2>/dev/null
}

# owned_state_but PID SKIP: host_owned_state PID without the settings in SKIP.
owned_state_but() { host_owned_state "$1" | grep -vF -e "${2:-@none@}"; }

# left_as_before PID BEFORE SKIP: nothing of PID's left and the settings as
# in BEFORE, but those other runs hold (SKIP, and now).
left_as_before() {
	local skip
	skip=$(printf '%s\n%s' "$3" "$(others_settings "$1")" | grep .)
	no_journal_entry "$1" &&
		[ "$(owned_state_but "$1" "$skip")" = "$(grep -vF -e "${skip:-@none@}" <<<"$2")" ]
}

# time_run ARGS...: one `ctlab run ARGS` to the end; it must pass. Sets
# run_ms to how long it took.
time_run() {
	local start rc
	start=$(date +%s%N)
	"$ctlab" run "$@" >"$out/length.ktap" 2>"$out/length.err"
	rc=$?
	run_ms=$((($(date +%s%N) - start) / 1000000))
	if [ $rc = 0 ]; then
		ok "a run of $* to the end in $run_ms ms"
	else
		not_ok "a run of $* to the end: exit $rc"
		grep '^not ok' "$out/length.ktap" | sed 's/^/    /'
	fi
}

# signal_at_random SIGNAL LENGTH_MS NAME ARGS...: start `ctlab run ARGS`,
# send SIGNAL at a random moment within LENGTH_MS, and check that it died
# of it (or had passed already) and left the host as it was.
signal_at_random() {
	local sig=$1 length=$2 name=$3 pid delay before skip guardians rc done_runs held at max_at
	shift 3
	before=$(host_owned_state none)
	skip=$(others_settings none)
	# Signals at their defaults (bash would start it with SIGINT ignored).
	env --default-signal "$ctlab" run "$@" >"$out/killed.ktap" 2>"$out/killed.err" &
	pid=$!
	# A random moment, not a wait for an event: the point is not to choose.
	delay=$((((RANDOM << 15) | RANDOM) % length))
	sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
	done_runs=$(grep -c '^ok' "$out/killed.ktap")
	held=$(find "/proc/$pid/fd" -lname 'net:\[*' 2>/dev/null | wc -l)
	# Stopped, it cannot fork a guardian we would not see.
	guardians=""
	if kill -STOP $pid 2>/dev/null && wait_until 10 every_task_stopped $pid; then
		guardians=$(children_of $pid | tr -s ' \n' '  ')
		guardians=${guardians% }
	fi
	max_at=$(cat $sysctl_dir/nf_conntrack_max)
	kill -"$sig" $pid 2>/dev/null
	kill -CONT $pid 2>/dev/null
	# (bash tells of the death, "Killed", while this waits: not shown.)
	if ! wait_until 120 process_gone $pid 2>/dev/null; then
		not_ok "$name: still running 120 s after SIG$sig"
		kill -KILL $pid 2>/dev/null
	fi
	wait $pid 2>/dev/null
	rc=$?
	# shellcheck disable=SC2086  # one pid a word
	wait_until 30 all_gone $guardians
	wait_until 30 left_as_before $pid "$before" "$skip"
	at="$((delay / 1000)).$(printf %03d $((delay % 1000)))"
	name="$name at $at s ($done_runs runs done, $held namespaces held, max $max_at)"
	# shellcheck disable=SC2086  # one pid a word
	if { [ $rc = $((128 + $(kill -l "$sig"))) ] || [ $rc = 0 ]; } &&
	   left_as_before $pid "$before" "$skip" && all_gone $guardians; then
		ok "$name: exit $rc,${guardians:+ guardian $guardians gone,} nothing left"
	else
		not_ok "$name: exit $rc, guardian '$guardians'"
		diff <(echo "$before") <(host_owned_state $pid) | sed 's/^/    /'
		grep -s " $pid\$" /run/ctlab/journal | sed 's/^/    journal: /'
		grep -v '^ok' "$out/killed.ktap" | tail -5 | sed 's/^/    /'
		tail -5 "$out/killed.err" | sed 's/^/    /'
		"$ctlab" clean >/dev/null 2>&1
	fi
}

# measure_runs ARGS...: one `ctlab run ARGS` to the end, then one with
# --ct-max a quarter of the machine's table; both must pass. Sets the
# lengths the random moments are drawn from, and ct_max.
measure_runs() {
	ct_max=$(($(settled $sysctl_dir/nf_conntrack_max) / 4))
	[ $ct_max -ge 16384 ] || ct_max=16384
	time_run "$@"
	length_plain=$run_ms
	time_run --ct-max "$ct_max" "$@"
	length_ct_max=$run_ms
}

# signals_at_random SIGNAL COUNT ARGS...: COUNT runs of `ctlab run ARGS`
# (measure_runs first), each sent SIGNAL at its own random moment; every
# other one with --ct-max, so that the journal and the guardian are in it.
signals_at_random() {
	local sig=$1 count=$2 i
	shift 2
	for i in $(seq 1 "$count"); do
		signal_run "$sig" "$i" "$count" "$@"
	done
}

# signal_run SIGNAL I COUNT ARGS...: the I-th of those COUNT runs.
signal_run() {
	local sig=$1 i=$2 count=$3
	shift 3
	if [ $((i % 2)) = 0 ]; then
		signal_at_random "$sig" "$length_ct_max" "SIG$sig $i/$count (--ct-max $ct_max)" \
			--ct-max "$ct_max" "$@"
	else
		signal_at_random "$sig" "$length_plain" "SIG$sig $i/$count" "$@"
	fi
}

# concurrent_runs N ARGS...: N `ctlab run ARGS` at once; each must pass, and
# together leave the host as it was.
concurrent_runs() {
	local n=$1 i rc before skip pids=()
	shift
	before=$(host_owned_state none)
	skip=$(others_settings none)
	for i in $(seq 1 "$n"); do
		timeout -k 10 1800 "$ctlab" run "$@" >"$out/side-$i.ktap" 2>"$out/side-$i.err" &
		pids+=($!)
	done
	for i in $(seq 1 "$n"); do
		wait "${pids[$((i - 1))]}"
		rc=$?
		if [ $rc = 0 ] && ! grep -q '^not ok' "$out/side-$i.ktap"; then
			ok "side by side, run $i of $n: $(grep -c '^ok' "$out/side-$i.ktap") passed"
		else
			not_ok "side by side, run $i of $n: exit $rc"
			grep '^not ok' "$out/side-$i.ktap" | sed 's/^/    /'
			grep -v '^ok' "$out/side-$i.ktap" | grep '^#' | head -10 | sed 's/^/    /'
			tail -5 "$out/side-$i.err" | sed 's/^/    /'
		fi
	done
	if wait_until 30 left_as_before none "$before" "$skip"; then
		ok "side by side, $n runs: host as before"
	else
		not_ok "side by side, $n runs: host changed"
		diff <(echo "$before") <(host_owned_state none) | sed 's/^/    /'
	fi
}
