# SPDX-License-Identifier: MIT
#
# case_lib.sh - the case harness of the shell test suites (bpf_tests.sh,
# gdb_tests.sh, prof_tests.sh), sourced by each after it has set
#   results  the file to append "PASS|FAIL|SKIP SUITE/CASE reason" lines to
#   suite    SUITE
#   work     a scratch directory (removed at exit)
#   only     the name of the variable listing the cases to run (BPF_TESTS...)
# A case is a function t_NAME that returns 0 (pass), 1 (fail: $why) or 2
# (skip: $why); run_case NAME runs it with its output in $work/NAME.log,
# shown when it fails.  Processes a case starts in the background go in
# tpids (disowned: no "Killed" notices) and are killed after it.  Prints TAP.

tpids=()
n=0
why=""
global_skip=""

killall_started() {
	local p
	for p in "${tpids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${tpids[@]}"; do
		for _ in $(seq 50); do [ -e "/proc/$p" ] || break; sleep 0.02; done
	done
	tpids=()
}

cleanup() {
	killall_started
	rm -rf "$work"
}
trap cleanup EXIT

record() {	# STATUS CASE [REASON]
	n=$((n + 1))
	echo "$1 $suite/$2${3:+ $3}" >> "$results"
	case $1 in
	PASS) echo "ok $n $2" ;;
	SKIP) echo "ok $n $2 # SKIP $3" ;;
	*) echo "not ok $n $2 # $3" ;;
	esac
}

selected() {	# CASE: listed in $only (or $only is empty)
	local list=${!only:-}
	[ -z "$list" ] && return 0
	case ",$list," in *",$1,"*) return 0 ;; esac
	return 1
}

run_case() {	# NAME
	local name=$1 rc
	selected "$name" || return 0
	why=""
	if [ -n "${global_skip:-}" ]; then
		record SKIP "$name" "$global_skip"
		return
	fi
	"t_$name" > "$work/$name.log" 2>&1
	rc=$?
	killall_started
	case $rc in
	0) record PASS "$name" ;;
	2) record SKIP "$name" "$why" ;;
	*) record FAIL "$name" "${why:-exit status $rc}"
	   sed 's/^/#   /' "$work/$name.log" | tail -n 30 ;;
	esac
}

fail() { why=$*; echo "FAIL: $why"; return 1; }

# expect_err PATTERN STATUS CMD...: fails unless CMD exits with STATUS
# printing PATTERN (within 30 s)
expect_err() {
	local pat=$1 st=$2 rc
	shift 2
	timeout 30 "$@" > "$work/e.out" 2>&1
	rc=$?
	echo "\$ $* -> $rc"
	cat "$work/e.out"
	[ "$rc" = "$st" ] || { fail "$(basename "$1"): exit status $rc, expected $st"; return 1; }
	grep -q -- "$pat" "$work/e.out" || { fail "$(basename "$1"): no '$pat' in its message"; return 1; }
}
