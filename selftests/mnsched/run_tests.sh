#!/bin/bash
# run_tests.sh SUITE RESULTS BIN... - run kselftest-harness binaries, record
# one line per test case in RESULTS ("PASS|FAIL|SKIP SUITE/BIN/CASE reason")
# and print the TAP they produce (selftests/mnsched/tap.awk).
# Environment: MN_TEST_TIMEOUT (seconds per binary, default 300).
set -u
suite=$1 results=$2
shift 2
to=${MN_TEST_TIMEOUT:-300}
for bin in "$@"; do
	name=$(basename "$bin")
	out=$(mktemp)
	t0=$(date +%s)
	timeout -k 5 "$to" "$bin" >"$out" 2>&1
	rc=$?
	why=""
	# timeout(1) runs the program in a process group of its own and
	# signals the whole group.
	if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $(($(date +%s) - t0)) -ge "$to" ]; }; then
		why="killed at its ${to} s timeout"
	fi
	cat "$out"
	awk -v name="$suite/$name" -v rc="$rc" -v why="$why" \
		-f "$(dirname "$0")/tap.awk" "$out" >>"$results"
	rm -f "$out"
done
exit 0
