#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bpf_tests.sh RESULTS TESTBIN TOOLS - the eBPF tests on the host: USDT
# notes and semaphores, the README's bpftrace one-liners, mnsched-top,
# mnsched-lat, mnsched-trace (text and Perfetto JSON), pinned maps read by
# bpftool, and the tools' error messages.  Real BPF programs are loaded into
# the running kernel against a running mnsched program
# (selftests/mnsched/bpf_target.c).
#
#   RESULTS  file to append "PASS|FAIL|SKIP bpf/CASE reason" lines to
#   TESTBIN  build/tests/bpf: bpf_target (static libmnsched.a),
#            bpf_target_so (libmnsched.so.0), bpf_nobpf, bpf_reasons
#   TOOLS    build/tools: mnsched-top, mnsched-lat, mnsched-trace
#
# Needs root and a kernel with BPF, BTF and uprobes; every case is SKIPped,
# with the reason, when that is missing.  Prints TAP.  BPF_TESTS=a,b runs
# only those cases.
set -u
results=$1 tb=$2 tools=$3
suite=bpf
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mnsched-bpf-tests.XXXXXX)
static=$tb/bpf_target
shared=$tb/bpf_target_so
solib=$tb/lib/libmnsched.so.0
top=$tools/mnsched-top lat=$tools/mnsched-lat trace=$tools/mnsched-trace
only=BPF_TESTS
# shellcheck source=selftests/mnsched/case_lib.sh
. "$here/case_lib.sh"

# ---- the README's bpftrace one-liners (keep them in sync) ----------------
# BINARY is the file with the probes: the program itself when it links
# libmnsched.a, else the libmnsched.so.0 it maps.
ONELINER_COUNT='usdt:BINARY:mnsched:g_start { @ = count(); }'
ONELINER_PER_P='usdt:BINARY:mnsched:g_start { @runs_per_p[arg1] = count(); }'
ONELINER_REASONS='usdt:BINARY:mnsched:g_park { @reason = lhist(arg1, 0, 16, 1); }'
ONELINER_STEALS='usdt:BINARY:mnsched:steal { @stolen[arg0, arg1] = sum(arg2); }'

# start_target BIN ARGS...: start it in the background, wait until mn_main
# has mapped its P counters; sets TPID.
start_target() {
	local bin=$1
	shift
	rm -f "$work/target.out"
	MNPROCS=${MNPROCS:-2} "$bin" "$@" > "$work/target.out" 2>&1 &
	TPID=$!
	disown $TPID
	tpids+=("$TPID")
	for _ in $(seq 100); do
		grep -q 'mnsched-pstates\|/dev/mnsched' "/proc/$TPID/maps" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "target $bin did not start"
	return 1
}

# bpftrace_run PROGRAM SECONDS: the program against $TPID, stopped with
# SIGINT (bpftrace prints its maps then), output in $work/bt.out
bpftrace_run() {
	timeout -s INT "$2" bpftrace -p "$TPID" -e "$1" > "$work/bt.out" 2> "$work/bt.err"
	echo "--- bpftrace -p $TPID -e '$1'"
	cat "$work/bt.out"
	grep -v RLIMIT_MEMLOCK "$work/bt.err"
	return 0
}

# ---- preconditions ------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	global_skip="not root (BPF and uprobes need root)"
elif [ ! -r /sys/kernel/btf/vmlinux ]; then
	global_skip="no kernel BTF (/sys/kernel/btf/vmlinux)"
elif ! command -v bpftool > /dev/null; then
	global_skip="bpftool not installed (tools/deps.sh)"
elif ! bpftool prog show > /dev/null 2>&1; then
	global_skip="BPF is not available here (bpftool prog show failed: $(bpftool prog show 2>&1 | head -n1))"
fi
has_bpftrace=1
command -v bpftrace > /dev/null || has_bpftrace=0
for b in "$static" "$shared" "$top" "$lat" "$trace" "$tb/bpf_nobpf" "$tb/bpf_reasons"; do
	[ -x "$b" ] || { echo "bpf_tests.sh: $b not built" >&2; global_skip="$b not built"; }
done

# ---- USDT notes and semaphores -----------------------------------------

# The probes the runtime defines (user/src/probe_defs.h, MN_PROBE_DEFS).
PROBES=$(sed -n 's/^[[:space:]]*X([A-Z_]*, \([a-z_]*\), [0-9].*/\1/p' \
	"$here/../../user/src/probe_defs.h")
[ "$(echo $PROBES | wc -w)" -ge 16 ] ||
	{ echo "bpf_tests.sh: no probe list in user/src/probe_defs.h" >&2; exit 1; }

check_notes() {	# FILE: every probe the runtime places, with a semaphore
	local f=$1 notes p
	notes=$(readelf -n "$f") || return 1
	for p in $PROBES; do
		echo "$notes" | grep -A3 "Provider: mnsched" | grep -q "Name: $p\$" ||
			{ fail "$f: no USDT note mnsched:$p in readelf -n"; return 1; }
	done
	if echo "$notes" | grep -A3 "Provider: mnsched" | grep 'Semaphore:' | grep -q 'Semaphore: 0x0*$'; then
		fail "$f: a mnsched probe without a semaphore"
		return 1
	fi
	readelf -S "$f" | grep -q '\.probes' || { fail "$f: no .probes section"; return 1; }
	echo "$f: $(echo "$notes" | grep -c 'Provider: mnsched') mnsched notes, all with semaphores"
}

t_usdt_notes_static() { check_notes "$static"; }
t_usdt_notes_shared() {
	check_notes "$solib" || return 1
	readelf -n "$shared" | grep -q 'Provider: mnsched' &&
		{ fail "$shared should get its probes from libmnsched.so.0, not carry them"; return 1; }
	return 0
}

t_usdt_probe_free_build() {
	local lib=$tb/../../noprobes/libmnsched.a
	[ -f "$lib" ] || { why="no probe-free library ($lib)"; return 2; }
	if readelf -n "$lib" 2>/dev/null | grep -q 'Provider: mnsched'; then
		fail "$lib (built with -DMN_NO_PROBES) has mnsched notes"
		return 1
	fi
	readelf -n "$lib" | grep -c stapsdt
	return 0
}

# The semaphore of a probe, read from the target's memory: 0 when nothing
# is attached, > 0 while bpftrace is, only for the probe it attached.
sem_value() {	# NAME -> value of mnsched_NAME_semaphore in $TPID
	python3 - "$TPID" "$static" "mnsched_$1_semaphore" <<'EOF'
import subprocess, sys
pid, exe, sym = sys.argv[1], sys.argv[2], sys.argv[3]
off = None
for l in subprocess.run(["nm", exe], capture_output=True, text=True).stdout.split("\n"):
    f = l.split()
    if len(f) == 3 and f[2] == sym:
        off = int(f[0], 16)
# the lowest mapping of the executable is its load base (PIE)
import os
real = os.path.realpath("/proc/%s/exe" % pid)
base = None
for l in open("/proc/%s/maps" % pid):
    f = l.split()
    if len(f) >= 6 and f[5] == real:
        lo = int(f[0].split("-")[0], 16)
        base = lo if base is None else min(base, lo)
if off is None or base is None:
    print("error: no symbol %s or no mapping of %s" % (sym, real)); sys.exit(1)
etype = open(exe, "rb").read(18)[16]
addr = base + off if etype == 3 else off
with open("/proc/%s/mem" % pid, "rb") as m:
    m.seek(addr)
    print(int.from_bytes(m.read(2), "little"))
EOF
}

t_usdt_semaphores() {
	[ "$has_bpftrace" = 1 ] || { why="bpftrace not installed"; return 2; }
	start_target "$static" -d 30 || return 1
	local s0 s1 p1 s2
	s0=$(sem_value g_start) || { fail "reading the semaphore: $s0"; return 1; }
	[ "$s0" = 0 ] || { fail "g_start semaphore is $s0 with nothing attached"; return 1; }
	timeout -s INT 8 bpftrace -p "$TPID" -e "usdt:$static:mnsched:g_start { @ = count(); }" \
		> "$work/bt.out" 2>&1 &
	local bt=$!
	for _ in $(seq 100); do
		s1=$(sem_value g_start)
		[ "$s1" != 0 ] && break
		sleep 0.1
	done
	p1=$(sem_value g_park)
	wait $bt
	s2=$(sem_value g_start)
	echo "g_start semaphore: before $s0, attached $s1 (g_park meanwhile $p1), after $s2"
	[ "$s1" -gt 0 ] || { fail "g_start semaphore stayed 0 while bpftrace was attached"; return 1; }
	[ "$p1" = 0 ] || { fail "g_park semaphore was $p1 though only g_start was attached"; return 1; }
	[ "$s2" = 0 ] || { fail "g_start semaphore is $s2 after bpftrace detached"; return 1; }
}

# ---- bpftrace one-liners ------------------------------------------------

need_bpftrace() {
	[ "$has_bpftrace" = 1 ] && return 0
	why="bpftrace not installed"
	return 1
}

# The value of @ / the number of keyed entries in $work/bt.out
bt_total() { awk -F': ' '/^@/ { s += $2 } END { print s + 0 }' "$work/bt.out"; }

t_bpftrace_count_static() {
	need_bpftrace || return 2
	start_target "$static" -d 30 || return 1
	bpftrace_run "${ONELINER_COUNT//BINARY/$static}" 4
	local c
	c=$(awk '/^@: / { print $2 }' "$work/bt.out")
	[ -n "$c" ] && [ "$c" -gt 0 ] || { fail "@ = count() printed '${c:-nothing}'"; return 1; }
}

t_bpftrace_count_shared() {
	need_bpftrace || return 2
	start_target "$shared" -d 30 || return 1
	local lib
	lib=$(awk '$6 ~ /libmnsched\.so/ { print $6; exit }' "/proc/$TPID/maps")
	[ -n "$lib" ] || { fail "libmnsched.so not in /proc/$TPID/maps"; return 1; }
	bpftrace_run "${ONELINER_COUNT//BINARY/$lib}" 4
	local c
	c=$(awk '/^@: / { print $2 }' "$work/bt.out")
	[ -n "$c" ] && [ "$c" -gt 0 ] || { fail "@ = count() on $lib printed '${c:-nothing}'"; return 1; }
}

t_bpftrace_gstart_per_p() {
	need_bpftrace || return 2
	start_target "$static" -d 30 || return 1
	bpftrace_run "${ONELINER_PER_P//BINARY/$static}" 4
	grep -q '^@runs_per_p\[0\]: [1-9]' "$work/bt.out" || { fail "no runs on P 0"; return 1; }
	grep -q '^@runs_per_p\[1\]: [1-9]' "$work/bt.out" || { fail "no runs on P 1"; return 1; }
	grep '^@runs_per_p\[' "$work/bt.out" | grep -vq '^@runs_per_p\[[01]\]' &&
		{ fail "a P id outside 0..1 with MNPROCS=2"; return 1; }
	return 0
}

t_bpftrace_park_reasons() {
	need_bpftrace || return 2
	start_target "$static" -d 30 || return 1
	bpftrace_run "${ONELINER_REASONS//BINARY/$static}" 4
	# reasons 1 chan send, 2 chan receive, 5 sleep are in bpf_target's loop
	for r in 1 2 5; do
		grep -Eq "^\[$r, $((r + 1))\) +[1-9]" "$work/bt.out" ||
			{ fail "no parks with reason $r in the lhist"; return 1; }
	done
}

t_bpftrace_steal_matrix() {
	need_bpftrace || return 2
	start_target "$static" -d 30 || return 1
	bpftrace_run "${ONELINER_STEALS//BINARY/$static}" 5
	grep -Eq '^@stolen\[(0, 1|1, 0)\]: [1-9]' "$work/bt.out" ||
		{ fail "no steals between P 0 and P 1"; return 1; }
	grep -Eq '^@stolen\[([0-9]+), \1\]' "$work/bt.out" &&
		{ fail "a P stole from itself"; return 1; }
	return 0
}

# ---- mnsched-lat --------------------------------------------------------

t_lat_histograms() {
	start_target "$static" -d 30 || return 1
	timeout 30 "$lat" -p "$TPID" -d 2 > "$work/lat.out" 2>&1
	local rc=$?
	cat "$work/lat.out"
	[ $rc = 0 ] || { fail "mnsched-lat exited $rc"; return 1; }
	for h in 'P 0: runnable-to-running' 'P 1: runnable-to-running' \
		 'reason "chan receive"' 'reason "sleep"' 'reason "created"' \
		 'reason "yield/preempted"'; do
		grep -q "$h" "$work/lat.out" || { fail "no histogram '$h'"; return 1; }
	done
	grep -Eq '^ +[0-9]+ -> [0-9]+ +: [1-9]' "$work/lat.out" || { fail "no log2 bucket with a count"; return 1; }
}

t_lat_interval_shared() {
	start_target "$shared" -d 30 || return 1
	timeout 30 "$lat" -p "$TPID" -P 1 2 > "$work/lat.out" 2>&1
	local rc=$? k
	cat "$work/lat.out"
	[ $rc = 0 ] || { fail "mnsched-lat 1 2 exited $rc"; return 1; }
	k=$(grep -c '^P 0: runnable-to-running' "$work/lat.out")
	[ "$k" = 2 ] || { fail "expected 2 reports (interval 1, count 2), got $k"; return 1; }
	grep -q 'reason "' "$work/lat.out" && { fail "-P printed per-reason histograms"; return 1; }
	return 0
}

# ---- mnsched-top --------------------------------------------------------

t_top_table() {
	start_target "$static" -d 30 || return 1
	timeout 30 "$top" -p "$TPID" -C 1 2 > "$work/top.out" 2>&1
	local rc=$?
	cat "$work/top.out"
	[ $rc = 0 ] || { fail "mnsched-top exited $rc"; return 1; }
	[ "$(grep -c '^ *P STATE' "$work/top.out")" = 2 ] || { fail "expected 2 tables"; return 1; }
	# P rows: P STATE M G RUNQ SWITCH/s STEAL/s PARK/s SYSC/s HOFF/s IO/s PRMT/s OFFCPU%
	awk '$1 ~ /^[01]$/ && NF >= 11 { if ($6 > 0) sw++; if ($9 > 0) sc++ }
	     END { exit !(sw >= 2 && sc >= 2) }' "$work/top.out" ||
		{ fail "no switches/s and syscalls/s on the P rows"; return 1; }
	grep -Eq '^ +[0-9]+ +[0-9]+ +([0-9]+|-) +[0-9.]+ +[0-9.]+ +[0-9.]+' "$work/top.out" ||
		{ fail "no M rows with CPU%/OFFCPU%/IDLE%"; return 1; }
}

# The counters tier needs no BPF and no root for your own process.
t_top_counters_unprivileged() {
	command -v setpriv > /dev/null || { why="no setpriv"; return 2; }
	chmod o+rx "$work"
	cp "$static" "$work/target" && chmod 755 "$work/target"
	MNPROCS=2 setpriv --reuid=65534 --regid=65534 --clear-groups "$work/target" -d 30 > /dev/null 2>&1 &
	TPID=$!
	disown $TPID
	tpids+=("$TPID")
	sleep 0.5
	timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups "$top" -N -p "$TPID" 1 1 > "$work/top.out" 2>&1
	local rc=$?
	cat "$work/top.out"
	[ $rc = 0 ] || { fail "mnsched-top -N as nobody exited $rc"; return 1; }
	awk '$1 ~ /^[01]$/ && $6 > 0 { ok = 1 } END { exit !ok }' "$work/top.out" ||
		{ fail "no switches/s"; return 1; }
}

# ---- pinned maps and bpftool ---------------------------------------------

t_pin_bpftool() {
	start_target "$static" -d 30 || return 1
	local d=/sys/fs/bpf/mnsched/$TPID
	# While a tool runs its maps are pinned ...
	timeout 30 "$lat" -p "$TPID" -d 4 > "$work/lat.out" 2>&1 &
	local lp=$!
	for _ in $(seq 80); do
		[ -e "$d/lat_by_p" ] && break
		sleep 0.1
	done
	bpftool map dump pinned "$d/lat_by_p" > "$work/dump.txt" 2>&1
	wait $lp
	head -n 30 "$work/dump.txt"
	grep -q '"slots"' "$work/dump.txt" && grep -q '"count"' "$work/dump.txt" ||
		{ fail "bpftool map dump pinned $d/lat_by_p: no named fields"; return 1; }
	[ -e "$d/lat_by_p" ] && { fail "$d/lat_by_p still pinned after mnsched-lat exited (no --pin)"; return 1; }
	# ... and --pin leaves them.
	timeout 30 "$top" -p "$TPID" -C --pin 1 1 > "$work/top.out" 2>&1 ||
		{ cat "$work/top.out"; fail "mnsched-top --pin failed"; return 1; }
	for m in top_p top_m; do
		[ -e "$d/$m" ] || { fail "--pin did not leave $d/$m"; return 1; }
	done
	bpftool map dump pinned "$d/top_p" > "$work/dump.txt" 2>&1
	bpftool map dump pinned "$d/top_m" >> "$work/dump.txt" 2>&1
	bpftool -j map dump pinned "$d/top_m" > "$work/dump.json" 2>&1
	rm -rf "$d"
	head -n 40 "$work/dump.txt"
	for f in offcpu_ns acquires oncpu_ns idle_ns preempted; do
		grep -q "\"$f\"" "$work/dump.txt" || { fail "no field $f in bpftool's dump"; return 1; }
	done
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert any(e["formatted"]["value"]["oncpu_ns"] > 0 for e in d), "no thread with CPU time"
' "$work/dump.json" || { fail "bpftool -j dump of top_m: no thread with CPU time"; return 1; }
}

# ---- mnsched-trace ------------------------------------------------------

t_trace_text() {
	start_target "$static" -d 30 || return 1
	timeout 30 "$trace" -p "$TPID" -d 1 > "$work/trace.out" 2> "$work/trace.err"
	local rc=$?
	head -n 20 "$work/trace.out"
	cat "$work/trace.err"
	[ $rc = 0 ] || { fail "mnsched-trace exited $rc"; return 1; }
	for ev in g_create g_start g_park g_unblock g_exit syscall_enter syscall_exit \
		  io_submit io_complete off_cpu on_cpu; do
		grep -q " $ev " "$work/trace.out" || { fail "no $ev event in the text stream"; return 1; }
	done
	grep -q ' 0 lost' "$work/trace.err" || { fail "events lost"; return 1; }
}

# The whole life of a deterministic program, traced from before its first
# event to its exit: the tool must stop by itself and write a timeline with
# one X slice per G run.
t_trace_perfetto() {
	local rounds=20
	# fresh files: a wait loop must not see an earlier case's lines
	rm -f "$work/p_target.out" "$work/p_trace.err"
	MNPROCS=2 "$static" -w -n $rounds -y 3 > "$work/p_target.out" 2>&1 &
	TPID=$!
	disown $TPID
	tpids+=("$TPID")
	for _ in $(seq 50); do grep -q ready "$work/p_target.out" 2>/dev/null && break; sleep 0.05; done
	timeout 60 "$trace" -p "$TPID" --perfetto "$work/t.json" > "$work/trace.out" 2> "$work/p_trace.err" &
	local tp=$!
	for _ in $(seq 200); do grep -q 'Hit Ctrl-C' "$work/p_trace.err" 2>/dev/null && break; sleep 0.05; done
	kill -USR1 "$TPID"
	wait $tp
	local rc=$?
	cat "$work/p_trace.err" "$work/p_target.out"
	[ $rc = 0 ] || { fail "mnsched-trace exited $rc"; return 1; }
	grep -q 'target exited' "$work/p_trace.err" || { fail "mnsched-trace did not notice the exit"; return 1; }
	python3 - "$work/t.json" "$rounds" <<'EOF'
import json, sys, collections
path, rounds = sys.argv[1], int(sys.argv[2])
d = json.load(open(path))                       # valid JSON or an exception
ev, other = d["traceEvents"], d["otherData"]
print("otherData:", other)
def die(msg):
    print("FAIL:", msg); sys.exit(1)
gs = [e for e in ev if e["ph"] == "X" and e.get("cat") == "g"]
if other["lost_events"]: die("lost events")
# >= 1 X slice per G run: every g_start the kernel saw made a slice
if len(gs) < other["g_start_seen_by_bpf"] or other["g_start_seen_by_bpf"] == 0:
    die("%d G-run slices for %d g_start events" % (len(gs), other["g_start_seen_by_bpf"]))
# every G of the program ran: main + 8 workers per round
goids = {e["args"]["goid"] for e in gs}
if len(goids) < 1 + 8 * rounds: die("%d Gs ran, expected %d" % (len(goids), 1 + 8 * rounds))
# each worker ran at least once per yield (3) plus its start
per = collections.Counter(e["args"]["goid"] for e in gs)
few = [g for g, c in per.items() if g != 1 and c < 2]
if few: die("Gs with fewer than 2 runs: %s" % few[:5])
names = {(e["pid"], e["args"]["name"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
if not {(1, "P0"), (1, "P1")} <= names: die("no P0/P1 tracks: %s" % sorted(names)[:6])
if not any(pid == 2 and n.startswith("M") and "(tid" in n for pid, n in names): die("no M tracks")
# no overlapping slices on one track
tracks = collections.defaultdict(list)
for e in ev:
    if e["ph"] == "X":
        if e["dur"] < 0: die("negative duration")
        tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
for k, v in tracks.items():
    v.sort()
    for a, b in zip(v, v[1:]):
        if b[0] < a[1] - 0.001: die("overlapping slices on track %s: %s %s" % (k, a, b))
# flows: pairs, each end inside (or at the start of) a slice of its track
def inside(pid, tid, ts):
    return any(s - 0.001 <= ts <= e + 0.001 for s, e in tracks.get((pid, tid), []))
flows = collections.defaultdict(dict)
for e in ev:
    if e["ph"] in "sf": flows[e["id"]][e["ph"]] = e
if not flows: die("no flow arrows")
for i, f in flows.items():
    if set(f) != {"s", "f"}: die("flow %s is not a pair" % i)
    for p in "sf":
        if not inside(f[p]["pid"], f[p]["tid"], f[p]["ts"]): die("flow %s %s outside a slice" % (i, p))
spawns = sum(1 for f in flows.values() if f["s"]["name"] == "spawn")
wakes = sum(1 for f in flows.values() if f["s"]["name"] == "wakeup")
if spawns < 8 * rounds: die("%d spawn flows for %d Gs" % (spawns, 8 * rounds))
if wakes < 8 * rounds: die("%d wake-up flows" % wakes)
cs = [e for e in ev if e["ph"] == "C"]
if not cs or not all(e["name"].startswith("runq P") and e["args"]["runq"] >= 0 for e in cs):
    die("no run-queue counters")
offs = [e for e in ev if e["ph"] == "X" and e.get("cat") == "offcpu"]
if not offs: die("no off-CPU slices")
print("ok: %d events, %d G runs of %d Gs, %d flows (%d spawn), %d counter samples, %d off-CPU slices"
      % (len(ev), len(gs), len(goids), len(flows), spawns, len(cs), len(offs)))
EOF
	[ $? = 0 ] || { why="timeline check failed (see log)"; return 1; }
}

# mnsched-trace -- COMMAND: the program runs with every probe attached from
# its first event; the tool exits with its status.
t_trace_command() {
	local rc
	MNPROCS=2 timeout 60 "$trace" -q --perfetto "$work/c.json" -- "$shared" -n 3 \
		> "$work/c.out" 2> "$work/c.err"
	rc=$?
	cat "$work/c.out" "$work/c.err"
	[ $rc = 0 ] || { fail "mnsched-trace -- bpf_target_so exited $rc"; return 1; }
	grep -q '^done rounds=3' "$work/c.out" || { fail "the command did not run to its end"; return 1; }
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
o = d["otherData"]
gs = [e for e in d["traceEvents"] if e["ph"] == "X" and e.get("cat") == "g"]
# from the very start: the main G (goid 1) is created and runs first
assert any(e["args"]["goid"] == 1 for e in gs), "no run of the main G"
assert o["g_start_seen_by_bpf"] > 0 and len(gs) >= o["g_start_seen_by_bpf"], o
assert o["lost_events"] == 0, o
assert any(e["ph"] == "C" for e in d["traceEvents"]), "no run-queue counters"
print("ok:", len(gs), "G runs")
' "$work/c.json" || { why="timeline of the command is wrong"; return 1; }
	expect_err "" 64 "$trace" -q -- "$static" -Z || return 1
	expect_err "is not an mnsched program" 1 "$trace" -q -- /bin/true || return 1
	expect_err "exclude each other" 64 "$trace" -p 1 -- "$static" || return 1
}

# Preemption (user/src/preempt.c): the main G computes 30 ms per round
# while the workers wait for its P; its M gives the P up and runs it
# demoted: a "demoted" slice on that M's track, a G run that ends
# "preempted after N ms", and the g_preempt instants.
t_trace_preempt_demoted() {
	local rc
	MNPROCS=1 timeout 60 "$trace" -q --perfetto "$work/p.json" -- "$static" -n 3 -H 30 \
		> "$work/p.out" 2> "$work/p.err"
	rc=$?
	cat "$work/p.out" "$work/p.err"
	[ $rc = 0 ] || { fail "mnsched-trace -- bpf_target -H 30 exited $rc"; return 1; }
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
dem = [e for e in ev if e["ph"] == "X" and e.get("cat") == "m" and e["name"] == "demoted"]
pre = [e for e in ev if e.get("name") == "g_preempt"]
ends = [e for e in ev if e["ph"] == "X" and e.get("cat") == "g" and
        e["args"].get("end", "").startswith("preempted after ")]
assert dem and pre and ends, (len(dem), len(pre), len(ends))
assert all(e["args"]["goid"] == 1 for e in pre), pre
print("ok:", len(dem), "demoted slices,", len(pre), "g_preempt")
' "$work/p.json" || { why="no demoted M in the timeline"; return 1; }
}

# Every tool stops by itself, with status 0, when its target exits.
t_tools_exit_with_target() {
	local t rc
	for t in top lat trace; do
		start_target "$static" -d 2 || return 1
		case $t in
		top) timeout 20 "$top" -p "$TPID" -C > "$work/o" 2>&1 ;;
		lat) timeout 20 "$lat" -p "$TPID" > "$work/o" 2>&1 ;;
		trace) timeout 20 "$trace" -p "$TPID" -q > "$work/o" 2>&1 ;;
		esac
		rc=$?
		tail -n 3 "$work/o"
		[ $rc = 0 ] || { fail "mnsched-$t exited $rc when its target exited (124: it did not stop)"; return 1; }
		grep -qi 'exited' "$work/o" || { fail "mnsched-$t did not say the target exited"; return 1; }
	done
}

t_trace_kmod_tracepoints() {
	[ -e /sys/module/mnsched ] || { why="mnsched.ko is not loaded on this host (the module is tested in the VM)"; return 2; }
	start_target "$static" -d 30 || return 1
	MNSCHED_PARK=kmod timeout 30 "$trace" -p "$TPID" -d 2 > "$work/trace.out" 2>&1
	grep -q ' k:' "$work/trace.out" || { fail "no k: events with the module loaded"; return 1; }
}

# ---- errors ---------------------------------------------------------------

t_err_not_root() {
	command -v setpriv > /dev/null || { why="no setpriv"; return 2; }
	start_target "$static" -d 30 || return 1
	local t
	for t in "$top" "$lat" "$trace"; do
		expect_err "must be run as root" 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$t" -p "$TPID" || return 1
	done
}

t_err_no_bpf() {
	start_target "$static" -d 30 || return 1
	local t
	for t in "$top" "$lat" "$trace"; do
		expect_err "BPF is not available" 1 "$tb/bpf_nobpf" "$t" -p "$TPID" || return 1
	done
}

t_err_not_mnsched() {
	sleep 30 &
	local sp=$! t
	disown $sp
	tpids+=("$sp")
	for t in "$top" "$lat" "$trace"; do
		expect_err "is not an mnsched program" 1 "$t" -p "$sp" || return 1
		expect_err "no process with PID" 1 "$t" -p 999999999 || return 1
	done
}

t_err_bad_option() {
	local t
	for t in "$top" "$lat" "$trace"; do
		expect_err "Usage: " 64 "$t" --no-such-option || return 1
		expect_err "PID is required" 64 "$t" || return 1
		expect_err "invalid PID" 64 "$t" -p abc || return 1
		"$t" --help > "$work/help" 2>&1
		grep -q 'EXAMPLES' "$work/help" || { fail "$(basename "$t") --help has no examples"; return 1; }
	done
}

t_reason_names() {
	"$tb/bpf_reasons"
}

# ---- run --------------------------------------------------------------------

for c in usdt_notes_static usdt_notes_shared usdt_probe_free_build usdt_semaphores \
	 bpftrace_count_static bpftrace_count_shared bpftrace_gstart_per_p \
	 bpftrace_park_reasons bpftrace_steal_matrix \
	 lat_histograms lat_interval_shared top_table top_counters_unprivileged \
	 pin_bpftool trace_text trace_perfetto trace_command trace_preempt_demoted \
	 tools_exit_with_target \
	 trace_kmod_tracepoints err_not_root err_no_bpf err_not_mnsched \
	 err_bad_option reason_names; do
	# Static checks need no BPF.
	case $c in
	usdt_notes_*|usdt_probe_free_build|err_bad_option|reason_names)
		gs=$global_skip
		case $gs in *"not built"*) ;; *) global_skip="" ;; esac
		run_case "$c"
		global_skip=$gs ;;
	*) run_case "$c" ;;
	esac
done
echo "1..$n"
exit 0
