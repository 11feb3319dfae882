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
# per kernel and column, the median and the spread over the runs.
cat "$out"/run-*.log | awk '
/^kernel +release +handoff/ { for (i = 3; i <= NF; i++) col[i] = $i; ncol = NF; on = 1; next }
on && /^[0-9]+\.[0-9]+ / {
	k = $1; if (!(k in ks)) { ks[k] = 1; order[++nk] = k }
	for (i = 3; i <= ncol; i++) if ($i != "-") { n[k, i]++; v[k, i, n[k, i]] = $i }
	next
}
{ on = 0 }
function med(k, i,   m, a, j, t, x, y) {
	m = n[k, i]
	for (j = 1; j <= m; j++) a[j] = v[k, i, j] + 0
	for (x = 2; x <= m; x++) for (y = x; y > 1 && a[y - 1] > a[y]; y--) { t = a[y]; a[y] = a[y - 1]; a[y - 1] = t }
	return sprintf("%.3f (%.3f-%.3f)", m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2, a[1], a[m])
}
END {
	if (!ncol) exit
	printf "VM benchmark ratios, median (min-max) over the runs:\n%-7s", "kernel"
	for (i = 3; i <= ncol; i++) printf " %-21s", col[i]
	printf "\n"
	for (j = 1; j <= nk; j++) {
		k = order[j]
		printf "%-7s", k
		for (i = 3; i <= ncol; i++) printf " %-21s", n[k, i] ? med(k, i) : "-"
		printf "\n"
	}
}' >"$out/ratios.txt"
{
	cat "$out/runs.txt"
	cat "$out/tally.txt"
	cat "$out/ratios.txt"
	echo "runs: $n, failed runs: $failed, hangs: $hangs, kernel warnings: $kwarn"
} | tee "$out/summary.txt"
[ "$failed" -eq 0 ]
