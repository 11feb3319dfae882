#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tools/bench/run.sh - run every benchmark of benchmarks.tbl on mnsched (C)
# and on Go, alternately (ours, Go, ours, Go, ...), take the medians and
# print one table.
#
#   run.sh [-t TABLE] [-b BINDIR] [-r RUNS] [-f text|md] [-o NAME,NAME]
#
# Environment (what bench.mk passes): BENCH_RUNS, BENCH_FORMAT, BENCH (a
# comma-separated subset), BENCH_VERBOSE=1 (print every run's value),
# BENCH_STRICT=1 (exit 1 when a target is missed, not only on a failure).
#
# Binaries: BINDIR/c/NAME and BINDIR/go/NAME.  Logs of every run:
# BINDIR/logs/NAME.{ours,go}.RUN.{out,err}.  Raw values: BINDIR/results.tsv.
# Exit status: 0, or 1 when a program crashed, hung, failed its self-check
# or printed no RESULT line (and with BENCH_STRICT=1, when a target is missed).
# A driver that exits 77 after a line "SKIP NAME why" (it cannot run here,
# e.g. it needs root) makes its row "skipped", not a failure.
#
# Variant rows: a name PROG.VARIANT (yield.noprobes) compares two C builds
# of progs/PROG.c instead of C and Go: ours is BINDIR/c/PROG, the baseline
# BINDIR/c-VARIANT/PROG (the program linked with another build of the
# library, e.g. without probes) or, when there is none, BINDIR/c/PROG again
# (a driver then makes the difference: it sees BENCH_SIDE=ours or base).
# With a target they run BENCH_VARIANT_RUNS times per side (default 31, at
# least BENCH_RUNS: small differences need many runs), alternately,
# pinned to the last CPU when procs is 1 (taskset), and are reported in a
# table of their own (ratio ours/base), with a note of how far the runs
# spread (the middle half: first to third quartile).

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/stats.sh
. "$here/../stats.sh"
table=$here/benchmarks.tbl
bindir=build/bench
runs=${BENCH_RUNS:-5}
format=${BENCH_FORMAT:-text}
only=${BENCH:-}
verbose=${BENCH_VERBOSE:-0}
strict=${BENCH_STRICT:-0}
vruns=${BENCH_VARIANT_RUNS:-31}

while getopts t:b:r:f:o:v opt; do
	case $opt in
	t) table=$OPTARG ;;
	b) bindir=$OPTARG ;;
	r) runs=$OPTARG ;;
	f) format=$OPTARG ;;
	o) only=$OPTARG ;;
	v) verbose=1 ;;
	*) sed -n '4,10p' "$0" >&2; exit 64 ;;
	esac
done
case $runs in ''|*[!0-9]*|0) echo "run.sh: bad run count '$runs'" >&2; exit 64 ;; esac
case $vruns in ''|*[!0-9]*|0) echo "run.sh: bad variant run count '$vruns'" >&2; exit 64 ;; esac
case $format in text|md) ;; *) echo "run.sh: format is text or md" >&2; exit 64 ;; esac

logs=$bindir/logs
raw=$bindir/results.tsv
mkdir -p "$logs"
printf 'name\tside\trun\tstatus\tvalue\tunit\n' > "$raw"

# ---- helpers -------------------------------------------------------------

sig_name() { kill -l "$1" 2>/dev/null || echo "$1"; }

# Status of one finished run: ok, or why not (long form for the failure
# report, short form for the table cell).
describe_rc() {
	local rc=$1 timeout=$2
	case $rc in
	0) echo ok ;;
	124) echo "hang: still running after ${timeout}s, killed" ;;
	137) echo "hang: killed by SIGKILL (${timeout}s + 5s grace, or the OOM killer)" ;;
	*) if [ "$rc" -gt 128 ]; then
		echo "crash: killed by SIG$(sig_name $((rc - 128)))"
	   else
		echo "exit status $rc"
	   fi ;;
	esac
}
short_rc() {
	case $1 in
	124|137) echo HANG ;;
	*) if [ "$1" -gt 128 ]; then echo "SIG$(sig_name $(($1 - 128)))"
	   else echo "EXIT_$1"; fi ;;
	esac
}

fmtnum() {	# a value for the table: 3 significant digits, no exponent
	awk -v v="$1" 'BEGIN {
		if (v == "") { print "-"; exit }
		a = v < 0 ? -v : v
		if (a >= 100) printf "%.0f\n", v
		else if (a >= 10) printf "%.1f\n", v
		else if (a >= 1) printf "%.2f\n", v
		else printf "%.3f\n", v }'
}

selected() {
	[ -z "$only" ] && return 0
	case ",$only," in *",$1,"*) return 0 ;; esac
	return 1
}

# ---- header ----------------------------------------------------------------

ncpu=$(nproc 2>/dev/null || echo '?')
gover=$(go version 2>/dev/null | awk '{print $3}')
ccver="${CC:-cc} $(${CC:-cc} -dumpfullversion 2>/dev/null)"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo none)
kernel=$(uname -r)
mapmax=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo '?')

# ---- run -----------------------------------------------------------------

rows=()		# name|ours|go|unit|ratio|target|verdict
vrows=()	# the same for variant rows (PROG.VARIANT): name|ours|base|...
notes=()
failures=()
status=0
nbench=0

while read -r name procs target timeout args driver desc; do
	case $name in ''|'#'*) continue ;; esac
	selected "$name" || continue
	nbench=$((nbench + 1))
	[ "$args" = - ] && args= || args=${args//,/ }
	prog=$name variant="" other=go nruns=$runs
	case $name in *.*) prog=${name%%.*} variant=${name#*.} other=base ;; esac
	cbin=$bindir/c/$prog
	gbin=$bindir/go/$name
	if [ -n "$variant" ]; then
		gbin=$bindir/c-$variant/$prog
		[ -x "$gbin" ] || gbin=$cbin
		# many runs where a small ratio is judged
		[ "$target" != - ] && [ "$vruns" -gt "$nruns" ] && nruns=$vruns
	fi
	for b in "$cbin" "$gbin"; do
		[ -x "$b" ] || { echo "run.sh: $b not built (make bench-build)" >&2; exit 1; }
	done

	envs=(env -u MNPROCS -u GOMAXPROCS)
	shown=
	if [ "$procs" != all ]; then
		envs=(env MNPROCS="$procs" GOMAXPROCS="$procs")
		shown="MNPROCS=$procs GOMAXPROCS=$procs "
	fi
	pin=()
	# (not tracing rows: the tracer must not share the program's CPU)
	if [ -n "$variant" ] && [ "$procs" = 1 ] && [ "$target" != - ] &&
	   command -v taskset > /dev/null && [ "$ncpu" != '?' ]; then
		pin=(taskset -c $((ncpu - 1)))
		shown="$shown${pin[*]} "
	fi
	drv=()
	[ "$driver" != - ] && drv=("$here/drivers/$driver")

	declare -A vals=() unit=() fail=() short=() info=() skipped=()
	vals[ours]=""; vals[go]=""
	for ((r = 1; r <= nruns; r++)); do
		for side in ours go; do
			[ -n "${fail[$side]:-}" ] && continue
			bin=$cbin lab=ours; [ $side = go ] && bin=$gbin lab=$other
			out=$logs/$name.$lab.$r.out
			err=$logs/$name.$lab.$r.err
			[ -t 2 ] && printf '  %-14s %-4s run %d/%d\r' "$name" "$lab" "$r" "$nruns" >&2
			# shellcheck disable=SC2086
			# The subshell keeps bash's "Segmentation fault" notice quiet.
			( timeout -k 5 "$timeout" "${envs[@]}" BENCH_SIDE=$lab "${pin[@]}" \
				"${drv[@]}" "$bin" $args \
				> "$out" 2> "$err" < /dev/null; exit $? ) 2> /dev/null
			rc=$?
			if [ $rc = 77 ]; then
				# a driver that cannot run here (e.g. needs root): not a failure
				skipped[$side]=$(grep -m1 '^SKIP ' "$out" | cut -d' ' -f3-)
				skipped[$side]=${skipped[$side]:-skipped}
				printf '%s\t%s\t%d\tskipped\t\t\n' "$name" $lab "$r" >> "$raw"
				fail[$side]=skip
				continue
			fi
			why=$(describe_rc $rc "$timeout")
			line=$(grep -m1 "^RESULT $prog " "$out")
			sh=$(short_rc $rc)
			if [ "$why" = ok ] && [ -z "$line" ]; then
				why="no RESULT line"; sh=NO_RESULT
			fi
			if [ "$why" != ok ]; then
				e=$(grep -m1 '^ERROR ' "$out" | cut -d' ' -f3-)
				[ -n "$e" ] && why="$why ($e)"
				fail[$side]="$why"; short[$side]=$sh
				failures+=("$name ($lab side, run $r): $why
    command: $shown${drv[*]:+${drv[*]} }$bin $args
    stdout: $out
    stderr: $err (last lines below)
$( [ -s "$err" ] || echo '      | (empty)'; tail -n 12 "$err" | sed 's/^/      | /')")
				printf '%s\t%s\t%d\t%s\t\t\n' "$name" $lab "$r" "$why" >> "$raw"
				continue
			fi
			set -- $line
			vals[$side]+="$3 "
			unit[$side]=$4
			printf '%s\t%s\t%d\tok\t%s\t%s\n' "$name" $lab "$r" "$3" "$4" >> "$raw"
			if [ -z "${info[$side]:-}" ]; then
				info[$side]=$(awk '/^INFO / { k = $2; $1 = $2 = ""
					sub(/^ +/, ""); printf "%s%s=%s", sep, k, $0; sep = " " }' "$out")
				[ -z "${info[$side]}" ] && info[$side]=" "
			fi
		done
	done
	[ -t 2 ] && printf '%-40s\r' '' >&2

	m_ours=$(printf '%s\n' ${vals[ours]} | median)
	m_go=$(printf '%s\n' ${vals[go]} | median)
	u=${unit[ours]:-${unit[go]:-?}}
	ratio=""
	if [ -n "$m_ours" ] && [ -n "$m_go" ]; then
		ratio=$(awk -v a="$m_ours" -v b="$m_go" 'BEGIN { if (b != 0) printf "%.6g", a / b }')
	fi
	verdict=ok
	tshow=-
	case $target in
	ratio\<=*|ratio\>=*)
		op=${target:5:2}; lim=${target:7}
		tshow="$op${lim}x $([ -n "$variant" ] && echo base || echo Go)"
		cmpv=$ratio ;;
	ours\<=*|ours\>=*)
		op=${target:4:2}; lim=${target:6}
		tshow="$op$lim $u"
		cmpv=$m_ours ;;
	-) op=""; cmpv="" ;;
	*) echo "run.sh: $name: bad target '$target'" >&2; exit 64 ;;
	esac
	if [ -n "$op" ]; then
		if [ -z "$cmpv" ]; then
			verdict=MISSED
		elif ! awk -v v="$cmpv" -v l="$lim" -v op="$op" \
			'BEGIN { exit !(op == "<=" ? v <= l : v >= l) }'; then
			verdict=MISSED
		fi
	else
		verdict=-
	fi
	s_ours=$(fmtnum "$m_ours"); s_go=$(fmtnum "$m_go")
	if [ -n "${skipped[ours]:-}${skipped[go]:-}" ]; then
		verdict=skipped
		[ -n "${skipped[ours]:-}" ] && s_ours=- && notes+=("$name: skipped: ${skipped[ours]}")
		[ -n "${skipped[go]:-}" ] && s_go=- && notes+=("$name: skipped: ${skipped[go]}")
		ratio=""
	elif [ -n "${fail[ours]:-}" ]; then
		s_ours=${short[ours]}; verdict=FAILED; status=1
	fi
	if [ -z "${skipped[go]:-}" ] && [ -n "${fail[go]:-}" ]; then
		s_go=${short[go]}; status=1
		[ "$verdict" != FAILED ] && verdict=n/a
	fi
	[ "$verdict" = MISSED ] && [ "$strict" = 1 ] && status=1
	# The verdict used the exact ratio; the table shows it rounded.
	[ -n "$ratio" ] && ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r }')
	olab=Go; [ -n "$variant" ] && olab=base
	if [ -n "$variant" ]; then
		vrows+=("$name|$s_ours|$s_go|$u|${ratio:--}|$tshow|$verdict")
	else
		rows+=("$name|$s_ours|$s_go|$u|${ratio:--}|$tshow|$verdict")
	fi
	# A variant's ratio is a small cost: say how far the runs spread.
	if [ -n "$variant" ] && [ -n "$m_ours" ] && [ -n "$m_go" ]; then
		notes+=("$name, spread (middle half of the runs): ours $(printf '%s\n' ${vals[ours]} | quartiles), base $(printf '%s\n' ${vals[go]} | quartiles) $u")
	fi
	[ -n "${info[ours]:-}" ] && [ "${info[ours]}" != " " ] && notes+=("$name, ours: ${info[ours]}")
	[ -n "${info[go]:-}" ] && [ "${info[go]}" != " " ] && notes+=("$name, $olab: ${info[go]}")
	if [ "$verbose" = 1 ]; then
		notes+=("$name, ours runs: ${vals[ours]:-none}")
		notes+=("$name, $olab runs: ${vals[go]:-none}")
	fi
	unset vals unit fail short info skipped
done < "$table"

if [ "$nbench" = 0 ]; then
	echo "run.sh: no benchmark selected (BENCH='$only')" >&2
	exit 64
fi

# ---- report ----------------------------------------------------------------

what="median of $runs alternating runs each; $ncpu CPUs, Linux $kernel, $gover, $ccver -O2, commit $commit"
vwhat="median of $vruns alternating runs each where a target is judged (pinned to one CPU when procs is 1), else $runs; $ncpu CPUs, Linux $kernel, $ccver -O2, commit $commit"
if [ "$format" = md ]; then
	if [ ${#rows[@]} -gt 0 ]; then
		echo "| benchmark | ours | Go | unit | ours/Go | target | verdict |"
		echo "|---|--:|--:|---|--:|---|---|"
		for row in "${rows[@]}"; do
			IFS='|' read -r n o g u ra t v <<< "$row"
			echo "| $n | $o | $g | $u | $ra | $t | $v |"
		done
		echo
		echo "_ours = C on libmnsched, Go = the same program in Go; $what._"
	fi
	if [ ${#vrows[@]} -gt 0 ]; then
		[ ${#rows[@]} -gt 0 ] && echo
		echo "| variant | ours | base | unit | ours/base | target | verdict |"
		echo "|---|--:|--:|---|--:|---|---|"
		for row in "${vrows[@]}"; do
			IFS='|' read -r n o g u ra t v <<< "$row"
			echo "| $n | $o | $g | $u | $ra | $t | $v |"
		done
		echo
		echo "_PROG.VARIANT: ours = progs/PROG.c on libmnsched, base = the same program on another build (PROG.noprobes: no USDT probes; PROG.nocounters: no per-P counters) or run differently by a driver; $vwhat._"
	fi
else
	fmt='%-16s %12s %12s  %-10s %8s  %-14s %s\n'
	if [ ${#rows[@]} -gt 0 ]; then
		echo
		echo "mnsched vs Go: $what"
		printf "$fmt" benchmark ours Go unit ours/Go target verdict
		printf "$fmt" ---------------- ------------ ------------ ---------- -------- -------------- -------
		for row in "${rows[@]}"; do
			IFS='|' read -r n o g u ra t v <<< "$row"
			printf "$fmt" "$n" "$o" "$g" "$u" "$ra" "$t" "$v"
		done
	fi
	if [ ${#vrows[@]} -gt 0 ]; then
		echo
		echo "mnsched builds and tracing, C vs C: $vwhat"
		vfmt='%-24s %10s %10s  %-10s %9s  %-14s %s\n'
		printf "$vfmt" variant ours base unit ours/base target verdict
		printf "$vfmt" ------------------------ ---------- ---------- ---------- --------- -------------- -------
		for row in "${vrows[@]}"; do
			IFS='|' read -r n o g u ra t v <<< "$row"
			printf "$vfmt" "$n" "$o" "$g" "$u" "$ra" "$t" "$v"
		done
	fi
fi
if [ ${#notes[@]} -gt 0 ]; then
	echo
	[ "$format" = md ] && echo '```'
	echo "notes (vm.max_map_count here: $mapmax):"
	for n in "${notes[@]}"; do echo "  $n"; done
	[ "$format" = md ] && echo '```'
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo
	[ "$format" = md ] && echo '```'
	echo "FAILURES (runtime bugs to report; logs in $logs/):"
	for f in "${failures[@]}"; do echo "  $f"; done
	[ "$format" = md ] && echo '```'
fi
echo
echo "raw values: $raw"
exit $status
