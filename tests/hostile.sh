# Sourced by tests/integration.sh (uses $ctlab, $out, ok, not_ok): hostile
# scenario files that cannot be kept in git as they are (NUL bytes, control
# characters, FIFOs, symlinks, giant files). Each must end in a clean error
# (exit 2, file:line:column where there is a position), never a crash, a hang
# or a change to the host; the host's sysctls outside net. are compared around
# them all. (tests/scenarios-bad/ holds the ones that are plain text.)
# shellcheck shell=bash disable=SC2154  # ctlab and out are set by the sourcing script

hostile=$(mktemp -d)

# The writable sysctls outside net.: what a scenario must never reach. Keys
# that change by themselves (seen to differ between two reads) are left out.
global_sysctls() {
	find /proc/sys/kernel /proc/sys/vm /proc/sys/fs /proc/sys/dev /proc/sys/user \
		-type f -perm -u+w 2>/dev/null | sort | while IFS= read -r f; do
		printf '%s=%s\n' "$f" "$(head -c 256 "$f" 2>/dev/null | tr '\n\t' '  ')"
	done
}
global_sysctls >"$hostile/a"
global_sysctls >"$hostile/b"
diff "$hostile/a" "$hostile/b" | sed -n 's/^[<>] \([^=]*=\).*/\1/p' | sort -u >"$hostile/volatile"
# And those the kernel adjusts by itself now and then.
printf '/proc/sys/kernel/%s=\n' perf_event_max_sample_rate tainted ns_last_pid >>"$hostile/volatile"
stable() { grep -vF -f "$hostile/volatile" "$1"; }

# hostile_rejects NAME FILE WANT: exit 2 within the bound, WANT on stderr,
# nothing on stdout, and nothing of /etc/shadow anywhere.
hostile_rejects() {
	local name=$1 file=$2 want=$3 status
	timeout 60 "$ctlab" run "$file" >"$hostile/out" 2>"$hostile/err" </dev/null
	status=$?
	if [ $status = 2 ] && grep -qF -- "$want" "$hostile/err" && [ ! -s "$hostile/out" ] &&
	   ! grep -q 'root:' "$hostile/out" "$hostile/err"; then
		ok "hostile $name: $(head -c 160 "$hostile/err" | head -1)"
	else
		not_ok "hostile $name: exit $status, wanted '$want'"
		sed 's/^/    /' "$hostile/out" "$hostile/err" | cat -v | head -20
	fi
}

head=$'name h\ntopology pair\n'
printf '%sabout a\0b\nsysctl server nf_conntrack_tcp_be_liberal=1\n' "$head" >"$hostile/nul.ct"
hostile_rejects "NUL byte" "$hostile/nul.ct" "nul.ct:3:8: expected text, found a NUL byte (U+0000)"
printf '%sabout \033]0;owned\007\033[2J\r\n' "$head" >"$hostile/esc.ct"
hostile_rejects "terminal escapes in about" "$hostile/esc.ct" \
	"esc.ct:3:7: expected text, found a control character (U+001B)"
printf '%sabout \342\200\256gnp.exe\n' "$head" >"$hostile/bidi.ct"
hostile_rejects "bidi override" "$hostile/bidi.ct" "bidi.ct:3:7: expected text, found a control character (U+202E)"
printf '%sabout \377\376\n' "$head" >"$hostile/bytes.ct"
hostile_rejects "bytes that are not UTF-8" "$hostile/bytes.ct" "bytes.ct:3:7: expected UTF-8 text, found the byte 0xFF"
mkfifo "$hostile/fifo.ct"
hostile_rejects "FIFO" "$hostile/fifo.ct" "fifo.ct: not a regular file (a FIFO)"
ln -s /dev/zero "$hostile/zero.ct"
hostile_rejects "symlink to /dev/zero" "$hostile/zero.ct" "zero.ct: not a regular file (a device)"
ln -s /etc/shadow "$hostile/shadow.ct"
hostile_rejects "symlink to a root-only file" "$hostile/shadow.ct" \
	"shadow.ct:1:1: expected a statement (name, about, topology, …): not a scenario file, its content is not shown"
mkdir "$hostile/dir.ct"
hostile_rejects "a directory named like a file" "$hostile/dir.ct/" "dir.ct/: not a regular file (a directory)"
rmdir "$hostile/dir.ct"
head -c 9000000 /dev/zero | tr '\0' '#' >"$hostile/giant.ct"
hostile_rejects "9 MB file" "$hostile/giant.ct" "giant.ct: 9000000 bytes: a scenario file holds at most 8388608"
printf 'hello\n' >"$hostile/$(printf 'name\033[2J').ct"

# A folder holding all of them: run refuses it whole (exit 2, nothing made),
# list names the good one and reports the others, and neither hangs on the FIFO.
mkfifo "$hostile/fifo.ct" 2>/dev/null
cp tests/fixtures/flag-check.ct "$hostile/"
timeout 60 "$ctlab" run "$hostile" >"$hostile/out" 2>"$hostile/err" </dev/null
status=$?
timeout 60 "$ctlab" list >/dev/null 2>&1
CTLAB_SCENARIOS=$hostile timeout 60 "$ctlab" list >"$hostile/list" 2>"$hostile/list.err" </dev/null
list_status=$?
CTLAB_SCENARIOS=$hostile timeout 60 "$ctlab" run fixture-flag-check >"$hostile/named" 2>&1 </dev/null
named_status=$?
if [ $status = 2 ] && [ ! -s "$hostile/out" ] && [ $list_status = 2 ] &&
   grep -q '^fixture-flag-check ' "$hostile/list" && [ "$(wc -l <"$hostile/list")" = 1 ] &&
   grep -q 'fifo.ct: not a regular file' "$hostile/list.err" &&
   grep -qF 'name\x1b[2J.ct:1:1: expected a statement' "$hostile/list.err" &&
   ! grep -q "$(printf '\033')" "$hostile/list.err" "$hostile/err" &&
   [ $named_status = 0 ] && grep -q '^ok 2 fixture-flag-check/ipv6' "$hostile/named"; then
	ok "hostile folder: run refuses it (exit 2), list shows the good file, run NAME finds it; names escaped"
else
	not_ok "hostile folder: run $status, list $list_status, run NAME $named_status"
	cat -v "$hostile/err" "$hostile/list" "$hostile/list.err" "$hostile/named" | sed 's/^/    /' | head -30
fi

# Those of tests/scenarios-bad once more (the global sysctls, the includes) in
# this window; nothing outside net. may have moved meanwhile.
for file in tests/scenarios-bad/*.ct; do
	timeout 60 "$ctlab" run "$file" >/dev/null 2>&1 </dev/null
done
global_sysctls >"$hostile/after"
if diff <(stable "$hostile/a") <(stable "$hostile/after") >"$hostile/changed"; then
	ok "host sysctls outside net. unchanged by the hostile files ($(stable "$hostile/a" | wc -l) compared)"
else
	not_ok "host sysctls outside net. changed:"
	sed 's/^/    /' "$hostile/changed" | head -20
fi
rm -rf "$hostile"
