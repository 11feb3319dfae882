#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# report.sh VMDIR RESULTS [PREFIX] - read VMDIR/report.log written by the
# VM's /init, print it, and append result lines to RESULTS: one
# "PASS|FAIL|SKIP PREFIX/<program>/<case> reason" per TAP case (through
# selftests/mnsched/tap.awk, as on the host), plus PREFIX/insmod,
# PREFIX/dmesg and PREFIX/boot lines.  PREFIX defaults to "vm".
# Per program, VMDIR gets <program>.out (its output), <program>.hung (the
# threads' kernel stacks when its timeout killed it) and <program>.kwarn
# (kernel warnings that appeared while it ran); VMDIR/times.txt has each
# program's seconds.  Exit 1 when anything failed.
set -u
dir=$1
results=$2
pfx=${3:-vm}
log=$dir/report.log
tap=$(dirname "$0")/../../selftests/mnsched/tap.awk
oops='BUG:|Oops|general protection fault|kernel BUG|Kernel panic|watchdog: |stall on CPU|Call Trace'

# how_it_ended: sets $why, on one line, to how the VM stopped before
# /init's end, from run-vm.sh's qemu.rc and the console: "timeout ..."
# when run-vm.sh's timeout stopped qemu, "kernel died: <the report's first
# line>; <its kernel RIP line>" when the kernel died, else qemu's exit
# status.  Prints the kernel's report (or the console's last lines).
how_it_ended() {
	set -- 0 0 0
	[ -s "$dir/qemu.rc" ] && read -r q_rc q_secs q_to <"$dir/qemu.rc" &&
		set -- "$q_rc" "$q_secs" "$q_to"
	# The console's last 300 lines: the programs' output goes there too,
	# and the report that ended the VM is at its end.
	last=$(mktemp)
	tr -d '\r' <"$dir/console.log" 2>/dev/null | tail -n 300 >"$last"
	first=$(grep -n -E -m 1 "$oops" "$last" | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "---- the kernel's last report (console.log) ----"
		tail -n "+$first" "$last" | head -n 80
	else
		echo "---- the last lines of console.log ----"
		tail -n 30 "$last"
	fi
	if [ -s "$dir/qemu.log" ]; then
		echo "---- qemu's own messages (qemu.log) ----"
		tail -n 20 "$dir/qemu.log"
	fi
	echo "----"
	# timeout(1) exits 124 (137 when it had to SIGKILL): only at the limit;
	# a SIGKILL before it came from elsewhere (the host's OOM killer).
	if [ "$1" = 124 ] || { [ "$1" = 137 ] && [ "$2" -ge "$3" ]; }; then
		set -- timeout "$2"
	elif [ "$1" -gt 128 ]; then
		set -- signal "$2" "$(($1 - 128))"
	fi
	case $1 in
	timeout)
		why="timeout: qemu stopped after $2 s, its limit"
		;;
	signal)
		why="qemu was killed by signal $3 after $2 s (not by its timeout; the host's OOM killer sends 9)"
		;;
	*)
		if [ -n "$first" ]; then
			what=$(tail -n "+$first" "$last" |
				sed -n -E 's/^\[ *[0-9.]+\] //; /'"$oops"'/{p;q}')
			rip=$(tail -n "+$first" "$last" |
				sed -n -E 's/^\[ *[0-9.]+\] //; /^RIP: 0010:/{p;q}')
			why="kernel died: $what${rip:+; $rip}"
		else
			why="qemu exited with status $1 after $2 s, the VM unfinished"
		fi
		;;
	esac
	rm -f "$last"
}

if [ ! -s "$log" ]; then
	how_it_ended
	echo "FAIL $pfx/boot (no report from the VM: $why; see $dir/console.log)" >>"$results"
	exit 1
fi
tr -d '\r' <"$log" >"$log.txt"
cat "$log.txt"
tmp=$(mktemp)
idx=$(mktemp)
# Split the log: one file per program and section; $idx lists the programs
# ("kind name rc seconds", rc "-" when the VM never got to its end).
awk -v dir="$dir" -v pfx="$pfx" -v idx="$idx" '
function to(f) { if (cur != "") close(cur); cur = f; printf "" > cur }
/^@@MN-INSMOD ok/ { next }
/^@@MN-INSMOD / { print "FAIL", pfx "/insmod", $0; next }
/^@@MN-KERNEL / { next }
/^@@MN-BEGIN / { kind = $2; name = $3; to(dir "/" name ".out"); next }
/^@@MN-HUNG / { hung[name] = $3; to(dir "/" name ".hung"); next }
/^@@MN-KWARN / { to(dir "/" name ".kwarn"); next }
/^@@MN-END / {
	if (cur != "") close(cur)
	cur = ""
	print $2, $3, $4, $5, (($3 in hung) ? hung[$3] : "") > idx
	kind = ""
	next
}
/^@@MN-DMESG clean/ { print "PASS", pfx "/dmesg"; next }
/^@@MN-DMESG bad/ { dmesg_bad = 1; next }
/^@@MN-DONE/ { done = 1; next }
dmesg_bad == 1 && !reason { reason = $0; print "FAIL", pfx "/dmesg kernel warning: " reason; next }
cur != "" { print > cur }
END {
	if (kind != "") print kind, name, "-", "-", "" > idx
	if (!done) print "FAIL", pfx "/boot"
}' "$log.txt" >"$tmp"
# The VM stopped before /init's end: say how, and show the kernel's words.
if grep -q "^FAIL $pfx/boot\$" "$tmp"; then
	how_it_ended
	sed -i "s|^FAIL $pfx/boot\$|FAIL $pfx/boot (the VM did not finish: $why; see $dir/console.log)|" "$tmp"
fi
: >"$dir/times.txt"
while read -r kind name rc secs hung; do
	why=""
	if [ -n "$hung" ]; then
		why="hung: killed at its $hung s timeout; its threads: $dir/$name.hung"
	elif [ "$rc" = - ]; then
		why="killed: the VM stopped while it ran; see $dir/console.log"
	fi
	echo "$name $secs" >>"$dir/times.txt"
	case "$kind" in
	tap)
		awk -v name="$pfx/$name" -v rc="$rc" -v why="$why" -f "$tap" \
			"$dir/$name.out" >>"$tmp"
		;;
	run)
		if [ -n "$why" ]; then
			echo "FAIL $pfx/$name ($why)" >>"$tmp"
		elif [ "$rc" != 0 ]; then
			echo "FAIL $pfx/$name (exit status $rc)" >>"$tmp"
		fi
		;;
	esac
	if [ -s "$dir/$name.kwarn" ]; then
		echo "FAIL $pfx/$name/kernel-warning $(head -n 1 "$dir/$name.kwarn")" >>"$tmp"
	fi
done <"$idx"
# Programs the VM never started (it died, or its own timeout struck first).
if [ -f "$dir/tests.list" ]; then
	while read -r kind name _; do
		case "$kind" in tap|run) ;; *) continue ;; esac
		awk -v n="$name" '$2 == n { f = 1 } END { exit !f }' "$idx" ||
			echo "FAIL $pfx/$name (not run: the VM stopped before it)" >>"$tmp"
	done <"$dir/tests.list"
fi
cat "$tmp" >>"$results"
f=$(grep -c '^FAIL' "$tmp")
p=$(grep -c '^PASS' "$tmp")
rm -f "$tmp" "$idx"
echo "  VM      $pfx: $p passed, $f failed"
[ "$f" -eq 0 ]
