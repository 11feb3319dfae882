#!/bin/sh
# handoff-bench.sh - in the test VM: blocked-M handoff latency as the
# runtime sees it (mnsched-handoff-rt), alternately in one boot:
#   kmod    the module hands the blocked M's P to a spare M at once
#   retake  sysmon's retake, with the module loaded but no spare Ms
#           (MNSCHED_DEBUG=spare=0): the module still timestamps the block
#   futex   sysmon's retake without the module (the futex parker)
# The issue's figure is kmod against sysmon's retake timed from the M
# blocking (the module's timestamp); the times from the read() call, which
# add the system call's way into the kernel to both, are printed too.
# Numbers come from an emulated VM (TCG): compare the ratio, not the
# microseconds.
dir=$(dirname "$0")
# tools/stats.sh: beside this script in the VM (VM_EXTRA_BINS), one up here
for f in "$dir/stats.sh" "$dir/../stats.sh"; do
	# shellcheck source=/dev/null
	[ -f "$f" ] && . "$f" && break
done
rounds=${1:-100}
runs=${2:-5}
bin=$dir/mnsched-handoff-rt
kb="" kc="" rb="" rc="" fc=""
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(HANDOFF_LABEL=kmod MNSCHED_PARK=kmod "$bin" "$rounds" | awk '/^RESULT/ {print $6, $14}')
	kc="$kc $1" kb="$kb ${2:-0}"
	# shellcheck disable=SC2046
	set -- $(HANDOFF_LABEL=retake MNSCHED_PARK=kmod MNSCHED_DEBUG=spare=0 "$bin" "$rounds" | awk '/^RESULT/ {print $6, $14}')
	rc="$rc $1" rb="$rb ${2:-0}"
	fc="$fc $(HANDOFF_LABEL=futex MNSCHED_PARK=futex "$bin" "$rounds" | awk '/^RESULT/ {print $6}')"
done
med() { for v in "$@"; do echo "$v"; done | median; }
# shellcheck disable=SC2086
set -- "$(med $kb)" "$(med $rb)" "$(med $kc)" "$(med $rc)" "$(med $fc)"
echo "runs (p50 us) from the block: kmod$kb; retake$rb"
echo "runs (p50 us) from the call:  kmod$kc; retake$rc; futex retake$fc"
awk -v kb="$1" -v rb="$2" -v kc="$3" -v rc="$4" -v fc="$5" -v r="$rounds" -v n="$runs" 'BEGIN {
	printf "blocked-M handoff, runtime level (median of %d runs x %d rounds), from the M blocking: kmod %.1f us, sysmon retake %.1f us, kmod/sysmon %.3f\n", n, r, kb, rb, (rb > 0 ? kb / rb : 0)
	printf "  from the read() call: kmod %.1f us, sysmon retake %.1f us (futex parker %.1f us), kmod/sysmon %.3f (futex %.3f)\n", kc, rc, fc, (rc > 0 ? kc / rc : 0), (fc > 0 ? kc / fc : 0)
}'
