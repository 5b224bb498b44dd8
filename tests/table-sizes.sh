# Sourced by tests/integration.sh (uses $ctlab, $out, ok, not_ok): the
# table-full stories are written with sizes from the machine's table (count=max,
# entries >=max-N), so they hold with another nf_conntrack_max too: here a
# quarter of this machine's, set by --ct-max (with the buckets, as the kernel
# sizes its table), and put back afterwards.
# shellcheck shell=bash disable=SC2154  # ctlab and out are set by the sourcing script

. tests/machine-lock.sh

table_sizes() {
	local sizes=(/proc/sys/net/netfilter/nf_conntrack_max /proc/sys/net/netfilter/nf_conntrack_buckets)
	settled "${sizes[@]}"
}
sizes_before=$(table_sizes)
quarter=$((${sizes_before%%[!0-9]*} / 4))
[ "$quarter" -ge 1024 ] || quarter=1024
"$ctlab" run --ct-max "$quarter" scenarios/table-full/ >"$out/sizes.ktap" 2>"$out/sizes.err"
status=$?
sizes_after=$(table_sizes)
if [ $status = 0 ] && ! grep -q '^not ok' "$out/sizes.ktap" && [ "$sizes_after" = "$sizes_before" ] &&
   grep -q "nf_conntrack_max and _buckets are $quarter for this run" "$out/sizes.err"; then
	ok "table-full scenarios pass with --ct-max $quarter ($(grep -c '^ok' "$out/sizes.ktap") runs); max and buckets put back"
else
	not_ok "table-full with --ct-max $quarter: exit $status, before '$sizes_before', after '$sizes_after'"
	sed 's/^/    /' "$out/sizes.ktap" "$out/sizes.err" | grep -v '^    ok' | head -30
fi
