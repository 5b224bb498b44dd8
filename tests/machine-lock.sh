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

# settled FILE...: these sysctl files' values, one a line, as no ctlab
# process is changing them: read under the lock shared (settled_values, for
# a caller that holds it already). A global value a dead ctlab journaled
# (killed together with its guardian, as some tests do on purpose: the next
# ctlab that has the machine, or ctlab clean, puts it back) is told as the
# old value it journaled, which is what the machine is about to have again.
settled() { shared_lock settled_values "$@"; }
settled_values() {
	local file key old
	for file in "$@"; do
		key=${file#/proc/sys/}
		key=${key//\//.}
		# A global line is "key old-value pid"; a namespace's has more.
		old=$(awk -v key="$key" '$1 == key && NF == 3 { print $2; exit }' /run/ctlab/journal 2>/dev/null)
		if [ -n "$old" ]; then
			echo "$old"
		else
			cat "$file" 2>/dev/null
		fi
	done
}
