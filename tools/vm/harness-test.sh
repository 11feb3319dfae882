#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# harness-test.sh RESULTS KVER IMAGE KO RUNDIR - the test VM's own test:
# programs that hang, crash or leave a grandchild holding the console pipe
# must each become a failed case with its threads' stacks in the report,
# and the VM must go on to the next program and finish.  One short boot
# with busybox scripts as the programs (tools/vm/vm-tests.sh runs it on
# the first kernel); result lines vm-harness/<case>.  Then two boots that
# end the VM early, a kernel panic and qemu's own timeout: the boot's
# failure must say which, with the panic's words.
set -u
results=$1
img=$3
ko=$4
dir=$5
mkdir -p "$dir/progs"
p=$dir/progs
# A program that never ends: a child in its process group, a grandchild
# in a session of its own holding stdout (the FIFO to the console), and
# the program itself waiting.
cat >"$p/hang" <<'EOF'
#!/bin/sh
echo "hang: started"
sleep 1000 &
setsid sh -c 'echo "hang: grandchild $$ holds the pipe"; exec sleep 1001' &
exec sleep 1002
EOF
# A TAP program that dies of a signal in the middle of a case.
cat >"$p/crash" <<'EOF'
#!/bin/sh
echo "TAP version 13"
echo "1..2"
echo "ok 1 before_the_crash"
echo "#  RUN           global.crashes ..."
kill -SEGV $$
EOF
# A TAP program whose exit leaves a daemon behind, then a normal one.
cat >"$p/leaves_daemon" <<'EOF'
#!/bin/sh
setsid sh -c 'exec sleep 1003' &
echo "TAP version 13"
echo "1..1"
echo "ok 1 leaves_a_daemon"
EOF
cat >"$p/after" <<'EOF'
#!/bin/sh
echo "TAP version 13"
echo "1..1"
n=$(ps -o args | grep -c 'sleep 100[0-9]')
if [ "$n" -eq 0 ]; then echo "ok 1 no_process_left"; else ps; echo "not ok 1 no_process_left"; fi
EOF
chmod 755 "$p"/*
printf '%s\n' "run hang /tests/hang" "tap crash /tests/crash" \
	"tap leaves_daemon /tests/leaves_daemon" "tap after /tests/after" "env" >"$dir/tests.list"

# boot DIR QEMU_TIMEOUT PROGRAM_TIMEOUT: boot the VM with the programs of
# DIR/tests.list (their files in DIR/progs); report.sh's result lines in
# DIR/results.txt, its output in DIR/report.txt.
boot() {
	tools/vm/mkinitramfs.sh "$1/initramfs.cpio.gz" "$ko" "$1/tests.list" \
		"$1"/progs/* || return 1
	tools/vm/run-vm.sh test "$img" "$1/initramfs.cpio.gz" "$1" "$2" "mn.timeout=$3" || true
	rm -f "$1/initramfs.cpio.gz"
	: >"$1/results.txt"
	tools/vm/report.sh "$1" "$1/results.txt" vm-harness >"$1/report.txt" 2>&1 || true
}
boot "$dir" 300 5 || exit 1
r=$dir/results.txt

check() {	# NAME CONDITION...
	n=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "PASS vm-harness/$n" >>"$results"
	else
		echo "FAIL vm-harness/$n (see $dir/results.txt, $dir/report.log)" >>"$results"
	fi
}
check hung_program_fails_as_hung grep -q '^FAIL vm-harness/hang (hung: killed at its 5 s timeout' "$r"
check hung_program_stacks_in_report grep -q '^### tid .*sleep' "$dir/hang.hung"
check hung_program_kernel_stack grep -q 'nanosleep' "$dir/hang.hung"
check crash_fails_its_running_case grep -q '^FAIL vm-harness/crash/global.crashes (exit status 139 in this case)' "$r"
check case_before_crash_passes grep -q '^PASS vm-harness/crash/before_the_crash' "$r"
check daemon_left_behind_is_killed grep -q '^PASS vm-harness/after/no_process_left' "$r"
check vm_finishes_after_a_hang grep -q '^PASS vm-harness/dmesg' "$r"
check no_boot_failure sh -c "! grep -q '^FAIL vm-harness/boot' '$r'"

# boot_one NAME QEMU_TIMEOUT SCRIPT: a boot whose only program is SCRIPT
# (a TAP program); its report's results in $dir/NAME/results.txt.
boot_one() {
	bd=$dir/$1
	mkdir -p "$bd/progs"
	printf '%s\n' "$3" >"$bd/progs/$1"
	chmod 755 "$bd/progs/$1"
	printf '%s\n' "tap $1 /tests/$1" "env" >"$bd/tests.list"
	boot "$bd" "$2" 600
}
# The kernel panics in the middle of a case (sysrq "c" calls panic()).
boot_one panic 300 '#!/bin/sh
echo "TAP version 13"
echo "1..1"
echo "#  RUN           global.panics ..."
# Let the tee in /init copy the line to the report port first: a panic at once
# raced it (a 6.12 boot had the line on the console, not in the report).
sleep 1
echo c >/proc/sysrq-trigger
sleep 100'
r=$dir/panic/results.txt
check panic_names_the_kernel_report grep -q '^FAIL vm-harness/boot (the VM did not finish: kernel died: Kernel panic - not syncing: sysrq triggered crash' "$r"
check panic_fails_the_running_case grep -q '^FAIL vm-harness/panic/global.panics (killed: the VM stopped while it ran' "$r"
check panic_report_in_the_log grep -q 'Call Trace' "$dir/panic/report.txt"
# qemu's timeout strikes before the program's (600 s) does.
boot_one timeout 40 '#!/bin/sh
echo "TAP version 13"
echo "1..1"
echo "#  RUN           global.sleeps ..."
sleep 1000'
r=$dir/timeout/results.txt
check vm_timeout_says_timeout grep -q '^FAIL vm-harness/boot (.*timeout: qemu stopped after [0-9]* s, its limit' "$r"
