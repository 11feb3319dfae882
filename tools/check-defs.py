#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-defs.py DEFS README: the README's USDT probe table and wait-reason
list must say what user/src/probe_defs.h defines (the list the library and
the tools are built from): the same probes in the same order with the same
arguments, the same reasons with the same numbers.  Also checks that each
probe's argument count matches its argument names.  Prints each mismatch;
exit status 1 when there is one."""
import re
import sys


def xmacro(text, name):
    """The X(...) rows of #define name(X), as lists of their fields."""
    m = re.search(r"#define %s\(X\)(.*?)(?:\n\s*\n|#endif)" % name, text, re.S)
    if not m:
        sys.exit("check-defs: no #define %s(X)" % name)
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    rows = []
    for args in re.findall(r"\bX\((.*?)\)\s*(?:\\|$)", body, re.M):
        rows.append([a.strip() for a in re.findall(r'\s*("[^"]*"|[^,]+)', args)])
    return rows


def main():
    defs_path, readme_path = sys.argv[1], sys.argv[2]
    defs = open(defs_path).read()
    readme = open(readme_path).read()
    bad = []

    reasons = [(i, r[1].strip('"')) for i, r in
               enumerate(xmacro(defs, "MN_WAITREASONS"))]
    probes = [(r[1], int(r[2]), r[3].strip('"'))
              for r in xmacro(defs, "MN_PROBE_DEFS")]
    for name, nargs, args in probes:
        if len(args.split(",")) != nargs:
            bad.append("%s: %d arguments, but named \"%s\"" % (name, nargs, args))

    m = re.search(r"\| probe \| arguments \| meaning \|\n\|[-|]+\|\n((?:\|.*\n)+)",
                  readme)
    if not m:
        bad.append("README: no table '| probe | arguments | meaning |'")
    else:
        rows = [re.match(r"\| `(\w+)` \| ([^|]*) \|", line)
                for line in m.group(1).splitlines()]
        table = [(r.group(1), r.group(2).strip()) if r else None for r in rows]
        want = [(n, a) for n, _, a in probes]
        if table != want:
            bad.append("README probe table: %s\n  probe_defs.h:     %s"
                       % (table, want))

    m = re.search(r"^Wait reasons: (.*?);", readme, re.M | re.S)
    if not m:
        bad.append("README: no paragraph 'Wait reasons: 0 ..., N ...;'")
    else:
        items = [re.match(r"(\d+) (.+)", x.strip())
                 for x in " ".join(m.group(1).split()).split(", ")]
        listed = [(int(i.group(1)), i.group(2)) if i else None for i in items]
        if listed != reasons:
            bad.append("README wait reasons: %s\n  probe_defs.h:        %s"
                       % (listed, reasons))

    for b in bad:
        print("check-defs: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
