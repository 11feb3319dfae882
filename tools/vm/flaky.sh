#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# flaky.sh N [MAKE ARGS...] - run `make check-vm` N times in a row and tally
# every result line: which tests ever failed or changed, how often, and the
# hangs and kernel warnings among them.  Each run's results and log stay in
# build/flaky/ (run-I.txt, run-I.log); the tally is build/flaky/tally.txt,
# the VM benchmarks' ratios over the runs (median, min-max) ratios.txt.
# A run gets 3600 s at most (timeout(1) kills its whole process group).
# Exit 1 when any run failed.
#   tools/vm/flaky.sh 20
#   tools/vm/flaky.sh 5 VM_KERNELS=6.12
set -u
# shellcheck source=tools/stats.sh
. "$(dirname "$0")/../stats.sh"
n=${1:?usage: flaky.sh N [MAKE ARGS...]}
shift
out=build/flaky
rm -rf "$out"
mkdir -p "$out"
i=1
while [ "$i" -le "$n" ]; do
	t0=$(date +%s)
	timeout -k 10 3600 make --no-print-directory check-vm \
		MN_RESULTS="$(pwd)/$out/run-$i.txt" "$@" >"$out/run-$i.log" 2>&1
	rc=$?
	line=$(tail -n 1 "$out/run-$i.log")
	echo "run $i: rc $rc, $(($(date +%s) - t0)) s: $line" | tee -a "$out/runs.txt"
	i=$((i + 1))
done
# Per test: runs passed, failed, skipped; tests that were ever not PASS.
# ("*/make" lines only say that make failed: not a test.)
cat "$out"/run-*.txt | grep -v '^FAIL [^ ]*/make ' | awk -v n="$n" '
{ st = $1; name = $2; c[name, st]++; seen[name] = 1
  if (st == "FAIL") { r = $0; sub(/^[^ ]+ [^ ]+ ?/, "", r); why[name] = r } }
END {
	for (t in seen) {
		total++
		p = c[t, "PASS"] + 0; f = c[t, "FAIL"] + 0; s = c[t, "SKIP"] + 0
		if (f) { bad++; printf "FAIL %3d/%d %s %s\n", f, n, t, why[t] }
		else if (s && p) printf "MIXED pass %d skip %d %s\n", p, s, t
	}
	printf "%d tests over %d runs: %d ever failed\n", total, n, bad + 0
}' | sort >"$out/tally.txt"
hangs=$(grep -c '(hung:' "$out"/run-*.txt | awk -F: '{ s += $2 } END { print s + 0 }')
kwarn=$(grep -c 'kernel-warning\|^FAIL vm-[^ ]*/dmesg' "$out"/run-*.txt | awk -F: '{ s += $2 } END { print s + 0 }')
failed=$(grep -vc 'rc 0,' "$out/runs.txt")
# The VM benchmarks' ratios of every boot (ratios.sh's table in each log):
# per kernel and column, the median and the spread over the runs
# (tools/stats.sh, as the benchmarks' runner).
cat "$out"/run-*.log | awk '
/^kernel +release +handoff/ { for (i = 3; i <= NF; i++) col[i] = $i; ncol = NF; on = 1; next }
on && /^[0-9]+\.[0-9]+ / { for (i = 3; i <= ncol; i++) if ($i != "-") print $1, col[i], $i; next }
{ on = 0 }' >"$out/ratios.raw"
{
	cols=$(awk '{ if (!($2 in s)) { s[$2] = 1; printf "%s ", $2 } }' "$out/ratios.raw")
	if [ -n "$cols" ]; then
		echo "VM benchmark ratios, median (min-max) over the runs:"
		printf "%-7s" kernel
		for c in $cols; do printf " %-21s" "$c"; done
		echo
		# shellcheck disable=SC2013 # kernel names are words
		for k in $(awk '{ if (!($1 in s)) { s[$1] = 1; print $1 } }' "$out/ratios.raw"); do
			printf "%-7s" "$k"
			for c in $cols; do
				vals=$(awk -v k="$k" -v c="$c" '$1 == k && $2 == c { print $3 }' "$out/ratios.raw")
				if [ -n "$vals" ]; then
					cell="$(echo "$vals" | median) ($(echo "$vals" | minmax))"
				else
					cell=-
				fi
				printf " %-21s" "$cell"
			done
			echo
		done
	fi
} >"$out/ratios.txt"
{
	cat "$out/runs.txt"
	cat "$out/tally.txt"
	cat "$out/ratios.txt"
	echo "runs: $n, failed runs: $failed, hangs: $hangs, kernel warnings: $kwarn"
} | tee "$out/summary.txt"
[ "$failed" -eq 0 ]
