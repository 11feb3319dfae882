#!/bin/sh
# handoff-bench.sh - in the test VM: blocked-M handoff latency as the
# runtime sees it, module (a spare M takes the P at once) against sysmon's
# retake, alternately in one boot.  Numbers come from an emulated VM (TCG):
# compare the ratio, not the microseconds.
dir=$(dirname "$0")
rounds=${1:-100}
runs=${2:-5}
k="" f=""
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	k="$k $(MNSCHED_PARK=kmod "$dir/mnsched-handoff-rt" "$rounds" | awk '/^RESULT/ {print $4}')"
	f="$f $(MNSCHED_PARK=futex "$dir/mnsched-handoff-rt" "$rounds" | awk '/^RESULT/ {print $4}')"
done
med() { for v in "$@"; do echo "$v"; done | sort -n | sed -n "$((($# + 1) / 2))p"; }
# shellcheck disable=SC2086
km=$(med $k)
# shellcheck disable=SC2086
fm=$(med $f)
echo "runs (p50 us): kmod$k; sysmon$f"
awk -v k="$km" -v f="$fm" -v r="$rounds" -v n="$runs" 'BEGIN {
	printf "blocked-M handoff, runtime level (median of %d runs x %d rounds): kmod %.1f us, sysmon retake %.1f us, kmod/sysmon %.2f\n", n, r, k, f, (f > 0 ? k / f : 0)
}'
