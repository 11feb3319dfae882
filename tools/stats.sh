# shellcheck shell=sh
# tools/stats.sh - the statistics every measuring script prints, in one
# place (POSIX sh and awk; busybox's in the test VM).  Source it:
#
#   median      values on stdin, one a line: the median (the mean of the two
#               middle values when their number is even)
#   minmax      values on stdin: "MIN-MAX"
#   quartiles   values on stdin: "Q1-Q3" (nearest rank)
#
# Empty input prints nothing.

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
