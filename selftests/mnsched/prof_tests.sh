#!/bin/bash
# SPDX-License-Identifier: MIT
#
# prof_tests.sh RESULTS TESTBIN TOOLS - mnsched-prof on the host: a
# labelled CPU-bound G owns its samples in `go tool pprof -top` and -tags,
# folded stacks, off-CPU time (blocked in the runtime with -O, descheduled
# when the kernel preempts the G's M), the static and the shared library,
# -- COMMAND, and the error messages.  Real BPF programs sample a running
# program (selftests/mnsched/prof_target.c).
#
#   RESULTS  file to append "PASS|FAIL|SKIP prof/CASE reason" lines to
#   TESTBIN  build/tests/prof: prof_target (libmnsched.a), prof_target_so
#   TOOLS    build/tools (mnsched-prof)
#
# Needs root, BPF, perf events; go tool pprof for the pprof cases.  Prints
# TAP.  PROF_TESTS=a,b runs only those cases.
set -u
results=$1 tb=$(realpath "$2") tools=$(realpath "$3")
suite=prof
work=$(mktemp -d /tmp/mnsched-prof-tests.XXXXXX)
static=$tb/prof_target
shared=$tb/prof_target_so
prof=$tools/mnsched-prof
only=PROF_TESTS
# shellcheck source=selftests/mnsched/case_lib.sh
. "$(dirname "$0")/case_lib.sh"

# start_target BIN SECONDS [PREFIX...]: run it (2 Ps), wait for "ready"; TPID
start_target() {
	local bin=$1 secs=$2
	shift 2
	rm -f "$work/target.out"
	MNPROCS=2 "$@" "$bin" -d "$secs" -w > "$work/target.out" 2>&1 &
	TPID=$!
	disown $TPID
	tpids+=("$TPID")
	for _ in $(seq 100); do
		grep -q '^ready' "$work/target.out" 2>/dev/null && {
			TPID=$(awk '/^ready/ { print $2 }' "$work/target.out")
			tpids+=("$TPID")
			return 0
		}
		sleep 0.05
	done
	fail "$bin did not start"
}

need_go() {
	command -v go > /dev/null && return 0
	why="go is not installed (tools/deps.sh installs golang-go)"
	return 1
}

pprof() {	# ARGS...: go tool pprof, with its caches in $work
	HOME=$work GOCACHE=$work/gocache timeout -k 5 120 go tool pprof "$@" 2>&1
}

if [ "$(id -u)" != 0 ]; then
	global_skip="not root (BPF and perf events need root)"
elif [ ! -r /sys/kernel/btf/vmlinux ]; then
	global_skip="no kernel BTF (/sys/kernel/btf/vmlinux)"
elif ! bpftool prog show > /dev/null 2>&1; then
	global_skip="BPF is not available here"
fi
for b in "$static" "$shared" "$prof"; do
	[ -x "$b" ] || global_skip="$b not built"
done

# ---- cases ----------------------------------------------------------------

# The acceptance test: a labelled CPU-bound G gets >= 90% of the samples of
# a 2-second profile, in go tool pprof -top and -tags.  -top's cumulative
# share of hot_loop: a sample taken while the kernel interrupts the G's
# thread (a timer tick, or another process taking the CPU: on a loaded
# machine 9.7% of one profile was irqentry_exit_to_user_mode) has a kernel
# leaf above hot_loop and is still the G's.
check_hot() {	# PPROF-FILE
	local f=$1 pct
	pprof -top "$f" > "$work/top.txt"
	head -n 14 "$work/top.txt"
	pct=$(awk '$NF == "hot_loop" { sub("%", "", $5); print $5; exit }' "$work/top.txt")
	[ -n "$pct" ] || { fail "hot_loop is not in go tool pprof -top"; return 1; }
	awk -v p="$pct" 'BEGIN { exit !(p >= 90) }' ||
		{ fail "hot_loop (with what it was interrupted by) has $pct% of the samples (want >= 90%)"; return 1; }
	# its caller, from the user stack, and the G entry
	grep -qE ' hot$' "$work/top.txt" || { fail "hot (hot_loop's caller) is not in -top"; return 1; }
	pprof -tags "$f" > "$work/tags.txt"
	sed -n '1,20p' "$work/tags.txt"
	python3 - "$work/tags.txt" <<'EOF' || { why="the job=hot label has < 90% of the samples in pprof -tags"; return 1; }
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"^ ?job: Total [^\n]*\n((?:\s+[^\n]*\n)+)", t, re.M)
if not m: print("no job label"); sys.exit(1)
for l in m.group(1).splitlines():
    mm = re.search(r"\(\s*([\d.]+)%\): hot$", l)
    if mm:
        print("job=hot:", mm.group(1), "%"); sys.exit(0 if float(mm.group(1)) >= 90 else 1)
print("no job=hot line"); sys.exit(1)
EOF
}

t_pprof_hot_labelled_g() {
	need_go || return 2
	start_target "$static" 6 || return 1
	timeout -k 5 60 "$prof" -p "$TPID" -d 2 -F 99 -o "$work/p.pb.gz" > "$work/sum.txt" 2> "$work/err.txt"
	local rc=$?
	cat "$work/sum.txt" "$work/err.txt"
	[ $rc = 0 ] || { fail "mnsched-prof exited $rc"; return 1; }
	check_hot "$work/p.pb.gz" || return 1
	# only the labelled G's samples
	pprof -top -tagfocus=job=hot "$work/p.pb.gz" | grep -q ' hot_loop$' ||
		{ fail "-tagfocus=job=hot lost hot_loop"; return 1; }
	grep -qE '^ +[0-9]+ hot +job=hot +[0-9.]+' "$work/sum.txt" ||
		{ fail "the summary has no row for G hot with job=hot"; return 1; }
}

t_pprof_shared_library() {
	need_go || return 2
	start_target "$shared" 6 || return 1
	timeout -k 5 60 "$prof" -p "$TPID" -d 2 -o "$work/s.pb.gz" -q 2> "$work/err.txt" ||
		{ cat "$work/err.txt"; fail "mnsched-prof failed on the libmnsched.so build"; return 1; }
	check_hot "$work/s.pb.gz"
}

t_folded() {
	start_target "$static" 5 || return 1
	timeout -k 5 60 "$prof" -p "$TPID" -d 2 -f "$work/f.folded" -q 2> "$work/err.txt" ||
		{ cat "$work/err.txt"; fail "mnsched-prof failed"; return 1; }
	head -n 5 "$work/f.folded"
	python3 - "$work/f.folded" <<'EOF' || { why="folded stacks are wrong"; return 1; }
import re, sys
tot = hot = 0
for l in open(sys.argv[1]):
    stack, n = l.rstrip("\n").rsplit(" ", 1)
    n = int(n)
    frames = stack.split(";")
    if not frames[0] or any(not f for f in frames): print("empty frame:", l); sys.exit(1)
    if "[" in frames[-1]:
        continue                        # off-CPU
    tot += n
    if re.match(r"G \d+ \(hot\) \{job=hot\}$", frames[0]) and frames[-3:] == ["mn_g_start", "hot", "hot_loop"]:
        hot += n
print("samples %d, G hot in hot_loop via hot: %d" % (tot, hot))
sys.exit(0 if tot and hot >= 0.9 * tot else 1)
EOF
}

# -O: time blocked in the runtime, by wait reason, with the parking stack
t_offcpu_blocked() {
	need_go || return 2
	start_target "$static" 5 || return 1
	timeout -k 5 60 "$prof" -p "$TPID" -d 2 -O -o "$work/o.pb.gz" -f "$work/o.folded" \
		> "$work/sum.txt" 2> "$work/err.txt"
	local rc=$?
	cat "$work/sum.txt" "$work/err.txt"
	[ $rc = 0 ] || { fail "mnsched-prof -O exited $rc"; return 1; }
	grep -q 'BLOCKED(ms)' "$work/sum.txt" || { fail "no BLOCKED column with -O"; return 1; }
	# the stack it parked with: the runtime's park, its caller, the G's code
	grep -E '^G [0-9]+ \(sleeper\);.*;sleeper;mn_sleep;mn_gopark;\[blocked: sleep\] [0-9]+$' "$work/o.folded" | head -n 2 | grep . ||
		{ fail "no sleeper stack blocked in mn_sleep"; return 1; }
	# (mn_chan_recv's own frame since it opens with MN_ENTER: no tail call)
	grep -E '^G [0-9]+ \(ponger\) \{job=pong\};.*;ponger;(mn_chan_recv;)?chan_recv;mn_gopark;\[blocked: chan receive\] [0-9]+$' "$work/o.folded" | head -n 2 | grep . ||
		{ fail "no ponger (job=pong) blocked on chan receive"; return 1; }
	pprof -sample_index=blocked -tags "$work/o.pb.gz" > "$work/btags.txt"
	sed -n '/offcpu:/,/^$/p' "$work/btags.txt"
	grep -q '\[blocked: sleep\]' "$work/btags.txt" || { fail "no blocked sleep in pprof -sample_index=blocked"; return 1; }
	# the sleeper blocks ~2 s of the 2 s: its blocked time says so
	python3 - "$work/sum.txt" <<'EOF' || { why="the sleeper's blocked time is off"; return 1; }
import sys
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) >= 8 and f[1] == "sleeper":
        b = float(f[-1]); print("sleeper blocked %.0f ms" % b)
        sys.exit(0 if 1500 <= b <= 2200 else 1)
print("no sleeper row"); sys.exit(1)
EOF
}

# The G's M runnable but not on a CPU: pin the program and a CPU hog to one
# CPU, the kernel shares it; the hot G's descheduled time shows that.
t_offcpu_descheduled() {
	command -v taskset > /dev/null || { why="no taskset"; return 2; }
	local cpu
	cpu=$(taskset -cp $$ | sed 's/.*: //; s/[-,].*//')
	taskset -c "$cpu" sh -c 'while :; do :; done' &
	local hog=$!
	disown $hog
	tpids+=("$hog")
	start_target "$static" 5 taskset -c "$cpu" || return 1
	timeout -k 5 60 "$prof" -p "$TPID" -d 2 -o "$work/d.pb.gz" > "$work/sum.txt" 2> "$work/err.txt"
	cat "$work/sum.txt"
	python3 - "$work/sum.txt" <<'EOF' || { why="the hot G's descheduled time is too small"; return 1; }
import sys
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) >= 7 and f[1] == "hot":
        d = float(f[5]); print("hot: descheduled %.0f ms of 2000" % d)
        sys.exit(0 if d >= 300 else 1)
print("no hot row"); sys.exit(1)
EOF
	if command -v go > /dev/null; then
		pprof -sample_index=descheduled -top "$work/d.pb.gz" | head -n 8
		pprof -sample_index=descheduled -top "$work/d.pb.gz" | grep -q '\[descheduled\]' ||
			{ fail "no [descheduled] in pprof -sample_index=descheduled"; return 1; }
	fi
	return 0
}

# The same split in mnsched-trace's Perfetto timeline: off-CPU slices of an
# M that runs a G name it ("descheduled G7", "blocked G7").
t_trace_offcpu_by_g() {
	local trace=$tools/mnsched-trace cpu
	[ -x "$trace" ] || { why="no $trace"; return 2; }
	command -v taskset > /dev/null || { why="no taskset"; return 2; }
	cpu=$(taskset -cp $$ | sed 's/.*: //; s/[-,].*//')
	taskset -c "$cpu" sh -c 'while :; do :; done' &
	local hog=$!
	disown $hog
	tpids+=("$hog")
	start_target "$static" 4 taskset -c "$cpu" || return 1
	timeout -k 5 60 "$trace" -p "$TPID" -d 1 -q --perfetto "$work/t.json" 2> "$work/t.err" ||
		{ cat "$work/t.err"; fail "mnsched-trace failed"; return 1; }
	cat "$work/t.err"
	python3 - "$work/t.json" <<'EOF2' || { why="no off-CPU slice names the hot G"; return 1; }
import json, re, sys
d = json.load(open(sys.argv[1]))
offs = [e for e in d["traceEvents"] if e["ph"] == "X" and e.get("cat") == "offcpu"]
byg = [e for e in offs if re.match(r"(descheduled|blocked) G\d+$", e["name"])]
print(len(offs), "off-CPU slices,", len(byg), "naming a G:", sorted({e["name"] for e in byg})[:6])
ok = [e for e in byg if e["name"].startswith("descheduled G") and
      e["args"]["goid"] == int(e["name"].split("G")[1])]
sys.exit(0 if ok else 1)
EOF2
}

# -- COMMAND: profiled from its start, exit status passed on
t_command() {
	need_go || return 2
	MNPROCS=2 timeout -k 5 60 "$prof" -o "$work/c.pb.gz" -q -- "$static" -d 2.5 \
		> "$work/c.out" 2> "$work/c.err"
	local rc=$?
	cat "$work/c.out" "$work/c.err"
	[ $rc = 0 ] || { fail "mnsched-prof -- prof_target exited $rc"; return 1; }
	grep -q '^done ' "$work/c.out" || { fail "the command did not run to its end"; return 1; }
	grep -q 'used [0-9.]* s of CPU' "$work/c.err" || { fail "no CPU time of the command"; return 1; }
	check_hot "$work/c.pb.gz" || return 1
	# --cpu-only: the sampler alone; --bpf-stats says what it cost
	MNPROCS=2 timeout -k 5 60 "$prof" -C --bpf-stats -q -- "$static" -d 1 \
		> "$work/c2.out" 2> "$work/c2.err" || { cat "$work/c2.err"; fail "-C --bpf-stats failed"; return 1; }
	cat "$work/c2.err"
	grep -qE 'BPF prof_sample: [1-9][0-9]* runs, [0-9]+ ns each' "$work/c2.err" ||
		{ fail "no run time of the sampler with --bpf-stats"; return 1; }
	grep -q 'BPF prof_switch' "$work/c2.err" && { fail "sched_switch ran with --cpu-only"; return 1; }
	expect_err "is not an mnsched program" 1 "$prof" -q -- /bin/true || return 1
}

t_errors() {
	sleep 30 &
	local sp=$!
	disown $sp
	tpids+=("$sp")
	expect_err "is not an mnsched program" 1 "$prof" -p "$sp" || return 1
	expect_err "no process with PID" 1 "$prof" -p 999999999 || return 1
	expect_err "Usage: " 64 "$prof" --no-such-option || return 1
	expect_err "PID is required" 64 "$prof" || return 1
	expect_err "invalid PID" 64 "$prof" -p abc || return 1
	expect_err "invalid frequency" 64 "$prof" -p 1 -F 0 || return 1
	expect_err "exclude each other" 64 "$prof" -p 1 -- /bin/true || return 1
	"$prof" --help > "$work/help" 2>&1
	grep -q 'EXAMPLES' "$work/help" || { fail "--help has no examples"; return 1; }
	if command -v setpriv > /dev/null; then
		expect_err "must be run as root" 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$prof" -p "$sp" || return 1
	fi
	# an output file that cannot be written: a message and status 1
	start_target "$static" 4 || return 1
	expect_err "cannot create" 1 "$prof" -p "$TPID" -d 0.5 -q -o /nonexistent/dir/p.pb.gz || return 1
}

for c in pprof_hot_labelled_g pprof_shared_library folded offcpu_blocked \
	 offcpu_descheduled trace_offcpu_by_g command errors; do
	run_case "$c"
done
echo "1..$n"
exit 0
