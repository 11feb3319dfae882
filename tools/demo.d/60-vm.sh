#!/bin/sh
# Demo part: boot the test VM (Debian 12's 6.1 and 6.12 cloud kernels under
# QEMU/TCG, one after the other),
# load mnsched.ko and run the module's benchmarks: park/unpark and SWAP
# against futexes, and the blocked-M handoff against sysmon's retake.
# Skipped with MNSCHED_DEMO_VM=0.
[ "${MNSCHED_DEMO_VM:-1}" = 0 ] && { echo "== VM part skipped (MNSCHED_DEMO_VM=0)"; exit 0; }
echo "== mnsched.ko in the test VM on 6.1 and 6.12: benchmarks (emulated VM: compare ratios)"
make --no-print-directory vm-bench 2>&1 | grep -vE "^(make|  (CC|LD|MODPOST|BTF|INITRAMFS|FETCH|EXTRACT))|Skipping BTF"
exit 0
