#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tools/bench/http-cpu-split.sh [RUNS] - where the keep-alive HTTP server's
# CPU per request goes, ours against Go's (issue 13's http_hello_cpu).
#
# Each run starts a server (build/bench/c/http_hello_cpu, then
# build/bench/go/http_hello_cpu: make bench-build BENCH=http_hello_cpu),
# loads it with wrk -t1 -c64 for a 1 s warm-up and 4 s measured, and
# samples the server's threads with perf record -g (4999 Hz) over those 4
# s.  Each sample is counted in one part:
#   tcp    under tcp_sendmsg or tcp_recvmsg: the kernel's TCP work, the
#          delivery of the response to wrk's socket over loopback included
#          (every server pays it, whatever its I/O interface);
#   user   the program and its runtime in user space;
#   other  the rest of the kernel, itself split in
#            submit  under io_submit_sqes: io_uring's own work for the
#                    requests it issues (the sends), TCP's excluded;
#            tw      under task_work_run: completions run as task_work
#                    (the multishot receives' buffer and CQE work);
#            rest    system call entry, epoll, futex, the sleep and
#                    wake-up of threads, io_uring's waits.
# Per run: the sampled CPU per request (samples x period / requests, us)
# and that split.  Then the medians, and what the target ratio
# (HTTP_SPLIT_TARGET, default 0.6) leaves ours for "other" when its tcp
# and user parts stay as measured:
#   budget = target x Go's total - ours tcp - ours user.
# perf's sampling costs both servers alike; compare the ratios.
# Needs root, perf (Debian: linux-perf) and wrk.
set -u
runs=${1:-3}
target=${HTTP_SPLIT_TARGET:-0.6}
cd "$(dirname "$0")/../.." || exit 1
for t in perf wrk; do
	command -v $t >/dev/null || {
		echo "http-cpu-split: needs $t (apt-get install ${t/perf/linux-perf})" >&2
		exit 1
	}
done
for s in c go; do
	[ -x build/bench/$s/http_hello_cpu ] || {
		echo "http-cpu-split: no build/bench/$s/http_hello_cpu (make bench-build BENCH=http_hello_cpu)" >&2
		exit 1
	}
done
tmp=$(mktemp -d /tmp/http-split.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

# one_run SIDE N: prints "SIDE total tcp user other submit tw rest" in us
# per request.
one_run() {
	local side=$1 n=$2 port reqs
	port=$((20000 + RANDOM % 12000))
	build/bench/"$side"/http_hello_cpu "$port" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
		sleep 0.05
	done
	wrk -t1 -c64 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1
	perf record -q -F 4999 -g -p "$pid" -o "$tmp/$side.$n.data" -- sleep 4 \
		>/dev/null 2>&1 &
	local rec=$!
	reqs=$(wrk -t1 -c64 -d4s "http://127.0.0.1:$port/" 2>&1 |
		awk '/requests in/ { print $1; exit }')
	wait $rec
	kill "$pid"
	wait "$pid" 2>/dev/null
	pid=
	# A sample is a blank-line separated call chain, leaf first; its
	# period (ns of cpu-clock) is on the header line.
	perf script -i "$tmp/$side.$n.data" -F period,ip,sym,dso 2>/dev/null |
	awk -v side="$side" -v reqs="${reqs:-0}" '
		BEGIN { RS = "" }
		{
			split($0, L, "\n")
			per = L[1] + 0
			if ($0 ~ /[ \t](tcp_sendmsg|tcp_recvmsg) /) tcp += per
			else if (L[2] !~ /kernel\.kallsyms/) user += per
			else {
				other += per
				if ($0 ~ /[ \t]io_submit_sqes /) sub_ += per
				else if ($0 ~ /[ \t]task_work_run /) tw += per
			}
		}
		END {
			if (reqs <= 0) { print side, "no requests"; exit 1 }
			k = 1000 * reqs
			printf "%s %.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", side,
			       (tcp + user + other) / k, tcp / k, user / k, other / k,
			       sub_ / k, tw / k, (other - sub_ - tw) / k
		}'
}

echo "http-cpu-split: $runs runs per side, wrk -t1 -c64 -d4s, perf -F 4999 -g; us of server CPU per request"
printf '%-5s %7s %7s %7s %7s %7s %7s %7s\n' side total tcp user other submit tw rest
for n in $(seq "$runs"); do
	for s in c go; do
		one_run "$s" "$n" | tee -a "$tmp/all" |
			awk '{ printf "%-5s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f\n",
				     $1 == "c" ? "ours" : "Go", $2, $3, $4, $5, $6, $7, $8 }'
	done
done
awk -v target="$target" '
	function median(side, col,   n, i, j, t, a) {
		n = 0
		for (i = 1; i <= NR; i++) if (S[i] == side) a[++n] = V[i, col]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NF == 8 { S[NR] = $1; for (c = 2; c <= 8; c++) V[NR, c] = $c }
	END {
		for (c = 2; c <= 8; c++) { o[c] = median("c", c); g[c] = median("go", c) }
		printf "median\n"
		printf "ours  %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f\n", o[2], o[3], o[4], o[5], o[6], o[7], o[8]
		printf "Go    %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f\n", g[2], g[3], g[4], g[5], g[6], g[7], g[8]
		printf "ours/Go %.2f; Go'"'"'s tcp is %.0f%% of Go'"'"'s total\n", o[2] / g[2], 100 * g[3] / g[2]
		printf "target %.2fx Go = %.2f us: with ours tcp and user as measured, %.2f us left for other (measured %.2f)\n",
		       target, target * g[2], target * g[2] - o[3] - o[4], o[5]
	}' "$tmp/all"
