#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
check-rt-calls.py OBJDIR SRCDIR - no unmarked call out of the runtime's text
from a hot entry point (runtime.h, "where the handler may not take the P").

Invariants this checks, at every build of the plain library:
  * Every function that opens with MN_ENTER_FAST() or MN_ENTER_FAST_P()
    (a root), and everything
    it may call, runs only the library's own text, unless the call goes
    through a function that opens with MN_ENTER() or MN_MARK() (marked: its
    whole body is a marked region; the traversal stops there).  A call to a
    function the library does not define (libc, liburing, a memcpy the
    compiler emitted, the vDSO's clock_gettime) on such a path is an error.
  * An indirect call on such a path is an error, except the two whose
    targets are known: mn_after_switch's pending_fn (every function passed
    to mn_gopark, found in the sources; each becomes a root) and
    mn_g_start's call of the G's function (the program's code: the G's mark
    is cleared right before it, mn_rt_user_begin).
  * The call graphs are GCC's (-fcallgraph-info: every call insn that
    reached the assembler output, libcalls included).  What they cannot see,
    a call hidden in a TLS access (__tls_get_addr: general-dynamic TLS), is
    caught by comparing each object's undefined symbols (nm -u) with its
    graph: any undefined function the graph does not show is an error.
  * Every object's code is in mn_text only (the handler's bounds): no
    section named .text* is left after the Makefile's renaming.
MN_MARK()/MN_ENTER() must be a function's first statement to count (the
regex below looks only there); a marked function the compiler inlined into
its caller is then invisible, and its calls show up as the caller's: the
check errs on the safe side and the fix is noinline.
"""
import collections
import glob
import os
import re
import subprocess
import sys

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"( shape : ellipse)? \}')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"'
                  r'( label: "([^"]*)")? \}')
# "int mn_chan_send(...)\n{\n\tMN_ENTER_FAST();" and the like.
FUNC = re.compile(r'^(?:static\s+)?[A-Za-z_][^;{}()]*?\b([A-Za-z_]\w*)\s*\('
                  r'[^;{}]*\)\s*(?:MN_HIDDEN\s*)?\n\{\s*\n\s*'
                  r'(MN_ENTER_FAST_P|MN_ENTER_FAST|MN_ENTER|MN_MARK)\(\);', re.M)
ATTR = re.compile(r'__attribute__\(\((?:[^()]|\([^()]*\))*\)\)\s*')
GOPARK = re.compile(r'\bmn_gopark\(\s*([A-Za-z_]\w*)\s*,')
# Functions of the library written in assembly (switch_x86_64.S): they call
# nothing.
ASM_OK = {'mn_g_switch'}
# Undefined symbols that are data, not calls.
DATA_OK = {'_GLOBAL_OFFSET_TABLE_', 'stderr', 'stdout',
           '__start_mn_text', '__stop_mn_text'}
# Functions whose address is taken, not called: their calls are indirect
# ones, which the traversal checks.  (mn_errno_loc launders
# __errno_location's address: runtime.h.)
ADDR_OK = {'__errno_location'}


def base(name):
    """schedule_next.isra.0 -> schedule_next (GCC's clones)."""
    head, _, tail = name.rpartition(':')
    return (head + ':' if head else '') + tail.split('.')[0]


def main():
    objdir, srcdir = sys.argv[1], sys.argv[2]
    errors = []
    defined, edges = set(), collections.defaultdict(list)
    ext_by_obj = collections.defaultdict(set)
    cis = sorted(glob.glob(os.path.join(objdir, '*.ci')))
    if not cis:
        sys.exit('check-rt-calls: no call graphs in %s' % objdir)
    for ci in cis:
        obj = ci[:-3] + '.o'
        for line in open(ci):
            # "*name": an asm name (fscanf is *__isoc99_fscanf).
            line = line.replace('title: "*', 'title: "').replace('name: "*', 'name: "')
            m = NODE.match(line)
            if m:
                if m.group(3):
                    ext_by_obj[obj].add(m.group(1))
                else:
                    defined.add(m.group(1))
            m = EDGE.match(line)
            if m:
                edges[m.group(1)].append((m.group(2), m.group(4) or '?'))
    lib_syms = set()
    for obj in sorted(glob.glob(os.path.join(objdir, '*.o'))):
        out = subprocess.run(['nm', '--defined-only', obj], capture_output=True,
                             text=True, check=True).stdout
        lib_syms |= {l.split()[-1] for l in out.splitlines() if l.strip()}
        hdr = subprocess.run(['objdump', '-h', obj], capture_output=True,
                             text=True, check=True).stdout
        for l in hdr.splitlines():
            f = l.split()
            if len(f) > 1 and f[0].isdigit() and f[1].startswith('.text'):
                errors.append('%s: section %s not renamed to mn_text' % (obj, f[1]))
    for obj in sorted(glob.glob(os.path.join(objdir, '*.o'))):
        if obj.endswith('_x86_64.o') or not os.path.exists(obj[:-2] + '.ci'):
            continue
        out = subprocess.run(['nm', '-u', obj], capture_output=True, text=True,
                             check=True).stdout
        for sym in (l.split()[-1] for l in out.splitlines() if l.strip()):
            if sym in lib_syms or sym in DATA_OK or sym in ADDR_OK or \
                    sym.endswith('_semaphore'):
                continue
            if sym not in ext_by_obj[obj]:
                errors.append('%s: calls %s where the call graph does not show it'
                              % (obj, sym))
    kind, gopark = {}, set()
    for src in sorted(glob.glob(os.path.join(srcdir, '*.c'))):
        text = ATTR.sub('', open(src).read())
        nfast = 0
        for m in FUNC.finditer(text):
            kind[m.group(1)] = m.group(2)
            nfast += m.group(2).startswith('MN_ENTER_FAST')
        # A fast entry the regex did not see would go unchecked.
        if text.count('MN_ENTER_FAST();') + text.count('MN_ENTER_FAST_P();') != nfast:
            errors.append('%s: an MN_ENTER_FAST() that is not its function\'s '
                          'first statement' % src)
        gopark |= set(GOPARK.findall(text)) - {'NULL'}

    lines = {}

    def src_line(loc):
        f, _, rest = loc.partition(':')
        if f not in lines:
            try:
                lines[f] = open(f).read().split('\n')
            except OSError:
                lines[f] = []
        try:
            return lines[f][int(rest.split(':')[0]) - 1]
        except (ValueError, IndexError):
            return ''

    def kind_of(node):
        return kind.get(base(node).rpartition(':')[2])

    roots = [n for n in defined if (kind_of(n) or '').startswith('MN_ENTER_FAST')]
    # A new G's first code: the switch "returns" into the trampoline, which
    # calls mn_g_start (switch_x86_64.S).
    roots += ['mn_g_start']
    # The parkers (park_futex.c, park_kmod.c) are called through
    # mn_sched.parker's function pointers: every function of theirs.
    roots += [n for n in defined
              if n.startswith(('user/src/park_futex.c:', 'user/src/park_kmod.c:'))
              and kind_of(n) not in ('MN_ENTER', 'MN_MARK')]
    roots += [n for n in defined if base(n).rpartition(':')[2] in gopark]
    if not any((kind_of(n) or '').startswith('MN_ENTER_FAST') for n in roots):
        errors.append('no MN_ENTER_FAST function found (the regex is stale?)')
    parent = {r: None for r in roots}
    queue = list(roots)

    def path(n):
        p = []
        while n is not None:
            p.append(n)
            n = parent[n]
        return ' <- '.join(p)

    while queue:
        n = queue.pop()
        for t, loc in edges.get(n, []):
            if t == '__indirect_call':
                b = base(n).rpartition(':')[2]
                if b in ('mn_after_switch', 'mn_g_start'):
                    continue	# targets: roots above / the program's code
                if 'mn_sched.parker->' in src_line(loc):
                    continue	# targets: the parkers' functions, roots
                errors.append('indirect call at %s, unmarked, in %s' % (loc, path(n)))
                continue
            if t in ASM_OK:
                continue
            if t not in defined:
                errors.append('call of %s at %s, unmarked, in %s' % (t, loc, path(n)))
                continue
            if kind_of(t) in ('MN_ENTER', 'MN_MARK'):
                continue
            if t not in parent:
                parent[t] = n
                queue.append(t)
    for e in errors:
        print('check-rt-calls: ' + e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print('check-rt-calls: %d functions reachable from %d fast entries, '
          'no unmarked call out' % (len(parent), len(roots)))


main()
