#!/bin/bash
# Every msgpool test suite, as `make check` runs it: the static checks,
# the core's userspace tests, then for each kernel of scripts/kernels
# (Debian 12's, the 6.12 LTS, the newest Debian ships) the module built
# sparse-clean, built by dkms, installed and loaded with modprobe, and the
# selftests, the library's and the Rust binding's tests in qemu; then the
# same on the debug kernel (KASAN, lockdep, kmemleak) with its KUnit
# suites. The Debian packages are built, linted, installed in each
# kernel's root, their module run in its VM, and purged. A suite's name
# carries its kernel's version. scripts/tap.awk reads every suite's
# results into build/results/<suite>.tap (TAP 13);
# the suite's output goes to build/results/<suite>.log. Ends with a table
# and the line "msgpool: N passed, N failed"; exits non-zero if any test
# failed or a suite produced no results.
#
# Usage: scripts/check.sh [--list] [PATTERN...]
#   PATTERN  run only the suites whose names match one of these globs, e.g.
#            'selftests-6.1' 'kunit-*'. A suite uses what the ones before
#            it left in build/ (build-LABEL the module that LABEL's VM
#            suites load): name those as well when the sources changed.
#   --list   print the suites' names, run nothing
# Env:   VM_TIMEOUT (seconds per VM run on Debian's kernels, default 600)
#        VM_TIMEOUT_DEBUG (the same on the debug kernel, default 1800)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
scripts=$repo/scripts
results=$repo/build/results
vm_timeout=${VM_TIMEOUT:-600}
vm_timeout_debug=${VM_TIMEOUT_DEBUG:-1800}

list=
[ "${1:-}" != --list ] || { list=1; shift; }
patterns=("$@")
[ $# -gt 0 ] || [ -n "$list" ] || rm -rf "$results"
mkdir -p "$results"

suites=()
declare -A npass nfail secs

# Whether suite NAME is to run: it matches a pattern, or there is none.
selected() {
	local p

	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2053 # a glob
		[[ $1 == $p ]] && return 0
	done
	return 1
}

# Test output read into results: "tap [-v VARIABLE=VALUE]... [FILE]".
tap() {
	awk -f "$scripts/tap.awk" "$@"
}

# Run one suite: "suite NAME FUNCTION". FUNCTION prints its results as
# TAP, check.sh's "ok - WHAT" and "not ok - WHAT" lines, and writes the
# rest of its output to $log; its VM runs leave their console in $console.
suite() {
	local name=$1 fn=$2 start counts

	selected "$name" || return 0
	[ -z "$list" ] || { echo "$name"; return 0; }
	log=$results/$name.log
	console=$results/$name.console
	rm -f "$results/$name".*
	start=$(date +%s)
	printf 'check: %-22s ' "$name"
	"$fn" >"$results/$name.out" 2>>"$log"
	counts=$(tap -v name="$name" -v tap="$results/$name.tap" \
		"$results/$name.out")
	rm -f "$results/$name.out"
	suites+=("$name")
	npass[$name]=${counts% *}
	nfail[$name]=${counts#* }
	secs[$name]=$(($(date +%s) - start))
	printf '%d passed, %d failed (%d s)\n' "${npass[$name]}" \
		"${nfail[$name]}" "${secs[$name]}"
}

# One test: its description and the command deciding it.
one() {
	local what=$1
	shift
	if "$@" >>"$log" 2>&1; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		tail -n 20 "$log" | sed 's/^/# /'
	fi
}

# What an earlier suite or scripts/deps.sh was to make.
need() {
	[ -e "$1" ] && return 0
	echo "missing $1" >>"$log"
	echo "not ok - $1 exists"
	return 1
}

# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
# shellcheck source=scripts/check-pkg.sh
. "$scripts/check-pkg.sh"

s_deps() {
	local suite

	one "scripts/deps.sh" "$scripts/deps.sh"
	# One kernel that cannot be had fails its own suites, not the others'.
	while read -r suite _; do
		one "scripts/kernels.sh $suite" "$scripts/kernels.sh" "$suite"
	done < <(msgpool_kernels)
	# shellcheck source=scripts/env.sh
	. "$scripts/env.sh"
}

# "kernel_env SUITE": the K_* variables of scripts/kernels.sh for that
# kernel. An unprepared kernel keeps its suite's name as its label, and
# its suites fail on what is missing.
kernel_env() {
	K_SUITE=$1 K_LABEL=$1 K_KVER=$1 K_ROOT=/nonexistent K_KDIR=/nonexistent
	K_VMLINUZ=/nonexistent K_SPARSE=sparse K_CHECKPATCH=/nonexistent
	K_KSFT_DIR=$KSFT_DIR
	# shellcheck disable=SC1090 # written by scripts/kernels.sh
	[ ! -s "$MSGPOOL_CACHE/kernels/$1/env" ] ||
		. "$MSGPOOL_CACHE/kernels/$1/env"
	K_COPY=$repo/build/k/$K_LABEL
}

# "in_kernel COMMAND...": run where the current kernel's headers are, this
# system or the kernel's root, with the repository at the same path.
in_kernel() {
	"$scripts/in-root.sh" "$K_ROOT" --bind "$repo" --cd "$repo" -- "$@"
}

s_checkpatch() {
	need "$K_CHECKPATCH" || return
	one "checkpatch of $K_KVER on kmod uapi kunit" make -s checkpatch \
		CHECKPATCH="perl $K_CHECKPATCH --no-tree"
}

# The uapi header stands alone: no kernel tree, C and C++. Its kernel-doc
# and the module's are complete: every member and return described.
s_uapi() {
	local h=uapi/linux/msgpool.h

	one "$h compiles alone as C" \
		gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iuapi \
		-fsyntax-only -x c -include "$h" /dev/null
	one "$h compiles alone as C++" \
		g++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iuapi \
		-fsyntax-only -x c++ -include "$h" /dev/null
	need "$LINUX_SRC/scripts/kernel-doc" || return
	one "kernel-doc -Wall of $h and kmod/ without a warning" \
		kernel_doc_clean "$h" kmod/msgpool_*.[ch]
}

# kernel-doc exits 0 on a warning: its output is the verdict.
kernel_doc_clean() {
	local out

	out=$(perl "$LINUX_SRC/scripts/kernel-doc" -none -Wall "$@" 2>&1)
	[ -z "$out" ] || { echo "$out"; return 1; }
}

# The core's tests in userspace: `make -C kunit/shim check` runs them,
# prints their KTAP (or TAP) and fails if they do.
s_kunit_shim() {
	make -C kunit/shim check >>"$log" 2>&1
	tap -v name="kunit/shim check" -v rc=$? "$log"
}

# "build_clean KDIR M [MAKE-ARGS]": built with no warning at all, be it
# the compiler's, modpost's or sparse's, and sparse did run (Kbuild skips
# it, with only a note, when it thinks sparse too old).
build_clean() {
	local out rc

	out=$(in_kernel make -C "$1" M="$2" "${@:3}" modules 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && ! grep -qE '(warning|error):' <<<"$out" &&
		grep -q '^  CHECK ' <<<"$out"
}

# The benchmarks are not run here, only built: the API they use stays theirs.
s_bench_build() {
	one "bench programs build with -Werror" \
		make -C bench all O="$repo/build/bench-check"
}

# The newest kernel's build is W=1 clean as well.
s_build() {
	local flags=(C=2 "CHECK=$K_SPARSE")

	need "${K_ROOT%/}$K_KDIR/Makefile" || return
	[ "$K_SUITE" != "$newest" ] || flags+=(W=1)
	sync_copy "$K_COPY"
	one "msgpool.ko for $K_KVER, ${flags[*]} clean" \
		build_clean "$K_KDIR" "$K_COPY" "${flags[@]}"
	# The VMs run tests built on this system's harness; a user may build
	# them on the harness of the kernel they run.
	[ "$K_KSFT_DIR" = "$KSFT_DIR" ] ||
		one "the tests build on $K_LABEL's kselftest_harness.h" \
			tests_build "$K_KSFT_DIR"
}

# The selftests and the library's tests, built in a copy of the tree:
# "tests_build KSFT_DIR".
tests_build() {
	local t rc

	t=$(mktemp -d) || return
	tree_copy "$t"
	make -C "$t/selftests" KSFT_DIR="$1" &&
		make -C "$t/userlib" tests KSFT_DIR="$1"
	rc=$?
	rm -rf "$t"
	return "$rc"
}

# The Rust binding on the host: everything builds warning-free, its docs
# too, and its unit tests pass; its tests of the module run in the VMs.
s_rust() {
	one "bindings/rust builds with -D warnings, unit tests pass" \
		make -C bindings/rust all
	one "bindings/rust test programs build static for the VM" \
		make -C bindings/rust tests
}

s_debug_kernel() {
	one "debug kernel $(basename "$DEBUG_KDIR")" "$scripts/debug-kernel.sh"
}

# Each kernel's build gets its own copy of the sources so that its objects
# do not replace another's, nor the ones `make` leaves in the tree.
sync_copy() {
	local copy=$1 f

	mkdir -p "$copy"
	(cd "$copy" && find . \( -name '*.[ch]' -o -name Kbuild -o \
		-name Makefile -o -name VERSION \) -not -name '*.mod.c') |
		while read -r f; do
			[ -e "$repo/$f" ] || rm -f "$copy/$f"
		done
	find Kbuild VERSION kmod uapi kunit -maxdepth 2 \( -name '*.[ch]' -o \
		-name Kbuild -o -name Makefile -o -name VERSION \) \
		-not -name '*.mod.c' \
		-not -path 'kunit/shim/*' 2>/dev/null | while read -r f; do
		mkdir -p "$copy/$(dirname "$f")"
		cmp -s "$f" "$copy/$f" || cp -p "$f" "$copy/$f"
	done
}

s_build_debug() {
	need "$K_VMLINUZ" || return
	sync_copy "$K_COPY"
	one "msgpool.ko for the debug kernel, sparse clean" \
		build_clean "$K_KDIR" "$K_COPY" C=2
	one "msgpool_kunit.ko for the debug kernel, sparse clean" \
		build_clean "$K_KDIR" "$K_COPY/kunit" C=2
}

# "vm KERNEL VM-RUN-OPTION... -- COMMAND": run COMMAND in qemu on KERNEL
# (a vmlinuz or bzImage) with scripts/vm-run.sh; its output goes to
# $log.out, the console to $console. Returns vm-run.sh's status.
vm() {
	local kernel=$1 timeout=$vm_timeout rc try
	shift

	[ "$kernel" != "$DEBUG_BZIMAGE" ] || timeout=$vm_timeout_debug
	# A kernel that dies before its init runs (TCG's cross-CPU code
	# patching, now and then) tested nothing of ours: boot it again.
	for try in 1 2 3; do
		"$scripts/vm-run.sh" --kernel "$kernel" --log "$console" \
			--timeout "$timeout" "$@" >"$log.out" 2>"$log.vm"
		rc=$?
		[ "$rc" -eq 0 ] || grep -q '@@msgpool-vm: begin@@' "$console" ||
			[ "$try" -eq 3 ] || {
			echo "# boot $try died before init; again" >>"$log"
			continue
		}
		break
	done
	cat "$log.out" "$log.vm" >>"$log"
	return "$rc"
}

# "vm_results STATUS KERNEL [TAP-OPTION...]": after vm, the command's
# results (scripts/tap.awk with these options on its output), then what
# vm-run.sh found besides: the command's status in the VM, problems in
# the kernel log, a timeout or a crash; on the debug kernel, whether its
# checkers were running at all.
vm_results() {
	local rc=$1 kernel=$2 status what
	shift 2

	tap "$@" "$log.out"
	status=$(sed -n 's/.*@@msgpool-vm: status \(-\{0,1\}[0-9]*\)@@.*/\1/p' \
		"$console" 2>/dev/null | tail -n 1)
	if [ "$rc" -eq 124 ]; then
		echo "not ok - VM finished within its timeout"
	elif [ -z "$status" ]; then
		echo "not ok - VM reported a status (no panic)"
	elif [ "$status" -ne 0 ]; then
		echo "not ok - command in the VM exited with $status"
	fi
	if grep -q 'vm-run: the kernel log shows problems' "$log.vm"; then
		echo "not ok - kernel log clean"
		sed 's/^/# /' "$log.vm"
	else
		echo "ok - kernel log clean"
	fi
	[ "$kernel" != "$DEBUG_BZIMAGE" ] || for what in \
		"KASAN:kasan: KernelAddressSanitizer initialized" \
		"lockdep:Lock dependency validator" \
		"kmemleak:kmemleak: Kernel memory leak detector initialized"; do
		one "${what%%:*} active" grep -qF "${what#*:}" "$console"
	done
	rm -f "$log.out" "$log.vm"
}

# "vm_progs DIR TARGET PRINT-TARGET": the test programs `make -C DIR
# TARGET` builds (the same for every kernel) and `make -C DIR PRINT-TARGET`
# lists, run one after the other in a VM of the current kernel with its
# msgpool.ko loaded, each between the markers tap.awk knows.
vm_progs() {
	local dir=$1 target=$2 print=$3 module=$K_COPY/kmod/msgpool.ko
	local paths p name cmd='' progs=() args=()

	need "$K_VMLINUZ" || return
	need "$module" || return
	paths=$(make -C "$dir" "$target" KSFT_DIR="$KSFT_DIR" >>"$log" 2>&1 &&
		make -s -C "$dir" "$print") || {
		echo "not ok - build $dir $target"
		tail -n 20 "$log" | sed 's/^/# /'
		return
	}
	for p in $paths; do
		name=$(basename "$p")
		progs+=("$name")
		args+=(--file "$p")
		cmd+="printf '@@msgpool-check: run $name@@\\n'; /bin/$name; "
		cmd+="printf '\\n@@msgpool-check: exit $name %d@@\\n' \$?; "
	done
	vm "$K_VMLINUZ" --module "$module" "${args[@]}" -- "$cmd"
	vm_results $? "$K_VMLINUZ" -v progs="${progs[*]}"
}

s_selftests() {
	vm_progs selftests all print-progs
}

s_userlib() {
	vm_progs userlib tests print-tests
}

s_rust_vm() {
	vm_progs bindings/rust tests print-tests
}

# KUnit runs the suites when the module loads; their KTAP is in the
# kernel log.
s_kunit_debug() {
	local module=$K_COPY/kunit/msgpool_kunit.ko

	need "$module" || return
	vm "$K_VMLINUZ" --module "$module" -- dmesg
	vm_results $? "$K_VMLINUZ" -v name=msgpool_kunit -v dmesg=1
}

start=$(date +%s)
suite deps s_deps
suite uapi s_uapi
suite man s_man
suite kunit-shim s_kunit_shim
suite bench-build s_bench_build
suite rust s_rust
suite deb s_deb
newest=$(msgpool_kernels | awk 'END { print $1 }')
host=$(msgpool_host_kernel)
# The kernel built on this system, for the package suites of the others.
read -r host_kver host_vmlinuz < <(kernel_env "$host" &&
	echo "$K_KVER $K_VMLINUZ")
while read -r k _; do
	kernel_env "$k"
	suite "checkpatch-$K_LABEL" s_checkpatch
	suite "build-$K_LABEL" s_build
	suite "dkms-$K_LABEL" s_dkms
	suite "install-vm-$K_LABEL" s_install_vm
	[ "$K_ROOT" = / ] || suite "deb-$K_LABEL" s_deb_root
	[ "$k" != "$host" ] || suite "udev-vm-$K_LABEL" s_udev_vm
	suite "selftests-$K_LABEL" s_selftests
	suite "userlib-$K_LABEL" s_userlib
	suite "rust-$K_LABEL" s_rust_vm
done < <(msgpool_kernels)
# make install, for the kernel this system builds for.
kernel_env "$host"
suite install s_install
debug=$(sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p' "$LINUX_SRC/Makefile" \
	2>/dev/null | paste -sd.)
suite "debug-kernel-${debug:=6.12}" s_debug_kernel
# The debug kernel is built on this system, and its suites are named
# like the others'.
K_LABEL=$debug-debug K_ROOT=/ K_KDIR=$DEBUG_KDIR K_VMLINUZ=$DEBUG_BZIMAGE
K_COPY=$repo/build/k/debug
suite "build-$K_LABEL" s_build_debug
suite "selftests-$K_LABEL" s_selftests
suite "userlib-$K_LABEL" s_userlib
suite "rust-$K_LABEL" s_rust_vm
suite "install-vm-$K_LABEL" s_install_vm
suite "kunit-$K_LABEL" s_kunit_debug

[ -z "$list" ] || exit 0
[ ${#suites[@]} -gt 0 ] || {
	echo "check: no suite matches ${patterns[*]} (see --list)" >&2
	exit 2
}
total_pass=0
total_fail=0
echo
printf '%-24s %7s %7s %8s\n' suite passed failed seconds
for s in "${suites[@]}"; do
	printf '%-24s %7d %7d %8d\n' "$s" "${npass[$s]}" "${nfail[$s]}" \
		"${secs[$s]}"
	total_pass=$((total_pass + npass[$s]))
	total_fail=$((total_fail + nfail[$s]))
done
printf '%-24s %7d %7d %8d\n' total "$total_pass" "$total_fail" \
	$(($(date +%s) - start))
echo "msgpool: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
