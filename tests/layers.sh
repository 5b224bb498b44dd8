#!/usr/bin/env bash
# The layer check (make layers, part of make check): harness/ and netns/ are
# folders, one per layer, and dependencies point down only
# (docs/architecture.md draws them).  Two views are checked:
#
#   includes  every #include "…" of a source or header names a header of its
#             own folder, or the public header (FOLDER/FOLDER.h) of a folder
#             its layer may use;
#   symbols   every symbol an object file uses from another object is defined
#             in its own folder or in a folder its layer may use (so a call
#             made without an include is caught too), the objects' folders
#             form no circle, and nothing calls up into a folder's top file
#             (engine.c, the lifecycle; cli's main.c).
#
# usage: tests/layers.sh [ROOT [BUILD]]   (ROOT: the tree, BUILD: its objects;
# without objects only the includes are checked).  Prints each breach with
# file:line, then "layers: N breaches"; exits 1 on any.
set -u

# --mutants: the check must fail on each breach planted in a copy of the tree.
if [ "${1-}" = --mutants ]; then
	root=${2:-.}
	build=${3:-$root/build}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	failed=0
	# mutant NAME: copy the tree and objects, let the caller plant, then check.
	fresh() {
		rm -rf "$tmp/t"
		mkdir -p "$tmp/t"
		cp -r "$root/harness" "$root/netns" "$tmp/t/"
		mkdir -p "$tmp/t/build"
		[ -d "$build/harness" ] && cp -r "$build/harness" "$build/netns" "$tmp/t/build/" 2>/dev/null
		return 0
	}
	expect_breach() {
		if "$0" "$tmp/t" "$tmp/t/build" >"$tmp/out" 2>&1; then
			echo "layers mutant not caught: $1"
			failed=1
		elif ! grep -q "$2" "$tmp/out"; then
			echo "layers mutant caught for another reason: $1"; cat "$tmp/out"
			failed=1
		fi
	}
	fresh; sed -i '1a #include "engine/engine.h"' "$tmp/t/harness/lang/expect.c"
	expect_breach "lang includes the engine" 'lang may use only'
	fresh; sed -i '1a #include "engine/run.h"' "$tmp/t/harness/output/chain.c"
	expect_breach "output includes a private header of the engine" 'private header of engine'
	fresh; mkdir -p "$tmp/t/harness/misc"; echo 'int misc;' >"$tmp/t/harness/misc/misc.c"
	expect_breach "a folder outside the layers" 'not in a layer folder'
	fresh; printf 'void engine_run(void);\nvoid call_up(void);\nvoid call_up(void) { engine_run(); }\n' \
		>"$tmp/t/harness/base/up.c"
	${CC:-cc} -c -o "$tmp/t/build/harness/base/up.o" "$tmp/t/harness/base/up.c"
	expect_breach "base calls the engine without an include" 'uses engine_run'
	fresh; printf 'void engine_run(void);\nvoid call_top(void);\nvoid call_top(void) { engine_run(); }\n' \
		>"$tmp/t/harness/engine/up.c"
	${CC:-cc} -c -o "$tmp/t/build/harness/engine/up.o" "$tmp/t/harness/engine/up.c"
	expect_breach "a step calls up into engine.c" 'the top of engine'
	[ "$failed" = 0 ] && echo "layers: 5 mutants caught"
	exit "$failed"
fi

root=${1:-.}
build=${2:-$root/build}

# The layers, bottom first, and what each may use (besides itself).
declare -A may_use=(
	[base]=""
	[packet]="base"
	[lang]="base packet"
	[netns]=""
	[observe]="base packet netns"
	[inject]="base packet netns"
	[journal]="base"
	[vm]="base"
	[engine]="base packet lang netns observe inject journal"
	[replay]="base packet netns observe inject"
	[output]="base packet lang engine"
	[cli]="base packet lang netns observe inject journal vm engine output replay"
)

# Folders whose top file nothing else in the folder may call (the lifecycle,
# which uses the rest): FOLDER=FILE without .c.
declare -A top_of=(
	[engine]=engine
	[cli]=main
)

breaches=0
breach() { breaches=$((breaches + 1)); echo "layers: $*"; }

# folder_of FILE: the layer folder a path under harness/ or netns/ is in.
folder_of() {
	case $1 in
	*/harness/*/*) local rest=${1##*/harness/}; echo "${rest%%/*}" ;;
	*/netns/*) echo netns ;;
	*) echo "" ;;
	esac
}

allowed() {	# allowed FROM TO
	[ "$1" = "$2" ] && return 0
	case " ${may_use[$1]} " in *" $2 "*) return 0 ;; esac
	return 1
}

# The table itself must have no circle: tsort says so.
for layer in "${!may_use[@]}"; do
	for dep in ${may_use[$layer]}; do echo "$dep $layer"; done
	echo "$layer $layer"
done | tsort >/dev/null 2>&1 || breach "the table of layers has a circle"

# ---- includes ----
shopt -s nullglob
for file in "$root"/harness/*/*.[ch] "$root"/netns/*.[ch] "$root"/harness/*.[ch]; do
	from=$(folder_of "$file")
	rel=${file#"$root"/}
	if [ -z "$from" ] || [ -z "${may_use[$from]+set}" ]; then
		breach "$rel: not in a layer folder (known: ${!may_use[*]})"
		continue
	fi
	while IFS=: read -r line header; do
		header=${header#*\"}; header=${header%\"*}
		case $header in
		*/*/* | ../*)
			breach "$rel:$line: includes \"$header\": name a folder's public header as FOLDER/FOLDER.h"
			continue ;;
		*/*)
			to=${header%%/*}
			if [ -z "${may_use[$to]+set}" ]; then
				breach "$rel:$line: includes \"$header\": no such layer"
			elif [ "$header" != "$to/$to.h" ] && [ "$to" != "$from" ]; then
				breach "$rel:$line: includes \"$header\", a private header of $to (its public one is $to/$to.h)"
			elif ! allowed "$from" "$to"; then
				breach "$rel:$line: includes \"$header\": $from may use only: ${may_use[$from]:-nothing}"
			fi ;;
		*)
			[ -e "$(dirname "$file")/$header" ] ||
				breach "$rel:$line: includes \"$header\", which is not a header of $from" ;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
done

# ---- symbols ----
# The objects of today's sources only: a build folder may hold stale ones.
objects=()
for src in "$root"/harness/*/*.c "$root"/netns/*.c; do
	obj=$build/${src#"$root"/}
	obj=${obj%.c}.o
	[ -e "$obj" ] && objects+=("$obj")
done
if [ ${#objects[@]} -gt 0 ]; then
	declare -A defined_in=()
	for obj in "${objects[@]}"; do
		while read -r _ _ sym; do
			defined_in[$sym]=$obj
		done < <(nm -g --defined-only "$obj" 2>/dev/null)
	done
	edges=$(mktemp)
	for obj in "${objects[@]}"; do
		from=$(folder_of "$obj")
		while read -r _ sym; do
			def=${defined_in[$sym]-}
			if [ -z "$def" ] || [ "$def" = "$obj" ]; then continue; fi
			to=$(folder_of "$def")
			if [ "$to" = "$from" ]; then
				top=${top_of[$from]-}
				[ -n "$top" ] && [ "${def##*/}" = "$top.o" ] &&
					breach "${obj#"$build"/}: uses $sym of ${def#"$build"/}, the top of $from, which only calls down"
				continue
			fi
			echo "$to $from" >>"$edges"
			allowed "$from" "$to" ||
				breach "${obj#"$build"/}: uses $sym of ${def#"$build"/}: $from may use only: ${may_use[$from]:-nothing}"
		done < <(nm -u "$obj" 2>/dev/null)
	done
	sort -u "$edges" | tsort >/dev/null 2>&1 ||
		breach "the folders' symbols form a circle: $(sort -u "$edges" | tsort 2>&1 >/dev/null | tr '\n' ' ')"
	rm -f "$edges"
fi

echo "layers: $breaches breaches"
[ "$breaches" = 0 ]
