#!/bin/bash
# run_tests.sh SUITE RESULTS BIN... - run kselftest-harness binaries, record
# one line per test case in RESULTS ("PASS|FAIL|SKIP SUITE/BIN/CASE reason")
# and print the TAP they produce.  A binary that dies without TAP, or whose
# exit status disagrees with its TAP, is recorded as a failure of its own.
# Environment: MN_TEST_TIMEOUT (seconds per binary, default 300).
set -u
suite=$1 results=$2
shift 2
to=${MN_TEST_TIMEOUT:-300}
for bin in "$@"; do
	name=$(basename "$bin")
	out=$(mktemp)
	timeout -k 5 "$to" "$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	awk -v s="$suite/$name" -v rc="$rc" '
		# The 6.1 harness names a case on its RUN line; its "ok N # SKIP"
		# line has no name.
		/^#  RUN / { run = $3 }
		/^(not )?ok [0-9]+ / {
			line = $0; n++
			st = (line ~ /^not ok/) ? "FAIL" : "PASS"
			sub(/^(not )?ok [0-9]+ /, "", line)
			why = ""
			if (match(line, /# *SKIP */)) { st = "SKIP"; why = substr(line, RSTART + RLENGTH); line = substr(line, 1, RSTART - 1) }
			gsub(/[ \t]+$/, "", line); gsub(/ /, "_", line)
			if (line == "") line = run
			print st, s "/" line, why
			if (st == "FAIL") bad++
		}
		END {
			if (n == 0) print "FAIL", s, "(no TAP output, exit status " rc ")"
			else if (rc != 0 && rc != 4 && bad == 0) print "FAIL", s, "(exit status " rc " with all cases passing)"
		}' "$out" >>"$results"
	rm -f "$out"
done
exit 0
