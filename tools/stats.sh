# shellcheck shell=sh
# tools/stats.sh - the statistics every measuring script prints, in one
# place (POSIX sh and awk; busybox's in the test VM).  Source it:
#
#   median      values on stdin, one a line: the median (the mean of the two
#               middle values when their number is even)
#   minmax      values on stdin: "MIN-MAX"
#   quartiles   values on stdin: "Q1-Q3" (nearest rank)
#   wait_quiet  no input: wait for a quiet machine, print the ms waited
#
# Empty input prints nothing.

# On the virtual clock the guest gets to its measurements a second or two
# after boot, while the kernel's boot work still runs (cryptomgr_test's
# self-tests: a trace showed one holding the CPU for 3.4 ms while woken Ms
# waited, and a 13 ms tick; a park-bench run at that time was twice as
# slow as the next).  Wait until nothing else is runnable for 20 looks in
# a row, 50 ms apart, or 10 s (6.1 is quiet after about 1 s; 6.12's count
# of runnable tasks stays above 1, its boot work done or not).
wait_quiet() {
	_quiet=0 _waited=0
	while [ $_quiet -lt 20 ] && [ $_waited -lt 200 ]; do
		if [ "$(awk '/^procs_running/ { print $2 }' /proc/stat)" -le 1 ]; then
			_quiet=$((_quiet + 1))
		else
			_quiet=0
		fi
		_waited=$((_waited + 1))
		sleep 0.05
	done
	echo $((_waited * 50))
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit
		      if (NR % 2) print v[(NR + 1) / 2]
		      else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

minmax() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%s-%s\n", v[1], v[NR] }'
}

quartiles() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit
		      q1 = int((NR + 3) / 4); q3 = NR + 1 - q1
		      printf "%s-%s\n", v[q1], v[q3] }'
}
