#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# report.sh VMDIR RESULTS - read VMDIR/report.log written by the VM's /init,
# print the TAP, append one "PASS|FAIL|SKIP vm/<program>/<case> reason" line
# per case to RESULTS (as selftests/mnsched/run_tests.sh does on the host),
# plus vm/insmod, vm/dmesg and vm/boot lines.  The output of "run" programs
# is saved in VMDIR/<program>.out.  Exit 1 when anything failed.
set -u
dir=$1
results=$2
log=$dir/report.log
if [ ! -s "$log" ]; then
	echo "FAIL vm/boot (no report from the VM; see $dir/console.log)" >>"$results"
	tail -n 30 "$dir/console.log" 2>/dev/null
	exit 1
fi
tr -d '\r' <"$log" >"$log.txt"
cat "$log.txt"
tmp=$(mktemp)
awk -v dir="$dir" '
function finish(rc) {
	if (kind == "tap") {
		if (n == 0) print "FAIL", "vm/" name, "(no TAP output, exit status " rc ")"
		else if (rc != 0 && rc != 4 && bad == 0) print "FAIL", "vm/" name, "(exit status " rc " with all cases passing)"
	} else if (kind == "run") {
		close(dir "/" name ".out")
		if (rc != 0) print "FAIL", "vm/" name, "(exit status " rc ")"
	}
	kind = ""
}
/^@@MN-INSMOD ok/ { next }
/^@@MN-INSMOD / { print "FAIL vm/insmod", $0; next }
/^@@MN-BEGIN / { kind = $2; name = $3; n = 0; bad = 0; if (kind == "run") printf "" > (dir "/" name ".out"); next }
/^@@MN-END / { finish($4); next }
/^@@MN-DMESG clean/ { print "PASS vm/dmesg"; next }
/^@@MN-DMESG bad/ { dmesg_bad = 1; next }
/^@@MN-DONE/ { done = 1; next }
dmesg_bad == 1 && !reason { reason = $0; print "FAIL vm/dmesg kernel warning: " reason; next }
kind == "run" { print > (dir "/" name ".out"); next }
kind == "tap" && /^(not )?ok [0-9]+ / {
	line = $0; n++
	st = (line ~ /^not ok/) ? "FAIL" : "PASS"
	sub(/^(not )?ok [0-9]+ /, "", line)
	why = ""
	if (match(line, /# *SKIP/)) { st = "SKIP"; why = substr(line, RSTART + RLENGTH); line = substr(line, 1, RSTART - 1) }
	gsub(/[ \t]+$/, "", line); gsub(/ /, "_", line)
	print st, "vm/" name "/" line, why
	if (st == "FAIL") bad++
}
END {
	if (kind != "") print "FAIL", "vm/" name, "(killed: timeout or VM died)"
	if (!done) print "FAIL vm/boot (the VM did not finish: timeout or panic; see console.log)"
}' "$log.txt" >"$tmp"
cat "$tmp" >>"$results"
f=$(grep -c '^FAIL' "$tmp")
p=$(grep -c '^PASS' "$tmp")
rm -f "$tmp"
echo "  VM      $p passed, $f failed"
[ "$f" -eq 0 ]
