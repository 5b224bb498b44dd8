# shellcheck shell=bash
# shared_lock CMD...: run CMD (a command or a shell function) holding ctlab's
# machine lock shared, as a ctlab run would, so that it sees the global
# settings (nf_conntrack_max, …) as no other ctlab process is changing them:
# one with --ct-max holds the lock exclusively until it has restored them.
# Bounded (15 min); without the lock file no ctlab process has run here yet.
shared_lock() {
	if [ -e /run/ctlab/machine.lock ]; then
		(flock -s -w 900 9 || exit 1; "$@") 9</run/ctlab/machine.lock
	else
		"$@"
	fi
}
