#!/bin/sh
# Demo part: the keep-alive HTTP hello server (user/examples/http_hello.c,
# io_uring, one G per connection) under wrk -t1 -c64 for 3 seconds.
port=18080
srv=build/examples/http_hello
[ -x "$srv" ] || { echo "== http: $srv not built, skipped"; exit 0; }
command -v wrk >/dev/null || { echo "== http: wrk not installed, skipped"; exit 0; }
echo "== http_hello (io_uring, one G per connection) under wrk -t1 -c64 -d3s"
"$srv" $port &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for i in 1 2 3 4 5 6 7 8 9 10; do
	wrk -t1 -c1 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
	sleep 0.2
done
wrk -t1 -c64 -d3s --latency "http://127.0.0.1:$port/" | grep -E "Requests/sec|Latency|99%"
kill $pid 2>/dev/null
wait $pid 2>/dev/null
exit 0
