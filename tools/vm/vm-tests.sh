#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm-tests.sh MODE RESULTS KERNEL... - the test VM, once per kernel.
#
#   MODE test    the VM harness's own test (tools/vm/harness-test.sh), then
#                the TAP programs and the benchmark programs; result lines
#                "PASS|FAIL|SKIP vm-KERNEL/<program>/<case>" go to RESULTS
#   MODE bench   the benchmark programs only
#   MODE shell   boot the first KERNEL with a shell on this terminal
#
# KERNEL is a Debian 12 cloud kernel series ("6.1", "6.12": fetched by
# tools/vm/fetch-kernel.sh, the newest of the series) or "debug" (built by
# tools/vm/debug-kernel.sh from linux-source-6.12 with lockdep, KASAN,
# KFENCE...; it runs the TAP programs only: its timings mean nothing).
# For each kernel: mnsched.ko (and the VM's helper module) built against
# that kernel's own headers, an initramfs, one boot under TCG, the report.
#
# The programs, from tools/vm/vm.mk (space-separated paths):
#   VM_TAP   kselftest TAP programs      VM_RUN  benchmark programs
#   VM_EXTRA more files for /tests       VM_ENV  VAR=value words to export
# Every program is built first (make PROGRAM), each on its own: one that
# does not build fails alone.  Also: MAKE, VM_TIMEOUT (seconds per boot),
# VM_TEST_TIMEOUT (seconds per program), VM_SLOW_debug (the debug kernel's
# timeouts are multiplied by it), VM_KO (boot this mnsched.ko instead of
# the one built from kmod/, e.g. an older one).  Logs: build/vm/run.*/KERNEL/ (console,
# report, each program's output), build/vm/last names the newest run.
set -u
mode=$1
results=$2
shift 2
top=$(pwd)
vm=$top/build/vm
MAKE=${MAKE:-make}
to_vm=${VM_TIMEOUT:-900}
to_prog=${VM_TEST_TIMEOUT:-300}
rc=0

fail() {
	echo "FAIL $*" >>"$results"
	rc=1
}

# kernel_for K: "KVER IMAGE KDIR" of kernel K.
kernel_for() {
	case "$1" in
	debug) tools/vm/debug-kernel.sh "$vm/debug" | tr '\n' ' ' | awk '{ print "debug", $1, $2 }' ;;
	*) tools/vm/fetch-kernel.sh "$1" "$vm/kernels/$1" ;;
	esac
}

# build_module NAME KDIR: mnsched.ko (NAME kmod) or the VM's helper module
# (vmhold), built in a copy under build/vm/KERNEL/NAME.
build_module() {
	d=$vm/$k/$1
	rm -rf "$d"
	mkdir -p "$d"
	case "$1" in
	kmod)
		for f in kmod/*.c kmod/*.h; do
			case "$f" in *.mod.c | */compat_conf.h) continue ;; esac
			cp "$f" "$d"/
		done
		cp kmod/Kbuild kmod/conftest.sh "$d"/
		mkdir -p "$d/uapi/linux"
		cp kmod/uapi/linux/mnsched.h "$d/uapi/linux/"
		;;
	vmhold) cp tools/vm/vmhold/mnsched_vmhold.c tools/vm/vmhold/Kbuild "$d"/ ;;
	esac
	$MAKE -C "$2" M="$d" modules
}

# Build the programs, each on its own.
run=$(mktemp -d "$vm/run.XXXXXX")
ln -sfn "$(basename "$run")" "$vm/last"
# build_progs PROGRAM...: prints those that build.
build_progs() {
	for b in "$@"; do
		n=$(basename "$b")
		if $MAKE --no-print-directory "$b" >"$run/build-$n.log" 2>&1; then
			printf '%s ' "$b"
		else
			tail -n 20 "$run/build-$n.log" >&2
			echo "FAIL vm/$n (does not build, see $run/build-$n.log)" >>"$results"
			touch "$run/build-failed"
		fi
	done
}
[ "$mode" = bench ] && VM_TAP=""
# shellcheck disable=SC2086 # lists of paths, split on purpose
{
	ok_tap=$(build_progs ${VM_TAP:-})
	ok_run=$(build_progs ${VM_RUN:-})
	ok_extra=$(build_progs ${VM_EXTRA:-})
}
[ -f "$run/build-failed" ] && rc=1

summary=""
for k in "$@"; do
	kr=$run/$k
	mkdir -p "$kr"
	pfx=vm-$k
	# shellcheck disable=SC2046
	set -- $(kernel_for "$k") || true
	if [ $# -lt 3 ] || [ ! -f "$2" ]; then
		fail "$pfx/kernel (could not fetch or build the $k kernel)"
		continue
	fi
	kver=$1 img=$2 kdir=$3
	echo "  VM      $pfx: kernel $kver"
	if ! build_module vmhold "$kdir" >"$kr/build-vmhold.log" 2>&1 ||
	   ! build_module kmod "$kdir" >"$kr/build-kmod.log" 2>&1; then
		tail -n 20 "$kr/build-vmhold.log" "$kr/build-kmod.log" 2>/dev/null
		fail "$pfx/build (mnsched.ko against $kver; see $kr/build-*.log)"
		continue
	fi
	feat=$(sed -n 's/^#define MNSCHED_HAVE_\([A-Z_]*\) 1$/\1/p' "$vm/$k/kmod/compat_conf.h" | grep -v BASELINE | tr '\n' ' ')
	echo "PASS $pfx/build mnsched.ko against $kver; kernel features: ${feat:-none}" >>"$results"
	# Once: a kernel outside the supported range is refused by name, not
	# by a compiler error (the range check reads VERSION and PATCHLEVEL).
	if [ "$mode" = test ] && [ ! -f "$run/range-checked" ]; then
		touch "$run/range-checked"
		for v in "VERSION=6 PATCHLEVEL=13" "VERSION=5 PATCHLEVEL=15"; do
			# shellcheck disable=SC2086
			if $MAKE -C "$kdir" M="$vm/$k/kmod" $v modules 2>&1 |
				grep -q "mnsched.ko supports Linux 6.1 to 6.12"; then
				echo "PASS kmod/build_refuses_$(echo "$v" | tr -d 'A-Z= ' | sed 's/^\(.\)/\1./')_by_name" >>"$results"
			else
				fail "kmod/build_refuses_$(echo "$v" | tr -d 'A-Z= ' | sed 's/^\(.\)/\1./')_by_name (no message naming the range)"
			fi
		done
		# The user's way: `make kmod` (and so `make all`), and its
		# message when there are no headers.
		if $MAKE --no-print-directory kmod KDIR="$kdir" >"$run/make-kmod.log" 2>&1; then
			echo "PASS kmod/make_kmod_builds_against_$k" >>"$results"
		else
			fail "kmod/make_kmod_builds_against_$k (see $run/make-kmod.log)"
		fi
		if ! $MAKE --no-print-directory -B kmod KDIR=/nonexistent >"$run/make-kmod-nokdir.log" 2>&1 &&
		   grep -q "no kernel build directory (KDIR='/nonexistent')" "$run/make-kmod-nokdir.log"; then
			echo "PASS kmod/make_kmod_without_headers_says_so" >>"$results"
		else
			fail "kmod/make_kmod_without_headers_says_so (see $run/make-kmod-nokdir.log)"
		fi
	fi
	if [ -n "${VM_KO:-}" ] && ! cp "$VM_KO" "$vm/$k/kmod/mnsched.ko"; then
		fail "$pfx/build (VM_KO=$VM_KO)"
		continue
	fi
	# The VM's own test, once: hangs and crashes become failed cases.
	if [ "$mode" = test ] && [ "$k" != debug ] && [ ! -d "$run/harness" ]; then
		echo "  VM      vm-harness: a hanging and a crashing program, a panic, a timeout ($kver)"
		tools/vm/harness-test.sh "$results" "$kver" "$img" \
			"$vm/$k/kmod/mnsched.ko" "$run/harness" || rc=1
		grep -q '^FAIL vm-harness' "$results" && rc=1
	fi
	tv=$to_vm tp=$to_prog runs=$ok_run
	if [ "$k" = debug ]; then
		slow=${VM_SLOW_debug:-4}
		tv=$((to_vm * slow)) tp=$((to_prog * slow)) runs=""
	fi
	{
		for b in $ok_tap; do echo "tap $(basename "$b") /tests/$(basename "$b")"; done
		for b in $runs; do echo "run $(basename "$b") /tests/$(basename "$b")"; done
		echo "env ${VM_ENV:-}"
	} >"$kr/tests.list"
	# shellcheck disable=SC2086
	tools/vm/mkinitramfs.sh "$kr/initramfs.cpio.gz" "$vm/$k/kmod/mnsched.ko" \
		"$kr/tests.list" $ok_tap $runs $ok_extra || { fail "$pfx/initramfs"; continue; }
	if [ "$mode" = shell ]; then
		exec tools/vm/run-vm.sh shell "$img" "$kr/initramfs.cpio.gz" "$kr"
	fi
	echo "  VM      $pfx: booting $(basename "$img") under TCG (logs: $kr)"
	tools/vm/run-vm.sh test "$img" "$kr/initramfs.cpio.gz" "$kr" "$tv" "mn.timeout=$tp" || true
	if [ "$mode" = bench ]; then
		tools/vm/report.sh "$kr" /dev/null "$pfx" >/dev/null || rc=1
	else
		tools/vm/report.sh "$kr" "$results" "$pfx" || rc=1
	fi
	rm -f "$kr/initramfs.cpio.gz"
	[ -n "$runs" ] && summary="$summary $k"
done

# The benchmarks' output, then their ratios, one row per kernel.
if [ "$mode" = bench ]; then
	for k in $summary; do
		echo "== $k"
		cat "$run/$k"/*.out
	done
fi
if [ -n "$summary" ]; then
	# shellcheck disable=SC2086
	tools/vm/ratios.sh "$run" $summary | tee "$run/ratios.txt"
fi
exit $rc
