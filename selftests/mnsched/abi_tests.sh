#!/bin/bash
# SPDX-License-Identifier: MIT
#
# abi_tests.sh RESULTS SO - what the tree exports and who owns which names:
#
#   exports_only_api       nm -D of the shared library SO shows only the
#                          functions user/include/mnsched.h declares and
#                          mn_debug_info (user/libmnsched.map): no test hook
#                          (mn_debug_mtid, mn_debug_io_stat...), no internal
#   api_all_exported       every function mnsched.h declares is exported
#   kmod_tests_see_api     a kmod test can include both kmod_util.h and
#                          mnsched.h (their names no longer clash)
#   one_prefix_per_layer   mn_/MN_ names are defined by the library only,
#                          and no name a layer's header defines, nor any
#                          mn_, mnsched_, kt_, t_ or mt_ name, is defined
#                          in two layers: library (user/), module (kmod/,
#                          prefix mnsched_), tests (selftests/, kt_ and t_),
#                          tools (tools/, bpf/, prefix mt_)
#
#   RESULTS    file to append "PASS|FAIL|SKIP abi/CASE reason" lines to
#   SO         user/libmnsched.so
#
# Run from the top of the tree.  Prints TAP.  ABI_TESTS=a,b runs only those.
set -u
results=$1 so=$2
suite=abi
work=$(mktemp -d /tmp/mnsched-abi-tests.XXXXXX)
only=ABI_TESTS
hdr=user/include/mnsched.h
# shellcheck source=selftests/mnsched/case_lib.sh
. "$(dirname "$0")/case_lib.sh"

# The functions mnsched.h declares: every mn_name( after preprocessing
# (macros gone, comments gone; the header defines no inline functions).
api_functions() {
	${CC:-cc} -E -P -D_GNU_SOURCE -Iuser/include -Ikmod/uapi "$hdr" |
		grep -oE '\bmn_[a-z0-9_]+[[:space:]]*\(' | tr -d ' (' | sort -u
}

# The shared library's defined dynamic symbols, without their version.
exported() {
	nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u
}

t_exports_only_api() {
	api_functions > "$work/api" || { fail "cannot preprocess $hdr"; return 1; }
	echo mn_debug_info >> "$work/api"
	sort -u -o "$work/api" "$work/api"
	exported > "$work/exp"
	echo "$(wc -l < "$work/exp") exported, $(wc -l < "$work/api") allowed"
	comm -23 "$work/exp" "$work/api" > "$work/extra"
	[ -s "$work/extra" ] || return 0
	cat "$work/extra"
	fail "$(basename "$so") exports $(wc -l < "$work/extra") symbols mnsched.h does not declare: $(head -n 5 "$work/extra" | tr '\n' ' ')"
}

t_api_all_exported() {
	api_functions > "$work/api" || { fail "cannot preprocess $hdr"; return 1; }
	[ "$(wc -l < "$work/api")" -gt 50 ] || { fail "found only $(wc -l < "$work/api") functions in $hdr"; return 1; }
	exported > "$work/exp"
	comm -23 "$work/api" "$work/exp" > "$work/missing"
	[ -s "$work/missing" ] || return 0
	cat "$work/missing"
	fail "mnsched.h declares functions $(basename "$so") does not export (user/libmnsched.map): $(head -n 5 "$work/missing" | tr '\n' ' ')"
}

t_kmod_tests_see_api() {
	printf '#include "kmod_util.h"\n#include <mnsched.h>\nint f(void) { return (int)kt_now() + (int)mn_now(); }\n' > "$work/both.c"
	${CC:-cc} -fsyntax-only -Wall -Werror -D_GNU_SOURCE -Iuser/include -Ikmod/uapi \
		-Iselftests/mnsched "$work/both.c" || { fail "kmod_util.h and mnsched.h do not compile together"; return 1; }
}

t_one_prefix_per_layer() {
	python3 - <<'EOF'
import glob, re, sys

LAYERS = {
    'library': ['user/src/*.c', 'user/src/*.h', 'user/src/*.S', 'user/include/*.h'],
    'module': ['kmod/*.c', 'kmod/*.h'],
    'tests': ['selftests/mnsched/*.c', 'selftests/mnsched/*.h'],
    'tools': ['tools/*.c', 'tools/*.h', 'tools/*/*.c', 'tools/*/*/*.c',
              'tools/*/*/*.h', 'bpf/*.c', 'bpf/*.h'],
}
PREFIXED = re.compile(r'(mn|MN|mnsched|MNSCHED|kt|KT|t|T|mt|MT)_')

def strip(line):
    line = re.sub(r'/\*.*?\*/', '', line)
    return re.sub(r'//.*', '', line).rstrip()

def defined(path):
    """Names a file defines at file scope: macros, struct/enum/union tags,
    functions (a line starting in column 0 with NAME( and not ending in ;)."""
    for raw in open(path, errors='replace'):
        line = strip(raw)
        m = (re.match(r'#\s*define\s+([A-Za-z_]\w*)', line) or
             re.match(r'(?:struct|enum|union)\s+([A-Za-z_]\w*)\s*\{', line))
        if not m and line and not line.endswith(';') and raw[0] not in ' \t#/*{}':
            m = re.match(r'[A-Za-z_][\w\s*]*?\b([A-Za-z_]\w*)\s*\(', line)
        if m and m.group(1) not in ('__attribute__', 'main'):
            yield m.group(1)

where = {}          # name -> {layer: file}
in_header = set()   # names some layer's header defines (shared helpers)
for layer, pats in LAYERS.items():
    for f in sorted({p for pat in pats for p in glob.glob(pat)}):
        for n in defined(f):
            where.setdefault(n, {}).setdefault(layer, f)
            if f.endswith('.h'):
                in_header.add(n)
bad = []
for n, layers in sorted(where.items()):
    if re.match(r'(mn|MN)_', n) and set(layers) != {'library'}:
        bad.append('%s (mn_ is the library\'s) defined in %s' % (n, layers))
    elif len(layers) > 1 and (n in in_header or PREFIXED.match(n)):
        bad.append('%s defined in %d layers: %s' % (n, len(layers), layers))
print('%d names defined' % len(where))
print('\n'.join(bad))
sys.exit(1 if bad else 0)
EOF
	[ $? = 0 ] || { fail "names defined in more than one layer (above)"; return 1; }
}

for c in exports_only_api api_all_exported kmod_tests_see_api one_prefix_per_layer; do
	run_case "$c"
done
echo "1..$n"
exit 0
