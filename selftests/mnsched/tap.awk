# SPDX-License-Identifier: MIT
# tap.awk - one kselftest TAP program's output to result lines
# "PASS|FAIL|SKIP NAME/CASE reason", as every runner records them
# (selftests/mnsched/run_tests.sh on the host, tools/vm/report.sh for the
# VM).  Variables: name (the program's result name, e.g. runtime/rt_chan
# or vm-6.12/kmod_park), rc (its exit status), why (set when the runner
# killed it: what to say instead of the exit status; the case that was
# running, if any, fails with it).
# A program that dies without TAP, or whose exit status disagrees with its
# TAP, is a failure of its own.

# The 6.1 harness names a case on its RUN line; its "ok N # SKIP" line has
# no name.
/^#  RUN / { run = $3; pending = $3 }
/^(not )?ok [0-9]+ / {
	line = $0; n++; pending = ""
	st = (line ~ /^not ok/) ? "FAIL" : "PASS"
	sub(/^(not )?ok [0-9]+ /, "", line)
	reason = ""
	if (match(line, /# *SKIP */)) {
		st = "SKIP"; reason = substr(line, RSTART + RLENGTH)
		line = substr(line, 1, RSTART - 1)
	}
	gsub(/[ \t]+$/, "", line); gsub(/ /, "_", line)
	if (line == "") line = run
	print st, name "/" line, reason
	if (st == "FAIL") bad++
}
END {
	# Died in the middle of a case: that case fails.
	if (why == "" && pending != "" && rc != 0 && rc != 4)
		why = "exit status " rc " in this case"
	if (why != "" && pending != "") print "FAIL", name "/" pending, "(" why ")"
	else if (why != "") print "FAIL", name, "(" why ")"
	else if (n == 0) print "FAIL", name, "(no TAP output, exit status " rc ")"
	else if (rc != 0 && rc != 4 && bad == 0) print "FAIL", name, "(exit status " rc " with all cases passing)"
}
