#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-vm.sh MODE KERNEL INITRD LOGDIR [TIMEOUT [APPEND]]
# Boot the mnsched test VM: qemu-system-x86_64 under TCG (KVM does not work
# on the build machines), 2 vCPUs, 1 GiB, no network.
#   MODE test:  non-interactive; the serial console goes to
#               LOGDIR/console.log, the test report (second serial port) to
#               LOGDIR/report.log; qemu is killed after TIMEOUT seconds
#               (default 900); LOGDIR/qemu.rc says how qemu ended.
#   MODE shell: interactive on this terminal (Ctrl-A X quits qemu).
# APPEND and MN_VM_APPEND: extra kernel arguments; MN_VM_QEMU: extra qemu
# arguments.  MN_VM_ICOUNT=1: one vCPU on a virtual clock that advances
# only with the instructions the guest executes (-icount shift=0: 1 ns
# each; sleep=off: an idle guest jumps to its next timer), so the host's
# scheduling of QEMU's threads does not show in the guest's timings (in
# the ordinary VM a plain thread's 1 ms sleep beside busy threads ends up
# to 6 ms late).  One vCPU because icount runs every vCPU on one host
# thread in turn: with two, a 1 ms sleep on an idle guest ended 15 ms late.
set -eu
mode=$1
kernel=$2
initrd=$3
logdir=$4
to=${5:-900}
extra=${6:-}
mkdir -p "$logdir"
# maxcpus=1: /init brings the other CPU online after loading the modules.
# tsc=reliable: the kernel distrusts the TSC of a multi-CPU non-Intel CPU
# without invariant TSC (TCG's "max" CPU), but QEMU derives every vCPU's TSC
# from one monotonic host clock.  Without it the clocksource is the HPET:
# every clock_gettime() becomes a system call and an emulated MMIO read,
# which skews microsecond measurements (on KVM, kvm-clock avoids this).
append="console=ttyS0 panic=-1 loglevel=4 mitigations=off maxcpus=1 tsc=reliable mn.mode=$mode $extra ${MN_VM_APPEND:-}"
accel=tcg,thread=multi smp=2 icount=""
if [ "${MN_VM_ICOUNT:-0}" = 1 ]; then
	accel=tcg,thread=single smp=1 icount="-icount shift=0,sleep=off"
fi
# shellcheck disable=SC2086 # icount: words, split on purpose
set -- qemu-system-x86_64 -accel $accel -cpu max -smp $smp -m 1G $icount \
	-kernel "$kernel" -initrd "$initrd" -no-reboot -nographic -nic none
if [ "$mode" = shell ]; then
	# shellcheck disable=SC2086
	exec "$@" -append "$append" ${MN_VM_QEMU:-}
fi
rm -f "$logdir/report.log" "$logdir/console.log"
start=$(date +%s)
rc=0
# shellcheck disable=SC2086
timeout -k 10 "$to" "$@" -append "$append" -monitor none \
	-serial "file:$logdir/console.log" -serial "file:$logdir/report.log" \
	${MN_VM_QEMU:-} </dev/null >"$logdir/qemu.log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
# For report.sh: how qemu ended ("RC SECONDS TIMEOUT"; timeout(1) exits
# 124 when it stopped qemu at TIMEOUT, 137 when it had to SIGKILL it).
echo "$rc $secs $to" >"$logdir/qemu.rc"
echo "  VM      finished in $secs s (qemu exit $rc)"
exit $rc
