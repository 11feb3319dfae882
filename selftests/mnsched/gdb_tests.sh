#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gdb_tests.sh RESULTS TESTBIN SCRIPT INSTALLED - the gdb extension
# (tools/gdb/mnsched.py) and the G dump on a program with 1,000 Gs in every
# state (selftests/mnsched/dbg_target.c): gdb in batch mode on the live
# process and on core files (the kernel's and gcore's), with the static and
# the shared library; auto-loading through .debug_gdb_scripts; bad input
# (a program without libmnsched, no process, a truncated core, overwritten
# G stacks, bad arguments) gives messages, never a Python traceback; and
# MNSCHED_DEBUG=dump=SIGQUIT on the same program.
#
#   RESULTS    file to append "PASS|FAIL|SKIP gdb/CASE reason" lines to
#   TESTBIN    build/tests/dbg: dbg_target (libmnsched.a), dbg_target_so
#   SCRIPT     tools/gdb/mnsched.py
#   INSTALLED  where make install puts it (the path in the section)
#
# Prints TAP.  GDB_TESTS=a,b runs only those cases.
set -u
results=$1 tb=$(realpath "$2") script=$(realpath "$3") installed=$4
suite=gdb
work=$(mktemp -d /tmp/mnsched-gdb-tests.XXXXXX)
static=$tb/dbg_target
shared=$tb/dbg_target_so
NG=${GDB_TEST_GS:-1000}
only=GDB_TESTS
# shellcheck source=selftests/mnsched/case_lib.sh
. "$(dirname "$0")/case_lib.sh"

# start_target BIN [ARGS]: 1,000 Gs in place (the manifest written); TPID
start_target() {
	local bin=$1
	shift
	rm -f "$work/manifest" "$work/target.out"
	MNPROCS=2 "$bin" -n "$NG" -m "$work/manifest" "$@" > "$work/target.out" 2> "$work/target.err" &
	TPID=$!
	disown $TPID
	tpids+=("$TPID")
	for _ in $(seq 200); do
		grep -q '^ready' "$work/target.out" 2>/dev/null && [ -s "$work/manifest" ] && return 0
		sleep 0.05
	done
	cat "$work/target.err"
	fail "$bin did not get ready"
}

# gdb_batch OUT ARGS...: gdb -batch with the script, stdout+stderr in OUT
gdb_batch() {
	local out=$1
	shift
	timeout -k 5 300 gdb -nx -batch -iex "set auto-load python-scripts off" \
		-x "$script" "$@" > "$out" 2>&1
}

no_traceback() {	# FILE
	if grep -q 'Traceback\|Python Exception\|Error occurred in Python' "$1"; then
		grep -B2 -A8 'Traceback\|Python Exception\|Error occurred' "$1" | head -30
		fail "a Python traceback in $1"
		return 1
	fi
}

# check_gs KIND OUT: every G of the manifest listed with its state (info
# goroutines), or with its state and its function in its stack (bt, dump)
check_gs() {
	python3 - "$1" "$2" "$work/manifest" <<'EOF'
import re, sys
kind, out, man = sys.argv[1], sys.argv[2], sys.argv[3]
want = {}
for l in open(man):
    goid, role, state = l.rstrip("\n").split(" ", 2)
    want[int(goid)] = (role, state)
text = open(out, errors="replace").read()
got = {}
# Where each role's G sits: the call that parked it (or, for the running
# ones, what they run).  A tail call leaves no frame of its own (mn_yield
# jumps to schedule_next, mn_chan_recv to chan_recv), so the callee counts.
PARKED_IN = {
    "recv": r"(mn_)?chan_recv", "send": r"(mn_)?chan_send", "select": r"mn_select|selectgo",
    "sleep": r"mn_sleep", "mutex": r"mn_mutex_lock\S*|lock_slow", "cond": r"mn_cond_wait",
    "wg": r"mn_wg_wait", "io": r"mn_read", "yield": r"mn_yield|schedule_next\S*",
    "spin": r"spin_work", "nap": r"\S*nanosleep\S*",
    "main": r"(mn_)?chan_recv|mn_go_opts",
}
def die(msg):
    print("FAIL:", msg); sys.exit(1)
if kind == "info":
    for l in text.splitlines():
        m = re.match(r"^[ *] (\d+)\s+(.+?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", l)
        if m:
            got[int(m.group(1))] = (m.group(2), l)
    if not re.search(r"^%d goroutines, \d+ Ms$" % len(got), text, re.M):
        die("no or a wrong summary line for %d goroutines" % len(got))
else:
    # blocks: a header line, then frames, up to the next header
    hdr = re.compile(r"^goroutine (\d+) \[([^\],]+)(?:, [^\]]+)?\]")
    cur = None
    for l in text.splitlines():
        m = hdr.match(l)
        if m:
            cur = int(m.group(1))
            got[cur] = (m.group(2), "")
        elif cur is not None:
            got[cur] = (got[cur][0], got[cur][1] + l + "\n")
bad = []
for goid, (role, state) in sorted(want.items()):
    if goid not in got:
        bad.append("goroutine %d (%s) missing" % (goid, role)); continue
    gs, body = got[goid]
    if state != "any" and gs != state:
        bad.append("goroutine %d (%s): state %r, want %r" % (goid, role, gs, state))
    if kind != "info":
        # the frames' function names, innermost first; gdb: "#2  0x... in
        # g_recv at ...", the dump: "#2  0x... g_recv+0x1a (file:line)"
        fns = re.findall(r"^\s*#\d+\s+0x[0-9a-f]+ (?:in )?([^\s+]+)", body, re.M)
        entry = "main_g" if role == "main" else "g_" + role
        def at(pat):
            return next((i for i, f in enumerate(fns) if re.fullmatch(pat, f)), -1)
        e, s, p = at(re.escape(entry)), at("mn_g_start"), at(PARKED_IN[role])
        if e < 0:
            bad.append("goroutine %d (%s): no %s in its stack:\n%s" % (goid, role, entry, body))
        elif p < 0 or p > e:
            bad.append("goroutine %d (%s): no %s above %s in its stack:\n%s"
                       % (goid, role, PARKED_IN[role], entry, body))
        elif s != e + 1:
            bad.append("goroutine %d (%s): %s is not called by mn_g_start:\n%s"
                       % (goid, role, entry, body))
extra = sorted(set(got) - set(want))
if extra:
    bad.append("goroutines not in the program: %s" % extra[:10])
if bad:
    print("\n".join(bad[:15])); die("%d of %d goroutines wrong" % (len(bad), len(want)))
print("ok: %d goroutines, ids and states%s" % (len(want), "" if kind == "info" else
      ", each stack from the call that parked it up to the entry function and mn_g_start"))
EOF
}

# The checks on a live process or a core of either build.
check_target() {	# LABEL GDBARGS...
	local label=$1
	shift
	gdb_batch "$work/$label.info" "$@" -ex 'info goroutines' || { cat "$work/$label.info"; fail "gdb failed"; return 1; }
	no_traceback "$work/$label.info" || return 1
	head -n 5 "$work/$label.info"
	check_gs info "$work/$label.info" || { why="info goroutines is wrong ($label)"; return 1; }
	gdb_batch "$work/$label.bt" "$@" -ex 'goroutine all bt' || { fail "gdb failed"; return 1; }
	no_traceback "$work/$label.bt" || return 1
	check_gs bt "$work/$label.bt" || { why="goroutine all bt is wrong ($label)"; return 1; }
	# one G of each kind in full
	grep -A7 -E '^goroutine [0-9]+ \[(chan receive|running)' "$work/$label.bt" | head -n 24
	# the spinner runs: its stack from its M's thread
	grep -A4 '(spin) {role=spin} on M' "$work/$label.bt" | grep -q 'in spin_work' ||
		{ fail "the running G's stack (its M's thread) has no spin_work"; return 1; }
}

command -v gdb > /dev/null || global_skip="gdb is not installed (tools/deps.sh)"
gdb -nx -batch -ex 'python import gdb.unwinder' > /dev/null 2>&1 ||
	global_skip="${global_skip:-this gdb has no Python unwinders}"
for b in "$static" "$shared"; do
	[ -x "$b" ] || global_skip="$b not built"
done

# ---- cases ---------------------------------------------------------------

t_script_section() {
	local f s
	for f in "$static" "$tb/lib/libmnsched.so.0"; do
		s=$(readelf -p .debug_gdb_scripts "$f" 2>&1)
		echo "$f: $s"
		echo "$s" | grep -qF "$installed" ||
			{ fail "$f: .debug_gdb_scripts does not name $installed"; return 1; }
	done
}

# gdb loads the script by itself once it is where make install puts it.
# In a private mount namespace, so nothing is installed on the host.
t_autoload() {
	command -v unshare > /dev/null || { why="no unshare"; return 2; }
	local dir=${installed%/mnsched/*}
	# The target runs in the namespace too: gdb reads a process's files
	# in that process's mount namespace.
	rm -f "$work/manifest"
	timeout -k 5 120 unshare -m --propagation private sh -c "
		mkdir -p '$dir' && mount -t tmpfs none '$dir' || exit 42
		install -D -m 644 '$script' '$installed' || exit 42
		MNPROCS=2 '$static' -n $NG -m '$work/manifest' > '$work/target.out' 2>&1 &
		t=\$!
		for i in \$(seq 200); do [ -s '$work/manifest' ] && break; sleep 0.05; done
		gdb -nx -batch -p \$t -ex 'info auto-load python-scripts' -ex 'info goroutines'
		kill -9 \$t
	" > "$work/auto.out" 2>&1
	local rc=$?
	[ $rc = 42 ] && { why="cannot mount a tmpfs on $dir in a mount namespace"; return 2; }
	grep -v '^\[New LWP' "$work/auto.out" | head -n 12
	no_traceback "$work/auto.out" || return 1
	grep -qE "^Yes +$installed" "$work/auto.out" || { fail "gdb did not auto-load $installed"; return 1; }
	check_gs info "$work/auto.out" || { why="info goroutines (auto-loaded) is wrong"; return 1; }
}

t_live_static() {
	start_target "$static" || return 1
	check_target live_static -p "$TPID"
}

t_live_shared() {
	start_target "$shared" || return 1
	check_target live_shared -p "$TPID"
}

# A core the kernel wrote (SIGABRT, core_pattern permitting).
t_core_kernel_static() {
	local pat
	pat=$(cat /proc/sys/kernel/core_pattern)
	case $pat in
	'|'*) why="core_pattern pipes cores to $pat"; return 2 ;;
	esac
	( ulimit -c unlimited; cd "$work" && start_target "$static" ) || return 1
	# start_target ran in a subshell: find the target again
	TPID=$(awk '/^ready/ { print $2 }' "$work/target.out")
	tpids+=("$TPID")
	rm -f "$work"/core*
	kill -ABRT "$TPID"
	for _ in $(seq 100); do [ -e "/proc/$TPID" ] || break; sleep 0.1; done
	local core
	core=$(ls "$work"/core* 2>/dev/null | head -n 1)
	[ -n "$core" ] || { why="the kernel wrote no core (core_pattern '$pat')"; return 2; }
	cp "$core" "$work/kcore"
	check_target core_kernel "$static" "$work/kcore"
}

# gcore reads memory through ptrace: it cannot copy a stack arena with
# guard pages (MADV_GUARD_INSTALL, Linux 6.13+) and drops it whole.  Canary
# stacks, then (the kernel's own core has no such problem).
t_core_gcore_shared() {
	command -v gcore > /dev/null || { why="no gcore"; return 2; }
	MNSCHED_STACKGUARD=canary start_target "$shared" || return 1
	timeout -k 5 120 gcore -o "$work/gcore" "$TPID" > "$work/gcore.out" 2>&1 ||
		{ cat "$work/gcore.out"; fail "gcore failed"; return 1; }
	kill -9 "$TPID"
	check_target core_gcore "$shared" "$work/gcore.$TPID"
}

# A core cut short: what can be read is listed, the rest is named missing.
t_truncated_core() {
	start_target "$static" || return 1
	timeout -k 5 120 gcore -o "$work/tcore" "$TPID" > /dev/null 2>&1 || { fail "gcore failed"; return 1; }
	kill -9 "$TPID"
	local c=$work/tcore.$TPID size
	size=$(stat -c %s "$c")
	for cut in 60 30 5; do
		truncate -s $((size * cut / 100)) "$c"
		gdb_batch "$work/trunc$cut.out" "$static" "$c" -ex 'info goroutines' \
			-ex 'goroutine all bt' -ex 'goroutine 1 bt'
		echo "--- cut to $cut%:"
		grep '^mnsched:' "$work/trunc$cut.out" | sort | uniq -c | head -n 5
		no_traceback "$work/trunc$cut.out" || return 1
		grep -q '^mnsched: ' "$work/trunc$cut.out" ||
			{ fail "nothing said about the truncated core (cut to $cut%)"; return 1; }
	done
}

# damage_gs ROLE1 ROLE2: A and B, the first G of each role in the manifest
# (the first two when the roles are the same).  gdb_damage OUT PYTHON
# CMDS...: on the static target (TPID), run PYTHON in gdb with r (the
# Runtime), inf, and ga and gb (the Gs A and B), then the gdb commands.
damage_gs() {
	A=$(awk -v r="$1" '$2 == r { print $1 }' "$work/manifest" | sed -n 1p)
	B=$(awk -v r="$2" '$2 == r { print $1 }' "$work/manifest" | sed -n "$([ "$1" = "$2" ] && echo 2 || echo 1)p")
}
gdb_damage() {	# OUT PYTHON CMDS...
	local out=$1 py=$2
	shift 2
	gdb_batch "$out" -p "$TPID" -ex "python
r = Runtime()
gs = {g.goid: g for g in r.gs(warn)}
ga, gb = gs[$A], gs[$B]
inf = gdb.selected_inferior()
$py" "$@"
	no_traceback "$out"
}

# A G whose stack was overwritten: its bt says so, the others still print.
t_overwritten_stack() {
	start_target "$static" || return 1
	# two Gs parked in mn_chan_recv: the first's saved return address, and
	# a frame deeper in the second's stack (the saved frame pointer and
	# return address of its park function)
	local a b
	damage_gs recv recv
	a=$A b=$B
	gdb_damage "$work/ow.out" "
inf.write_memory(ga.sp + r.d.sw_ret, (0x10).to_bytes(8, 'little'))
rbp = int.from_bytes(bytes(inf.read_memory(gb.sp + r.d.sw_rbp, 8)), 'little')
inf.write_memory(rbp, b'\\xee' * 16)
" -ex "goroutine $a bt" -ex "goroutine $b bt" -ex 'goroutine all bt' || return 1
	grep -A6 "^goroutine \($a\|$b\) \[" "$work/ow.out" | head -n 16
	grep -A2 "^goroutine $a \[" "$work/ow.out" | grep -q 'saved return address 0x10 is not code' ||
		{ fail "no message for goroutine $a's overwritten return address"; return 1; }
	grep -A8 "^goroutine $b \[" "$work/ow.out" | grep -q 'cannot unwind further\|0xeeeeeeee\|??' ||
		{ fail "goroutine $b's garbage stack not shown as such"; return 1; }
	# all the others still printed
	[ "$(grep -c '^goroutine [0-9]* \[' "$work/ow.out")" -ge "$NG" ] ||
		{ fail "goroutine all bt stopped early"; return 1; }
}

# Gs whose headers were overwritten: each named as corrupt and skipped,
# every other G still listed and unwound.
t_corrupt_g_header() {
	start_target "$static" || return 1
	local a b
	damage_gs sleep select
	a=$A b=$B
	gdb_damage "$work/ch.out" "
inf.write_memory(ga.addr, b'\\xee' * r.d.g_size)
inf.write_memory(gb.addr + r.d.g_stack_hi, (0x1234).to_bytes(8, 'little'))
" -ex 'info goroutines' -ex 'goroutine all bt' -ex "goroutine $b bt" || return 1
	grep '^mnsched:\|goroutines, ' "$work/ch.out"
	[ "$(grep -c '^mnsched: the G header at 0x[0-9a-f]* is corrupt (status -286331154): skipped' "$work/ch.out")" = 3 ] ||
		{ fail "goroutine $a's overwritten header not named corrupt by each command"; return 1; }
	grep -q "^mnsched: the G header at 0x[0-9a-f]* (goroutine $b?) is corrupt (stack \[0x[0-9a-f]*, 0x1234)" "$work/ch.out" ||
		{ fail "goroutine $b's header with a wrong stack bound not named corrupt"; return 1; }
	grep -q "^$((NG - 2)) goroutines, " "$work/ch.out" || { fail "not $((NG - 2)) goroutines listed"; return 1; }
	[ "$(grep -c '^goroutine [0-9]* \[' "$work/ch.out")" = $((NG - 2)) ] ||
		{ fail "goroutine all bt did not show the $((NG - 2)) others"; return 1; }
	grep -q "^mnsched: no goroutine $b " "$work/ch.out" || { fail "goroutine $b bt: no 'no goroutine $b'"; return 1; }
}

t_not_mnsched() {
	sleep 30 &
	local sp=$!
	disown $sp
	tpids+=("$sp")
	gdb_batch "$work/nm.out" -p "$sp" -ex 'info goroutines' -ex 'goroutine 1 bt' -ex 'goroutine all bt'
	cat "$work/nm.out" | grep mnsched
	no_traceback "$work/nm.out" || return 1
	[ "$(grep -c 'is not linked with libmnsched' "$work/nm.out")" = 3 ] ||
		{ fail "no 'not linked with libmnsched' for each command"; return 1; }
	gdb_batch "$work/np.out" -ex 'info goroutines' -ex 'goroutine 1 bt'
	no_traceback "$work/np.out" || return 1
	[ "$(grep -c 'no process or core file' "$work/np.out")" = 2 ] ||
		{ cat "$work/np.out"; fail "no 'no process or core file' without a process"; return 1; }
	# the program, not yet running the runtime
	gdb_batch "$work/ns.out" "$static" -ex 'break mn_main' -ex 'run -n 100' -ex 'info goroutines'
	no_traceback "$work/ns.out" || return 1
	grep -q 'has not started yet' "$work/ns.out" || { cat "$work/ns.out"; fail "no 'has not started yet' before mn_main"; return 1; }
}

t_bad_arguments() {
	start_target "$static" -S || return 1
	gdb_batch "$work/ba.out" -p "$TPID" -ex 'goroutine' -ex 'goroutine abc bt' \
		-ex 'goroutine 999999 bt' -ex 'goroutine all frame' \
		-ex 'goroutine 2 info frame' -ex 'goroutine 2 frame 3'
	grep -v '^\[New LWP' "$work/ba.out" | tail -n 20
	no_traceback "$work/ba.out" || return 1
	for m in 'usage: goroutine' "'abc' is not a goroutine id" 'no goroutine 999999' \
		 'goroutine all: only bt' 'Stack level 1, frame at' 'in chan_recv'; do
		grep -q "$m" "$work/ba.out" || { fail "no '$m'"; return 1; }
	done
}

# The same program dumped by the runtime: MNSCHED_DEBUG=dump=SIGQUIT.
t_dump_sigquit() {
	rm -f "$work/manifest"
	MNPROCS=2 MNSCHED_DEBUG=dump=SIGQUIT "$static" -n "$NG" -m "$work/manifest" \
		> "$work/target.out" 2> "$work/dump.err" &
	TPID=$!
	tpids+=("$TPID")
	for _ in $(seq 200); do
		grep -q '^ready' "$work/target.out" 2>/dev/null && [ -s "$work/manifest" ] && break
		sleep 0.05
	done
	kill -QUIT "$TPID"
	local rc
	wait "$TPID"
	rc=$?
	head -n 12 "$work/dump.err"
	grep -A6 '\[running\]' "$work/dump.err" | head -n 20
	tail -n 6 "$work/dump.err"
	[ $rc = 2 ] || { fail "exit status $rc after SIGQUIT, want 2"; return 1; }
	grep -q '^mnsched: SIGQUIT: goroutine dump (MNSCHED_DEBUG=dump=SIGQUIT; stacks: libdw)' "$work/dump.err" ||
		{ fail "no dump header (with libdw)"; return 1; }
	check_gs dump "$work/dump.err" || { why="the dump is wrong"; return 1; }
	grep -A8 '(nap) on M' "$work/dump.err" | grep -q '\[kernel\]\|nanosleep' ||
		{ fail "nap (its M asleep in the kernel) has no nanosleep frame"; return 1; }
	grep -qE '^M[0-9]+: thread=[0-9]+ p=[0-9-]+ curg=' "$work/dump.err" || { fail "no M lines"; return 1; }
	grep -qE '^P1: status=running m=[0-9]+ goid=[0-9]+ runq=' "$work/dump.err" || { fail "no P lines"; return 1; }
	grep -q '^mnsched: exit status 2 (SIGQUIT)' "$work/dump.err" || { fail "no exit line"; return 1; }
}

for c in script_section autoload live_static live_shared core_kernel_static \
	 core_gcore_shared truncated_core overwritten_stack corrupt_g_header not_mnsched \
	 bad_arguments dump_sigquit; do
	run_case "$c"
done
echo "1..$n"
exit 0
