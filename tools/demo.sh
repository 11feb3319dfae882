#!/bin/sh
# demo.sh - the showcase `make demo` runs after building everything.
# Parts that later work adds (an HTTP server under load, the module in the
# test VM, a Perfetto trace) hook in as tools/demo.d/*.sh, run in order.
set -e
cd "$(dirname "$0")/.."
echo "== mnsched demo: skynet 1M and a pipeline, with schedtrace every 200 ms"
MNSCHED_DEBUG=schedtrace=200 build/demo/showcase
for part in tools/demo.d/*.sh; do
	[ -f "$part" ] || continue
	echo
	sh "$part"
done
