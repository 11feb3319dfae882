#!/bin/sh
# SPDX-License-Identifier: MIT
# demo part: the eBPF tools on a running mnsched program (needs root):
# mnsched-top, mnsched-lat per wait reason, and a 1-second Perfetto timeline.
cd "$(dirname "$0")/../.." || exit 1
echo "== eBPF: mnsched-top, mnsched-lat and a Perfetto timeline of a running program"
if [ "$(id -u)" != 0 ]; then
	echo "(skipped: BPF and uprobes need root; run make demo as root)"
	exit 0
fi
if ! make -s --no-print-directory build/tests/bpf/bpf_target >/dev/null; then
	echo "(skipped: cannot build build/tests/bpf/bpf_target)"
	exit 0
fi
MNPROCS=2 build/tests/bpf/bpf_target -d 8 >/dev/null &
pid=$!
sleep 0.5
build/tools/mnsched-top -p $pid -C 1 1 || true
echo
build/tools/mnsched-lat -p $pid -R -d 1 | head -n 60 || true
echo
out=build/demo/mnsched-trace.json
build/tools/mnsched-trace -p $pid -d 1 --perfetto $out || true
echo "Open $out in https://ui.perfetto.dev: a track per P with a slice per G run,"
echo "a track per M (its state and off-CPU time), arrows from wakers to the Gs they woke."
kill $pid 2>/dev/null
wait $pid 2>/dev/null
exit 0
