#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# check-vm.sh RESULTS KERNEL... - what `make vm-tests` (and so check-vm) runs:
# checkpatch and kernel-doc on the module (make kmod-checkpatch), as the
# result line kmod/checkpatch, then the test VM on each KERNEL
# (tools/vm/vm-tests.sh test, with the environment tools/vm/vm.mk gives it).
# Exit status 1 when either failed; both always run.
set -u
results=$1
shift
vm=build/vm
MAKE=${MAKE:-make}
rc=0

mkdir -p "$vm" "$(dirname "$results")"
if $MAKE --no-print-directory kmod-checkpatch >"$vm/checkpatch.log" 2>&1; then
	echo "PASS kmod/checkpatch" >>"$results"
else
	cat "$vm/checkpatch.log"
	rc=1
	echo "FAIL kmod/checkpatch see $vm/checkpatch.log" >>"$results"
fi
tools/vm/vm-tests.sh test "$results" "$@" || rc=1
exit $rc
