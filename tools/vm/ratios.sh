#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ratios.sh RUNDIR KERNEL... - the VM benchmarks' ratios, one row per
# kernel, from RUNDIR/KERNEL/handoff-bench.sh.out and mnsched-vmbench.out
# (tools/vm/vm-tests.sh calls it after the boots).  Under TCG only the
# ratios mean something; each comes from one boot, both sides measured
# alternately in it.
#   handoff   runtime-level blocked-M handoff, kmod / sysmon retake, timed
#             from the M blocking (handoff-bench.sh: median of 5 runs)
#   raw       the same with raw ioctls (mnsched-vmbench)
#   swap2     SWAP round trip / futex wake+wait round trip, 2 CPUs
#   swap1     the same on 1 CPU
#   park2     PARK/UNPARK round trip / futex, 2 CPUs
#   pp ring cham  chan_pingpong, thread_ring, chameneos on the kmod parker /
#             on the futex parker (park-bench.sh: medians of 5 runs)
run=$1
shift
printf '%-8s %-28s %8s %8s %8s %8s %8s %6s %6s %6s\n' kernel release handoff raw swap2 swap1 park2 pp ring cham
for k in "$@"; do
	d=$run/$k
	rel=$(awk '/^@@MN-KERNEL/ { print $2; exit }' "$d/report.log.txt" 2>/dev/null)
	h=$(awk '/^blocked-M handoff, runtime level/ { print $NF }' "$d/handoff-bench.sh.out" 2>/dev/null)
	pk=$(awk '/^parker chan_pingpong/ { pp = $NF } /^parker thread_ring/ { tr = $NF }
		/^parker chameneos/ { ch = $NF }
		END { printf "%s %s %s", pp == "" ? "-" : pp, tr == "" ? "-" : tr, ch == "" ? "-" : ch }' \
		"$d/park-bench.sh.out" 2>/dev/null)
	awk -v k="$k" -v rel="${rel:-?}" -v h="${h:--}" -v pk="${pk:-- - -}" '
	/^blocked-M handoff, raw ioctls/ { for (i = 1; i <= NF; i++) if ($i == "kmod/sysmon") raw = $(i + 1) }
	/^swap round trip, 2 CPUs/ { s2 = $NF }
	/^swap round trip, 1 CPU/ { s1 = $NF }
	/^park\/unpark round trip, 2 CPUs/ { p2 = $NF }
	END {
		split(pk, q, " ")
		printf "%-8s %-28s %8s %8s %8s %8s %8s %6s %6s %6s\n", k, rel, h,
			raw == "" ? "-" : raw, s2 == "" ? "-" : s2,
			s1 == "" ? "-" : s1, p2 == "" ? "-" : p2, q[1], q[2], q[3]
	}' "$d/mnsched-vmbench.out" 2>/dev/null ||
		printf '%-8s %-28s (no mnsched-vmbench output) %s\n' "$k" "${rel:-?}" "${pk:--}"
done
