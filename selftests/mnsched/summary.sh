#!/bin/sh
# summary.sh RESULTS [TITLE] - print failed/skipped cases and the closing
# line "N passed, N failed, N skipped"; exit 1 if anything failed or nothing ran.
r=$1
[ -f "$r" ] || { echo "0 passed, 1 failed (no results file $r)"; exit 1; }
grep '^FAIL' "$r" | sed 's/^/  /'
grep '^SKIP' "$r" | sed 's/^/  /'
p=$(grep -c '^PASS' "$r"); f=$(grep -c '^FAIL' "$r"); s=$(grep -c '^SKIP' "$r")
[ -n "${2:-}" ] && echo "$2:"
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
