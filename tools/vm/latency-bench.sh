#!/bin/sh
# latency-bench.sh - in the test VM: issue 12's latency figure, the worst
# wake-up delay of a 1 ms ticker beside one hog per P (hog_latency at 1 P,
# hog_latency_2 at 2 Ps), at MNSCHED_DEBUG=slice=1:
#   module   the module preempts (MNSCHED_PARK=kmod)
#   signal   sysmon's signal (the same with kpreempt=0)
#   go       Go's twin (asynchronous preemption, its fixed 10 ms), if here
#   floor    ticker-floor: plain threads, the hogs at nice 19 and a nice-0
#            ticker: what the machine allows any runtime
# RUNS runs of TICKS ticks each, alternately; per row the median and range
# of the runs' worst delays and the median of their p99s.  Meant for the
# VM of `make vm-vclock`: one vCPU on a virtual clock that advances only
# with the instructions the guest executes (tools/vm/run-vm.sh,
# MN_VM_ICOUNT=1), where the host's scheduling of QEMU does not show; in
# the ordinary VM (2 vCPUs, host time) the floor itself reads 1-6 ms.
# Usage: latency-bench.sh [runs [ticks]] (default 5, 1000)
dir=$(dirname "$0")
# tools/stats.sh: beside this script in the VM (VM_EXTRA_BINS), one up here
for f in "$dir/stats.sh" "$dir/../stats.sh"; do
	# shellcheck source=/dev/null
	[ -f "$f" ] && . "$f" && break
done
runs=${1:-5}
ticks=${2:-1000}
waited=$(wait_quiet)
echo "latency-bench: $(nproc) CPU(s), $runs runs of $ticks ticks, slice 1 ms" \
	"(waited $waited ms for a quiet machine)"
# one CMD...: one run of CMD TICKS; prints "worst p99 tick-of-the-worst"
# (the tick: hog_latency only, "-" for the others)
one() {
	r=$("$@" "$ticks" 2>&1 | awk '/^INFO p99/ { p = $3 } /^INFO worst_at/ { a = $4 }
		/^RESULT/ { w = $3 } END { if (w != "") print w, p, (a == "" ? "-" : a) }')
	[ -n "$r" ] || r="- - -"
	echo "$r"
}
for procs in 1 2; do
	prog=hog_latency
	[ "$procs" = 2 ] && prog=hog_latency_2
	mw="" mp="" ma="" sw="" sp="" sa="" gw="" gp="" fw="" fp=""
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		# shellcheck disable=SC2046 # two numbers, split on purpose
		set -- $(one env MNPROCS="$procs" MNSCHED_PARK=kmod MNSCHED_DEBUG=slice=1 "$dir/$prog")
		mw="$mw $1" mp="$mp $2" ma="$ma $3"
		# shellcheck disable=SC2046
		set -- $(one env MNPROCS="$procs" MNSCHED_PARK=kmod MNSCHED_DEBUG=slice=1,kpreempt=0 "$dir/$prog")
		sw="$sw $1" sp="$sp $2" sa="$sa $3"
		if [ -x "$dir/go-$prog" ]; then
			# shellcheck disable=SC2046
			set -- $(one env GOMAXPROCS="$procs" "$dir/go-$prog")
			gw="$gw $1" gp="$gp $2"
		fi
		# shellcheck disable=SC2046
		set -- $(one "$dir/ticker-floor" "$procs")
		fw="$fw $1" fp="$fp $2"
	done
	row() { # label worsts p99s [ticks-of-the-worst]
		l=$1 w=$2 p=$3 a=${4:-}
		[ -n "$w" ] || return 0
		# shellcheck disable=SC2086 # one value per word
		printf '%-7s  %d P  worst %s ms (%s), p99 %s ms   runs:%s%s\n' "$l" "$procs" \
			"$(for v in $w; do echo "$v"; done | median)" \
			"$(for v in $w; do echo "$v"; done | minmax)" \
			"$(for v in $p; do echo "$v"; done | median)" "$w" \
			"${a:+ (worst at ticks$a)}"
	}
	row module "$mw" "$mp" "$ma"
	row signal "$sw" "$sp" "$sa"
	row go "$gw" "$gp"
	row floor "$fw" "$fp"
done
