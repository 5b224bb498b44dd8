# shellcheck shell=sh
# Sourced by the test scripts (bash, and tests/in-guest.sh's sh in a guest).
#
# wait_until SECONDS COMMAND...: COMMAND again and again until it succeeds
# (0) or SECONDS have passed (1). Bounded by the clock, not by a count of
# looks: on a loaded machine each look may take longer than its sleep.
wait_until() {
	wait_until_end=$(($(date +%s) + $1 + 1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$wait_until_end" ] || return 1
		sleep 0.02
	done
}
