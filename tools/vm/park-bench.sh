#!/bin/sh
# park-bench.sh - in the test VM: the runtime's channel benchmarks on the
# module's parker against the futex parker, alternately in one boot
# (MNSCHED_PARK=kmod, then futex, RUNS times each):
#   chan_pingpong  ns per round trip of two Gs on unbuffered channels
#   thread_ring    ns per hop of a token around 503 Gs
#   chameneos      ns per meeting (chameneos-redux)
# Lower is better.  Printed per benchmark: every run, the median and the
# range (min-max) of each parker, and kmod/futex of the medians (<= 1: the
# module is at least as fast).  Numbers come from an emulated VM (TCG):
# compare the ratio, not the nanoseconds.  Also printed: the module's events
# (debugfs counters) over a benchmark's kmod runs, to see where its time goes.
# Usage: park-bench.sh [runs] (default 5).  PARK_BENCH_PROCS=1,2: once
# per MNPROCS value (default: once, at the runtime's default Ps).
# Run i of both parkers runs with BENCH_PAD=i-1 (tools/bench/progs/bench.h:
# i-1 turns of an empty loop per operation).  On the virtual clock
# (make vm-vclock) a run repeats to 4-5 digits, and at 2 Ps on one vCPU
# where the thief's timer lands within the owner's hop decides how often the
# idle M is woken: one value of that phase is one sample, 10% away from
# another either way on both parkers (tools/bench/RESULTS.md, "the phase").
# So each run is another phase, the same for both parkers, and the medians
# are over phases.  On host time (the ordinary VM) it changes nothing but
# adds a few ns per operation to both.
# PARK_BENCH_NODEFER=1: then the same runs of kmod once more with the
# module's unpark_defer_us at 0 (no deferred UNPARK, kmod/park.c), and
# their ratio to the same futex runs: the module before and after it, in
# one boot (runs are repeatable on the virtual clock, so not alternated).
dir=$(dirname "$0")
# tools/stats.sh: beside this script in the VM (VM_EXTRA_BINS), one up here
for f in "$dir/stats.sh" "$dir/../stats.sh"; do
	# shellcheck source=/dev/null
	[ -f "$f" ] && . "$f" && break
done
runs=${1:-5}
counters=/sys/kernel/debug/mnsched/counters
defer=/sys/module/mnsched/parameters/unpark_defer_us
# the module's event counters, "name value" pairs on one line
events() {
	awk '$1 ~ /^(parks|unparks|unparks_deferred|defer_timeouts|swaps|spares|blocks|handoffs)$/ { printf "%s %s ", $1, $2 }' \
		"$counters" 2>/dev/null
}
# per_op BENCH WHAT E0 E1 OPS: the events between two events() lines, per op
per_op() {
	# shellcheck disable=SC2086 # pairs, split on purpose
	echo $3 $4 | awk -v b="$1" -v w="$2" -v ops="$5" '{
		h = NF / 2
		for (i = 1; i < h; i += 2)
			printf "%s%s %.4f", (i > 1 ? ", " : "module events per op (" b ", " w "): "), $i, ($(h + i + 1) - $(i + 1)) / ops
		print ""
	}'
}
# run PARKER PAD: one run of benchmark $b ($n operations) with the parker
# and BENCH_PAD; prints its ns per op
run() {
	BENCH_PAD=$2 MNSCHED_PARK=$1 "$dir/$b" "$n" | awk '/^RESULT/ { print $3 }'
}
# lines WORDS: one word per line, for median and minmax
lines() {
	for v in $1; do
		echo "$v"
	done
}
# name and arguments: tools/bench/benchmarks.tbl's (a few seconds per run
# under TCG; with a tenth of them, run-to-run noise hid the ratio)
specs="chan_pingpong:500000 thread_ring:5000000 chameneos:1000000"
echo "park-bench: waited $(wait_quiet) ms for a quiet machine"
for procs in $(echo "${PARK_BENCH_PROCS:-default}" | tr , " "); do
	if [ "$procs" != default ]; then
		export MNPROCS="$procs"
		echo "park-bench: MNPROCS=$procs"
	fi
	for spec in $specs; do
		b=${spec%%:*}
		n=${spec#*:}
		k="" f="" e0=$(events)
		i=0
		while [ $i -lt "$runs" ]; do
			i=$((i + 1))
			k="$k $(run kmod $((i - 1)))"
			f="$f $(run futex $((i - 1)))"
		done
		e1=$(events)
		per_op "$b" "kmod runs" "$e0" "$e1" $((runs * n))
		km=$(lines "$k" | median)
		fm=$(lines "$f" | median)
		kr=$(lines "$k" | minmax)
		fr=$(lines "$f" | minmax)
		echo "runs ($b, ns, BENCH_PAD 0-$((runs - 1))): kmod$k; futex$f"
		awk -v b="$b" -v km="$km" -v fm="$fm" -v kr="$kr" -v fr="$fr" -v r="$runs" 'BEGIN {
			printf "parker %s (median of %d): kmod %.1f ns (%s), futex %.1f ns (%s), kmod/futex %.3f\n",
				b, r, km, kr, fm, fr, (fm > 0 ? km / fm : 0)
		}'
		if [ "${PARK_BENCH_NODEFER:-0}" != 1 ] || [ ! -w "$defer" ]; then
			continue
		fi
		d0=$(cat "$defer")
		echo 0 >"$defer"
		k="" e0=$(events)
		i=0
		while [ $i -lt "$runs" ]; do
			i=$((i + 1))
			k="$k $(run kmod $((i - 1)))"
		done
		e1=$(events)
		echo "$d0" >"$defer"
		per_op "$b" "kmod runs, unpark_defer_us 0" "$e0" "$e1" $((runs * n))
		km=$(lines "$k" | median)
		kr=$(lines "$k" | minmax)
		echo "runs ($b, ns, BENCH_PAD 0-$((runs - 1))): kmod unpark_defer_us 0$k"
		awk -v b="$b" -v km="$km" -v fm="$fm" -v kr="$kr" -v r="$runs" 'BEGIN {
			printf "parker %s (median of %d): kmod unpark_defer_us 0 %.1f ns (%s), kmod/futex %.3f\n",
				b, r, km, kr, (fm > 0 ? km / fm : 0)
		}'
	done
done
