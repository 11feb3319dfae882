#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bpf_vm_tests.sh - the BPF tools against mnsched.ko, in the test VM
# (busybox sh; tools/vm runs it as a TAP program, /tests holds
# mnsched-trace, mnsched-top and bpf_target with their libraries).
#
#   kmod_tracepoints  mnsched-trace attaches raw_tp programs to the module's
#                     tracepoints: k:register, k:unpark, k:handoff (a G
#                     blocks in a system call) and k:swap (its M comes back
#                     to no idle P: bpf_target -S) events (and k:park,
#                     k:block when the runtime's path uses them) of a
#                     program whose Ms wait through /dev/mnsched, next to
#                     its USDT events
#   kmod_perfetto     the same in the Perfetto timeline, with G runs
#   kmod_counters     mnsched-top reads the P counters from the module's
#                     pages (/dev/mnsched in /proc/PID/maps)
#   kmod_preempt_demoted  the module preempts bpf_target -H's computing
#                     main G (1 P, slice=1): k:preempt events, and in the
#                     timeline a "demoted" slice and a G run that ends
#                     "preempted after N ms", with no g_preempt (no signal)
T=${BPF_VM_DIR:-/tests}
n=0
tmp=/tmp/bpfvm
mkdir -p $tmp

echo "TAP version 13"
echo "1..4"
res() {	# ok|not ok NAME [# SKIP reason | reason of the failure]
	n=$((n + 1))
	case "${3:-}" in
	"# SKIP"*) echo "$1 $n $2 $3" ;;
	"") echo "$1 $n $2" ;;
	*) echo "# $3"; echo "$1 $n $2" ;;
	esac
}

skipall() {
	for c in kmod_tracepoints kmod_perfetto kmod_counters; do res ok $c "# SKIP $1"; done
	exit 0
}
[ -d /sys/module/mnsched ] || skipall "mnsched.ko is not loaded"
[ -r /sys/kernel/btf/vmlinux ] || skipall "no kernel BTF"
[ -c /dev/mnsched ] || skipall "no /dev/mnsched"

# On CPU 0 alone: attaching BPF flips tracepoint static keys (the module's,
# sched_switch), which patches kernel text, and QEMU's multi-threaded TCG
# can then leave the other, idle vCPU dead for good (seen in a clean-clone
# make check: soft lockup in mnsched-top, CPU 0 with no tick for minutes;
# tools/vm/vmhold works around the same for insmod).  CPU 1 comes back on
# exit.  The tools and the module's tracepoints are what is tested here.
# The text is patched back after the tools exit, and not at once: perf
# switches its perf_sched_events key off from a workqueue one second (HZ)
# after the last task-bound perf event closes (the USDT uprobes are such
# events), and that key sits in __schedule().  Bringing CPU 1 back before
# that killed the debug-kernel VM (int3 Oops in __schedule on both CPUs, from
# the kworker running perf_sched_delayed): wait it out first.
cpu1=/sys/devices/system/cpu/cpu1/online
if [ -w $cpu1 ] && [ "$(cat $cpu1)" = 1 ] && echo 0 > $cpu1; then
	trap 'sleep 3; echo 1 > $cpu1' EXIT
fi

# start a target that waits for SIGUSR1; sets tp (busybox timeout execs the
# program in its own process: $! is the target)
start_waiting() {
	rm -f $tmp/target.out
	MNSCHED_PARK=kmod MNPROCS=2 timeout -s KILL 150 $T/bpf_target -w "$@" > $tmp/target.out 2>&1 &
	tp=$!
	i=0
	while ! grep -q ready $tmp/target.out 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# trace ARGS...: mnsched-trace on a fresh waiting target from its start to its exit
trace_whole() {
	start_waiting -n 10 -y 2 -S
	rm -f $tmp/trace.out $tmp/trace.err	# the wait below must not see the last run's
	timeout -s INT 120 $T/mnsched-trace -p $tp "$@" > $tmp/trace.out 2> $tmp/trace.err &
	tr=$!
	i=0
	while ! grep -q 'Hit Ctrl-C' $tmp/trace.err 2>/dev/null && [ $i -lt 600 ]; do
		kill -0 $tr 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	kill -USR1 $tp
	wait $tr
	trc=$?
	wait $tp 2>/dev/null
	cat $tmp/trace.err
	grep -q '^done ' $tmp/target.out || echo "# bpf_target did not finish its rounds (a runtime or module hang?)"
}

# 1
trace_whole
why=""
[ $trc = 0 ] || why="mnsched-trace exited $trc"
grep -q 'mnsched.ko tracepoints' $tmp/trace.err || why="${why:-the tracepoints were not attached}"
for ev in k:register k:park k:unpark k:swap k:block k:handoff g_start g_park; do
	c=$(grep -c " $ev " $tmp/trace.out)
	echo "# $ev: $c events"
	case $ev in
	k:register|k:unpark|k:swap|k:handoff|g_start|g_park) [ "$c" -gt 0 ] || why="${why:-no $ev event}" ;;
	esac
done
if [ -z "$why" ]; then res ok kmod_tracepoints; else res "not ok" kmod_tracepoints "$why"; fi

# 2
trace_whole --perfetto $tmp/t.json
why=""
[ $trc = 0 ] || why="mnsched-trace exited $trc"
for pat in '"name":"k:register"' '"name":"k:unpark"' '"cat":"g"' '"g_start_events":[1-9]'; do
	grep -q "$pat" $tmp/t.json || why="${why:-no $pat in the timeline}"
done
tail -c 400 $tmp/t.json | sed 's/^/# /'
if [ -z "$why" ]; then res ok kmod_perfetto; else res "not ok" kmod_perfetto "$why"; fi

# 3
MNSCHED_PARK=kmod MNPROCS=2 timeout -s KILL 60 $T/bpf_target -d 20 > $tmp/target.out 2>&1 &
tp=$!
i=0
while ! grep -q /dev/mnsched /proc/$tp/maps 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
timeout -s KILL 60 $T/mnsched-top -p $tp -C 1 1 > $tmp/top.out 2>&1
trc=$?
kill -9 $tp 2>/dev/null
wait $tp 2>/dev/null
sed 's/^/# /' $tmp/top.out
why=""
[ $trc = 0 ] || why="mnsched-top exited $trc"
grep -q 'counters in /dev/mnsched' $tmp/top.out || why="${why:-counters not read from /dev/mnsched}"
if [ -z "$why" ]; then res ok kmod_counters; else res "not ok" kmod_counters "$why"; fi

# 4
rm -f $tmp/p.json
MNSCHED_PARK=kmod MNPROCS=1 MNSCHED_DEBUG=slice=1 timeout -s KILL 120 \
	$T/mnsched-trace --perfetto $tmp/p.json -- $T/bpf_target -n 3 -H 30 \
	> $tmp/p.out 2> $tmp/p.err
trc=$?
why=""
[ $trc = 0 ] || why="mnsched-trace -- bpf_target -H 30 exited $trc"
c=$(grep -o '"name":"k:preempt"' $tmp/p.json 2>/dev/null | wc -l)
echo "# k:preempt: $c events"
grep -q '"name":"g_preempt"' $tmp/p.json 2>/dev/null &&
	why="${why:-a g_preempt instant: a signal preempted, not the module}"
for pat in '"name":"k:preempt"' '"name":"demoted"' '"end":"preempted after '; do
	grep -q "$pat" $tmp/p.json 2>/dev/null || why="${why:-no $pat in the timeline}"
done
[ -z "$why" ] || sed 's/^/# /' $tmp/p.err
if [ -z "$why" ]; then res ok kmod_preempt_demoted; else res "not ok" kmod_preempt_demoted "$why"; fi
exit 0
