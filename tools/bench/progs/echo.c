/* SPDX-License-Identifier: MIT */
/*
 * echo_N: TCP echo ping-pong over loopback with N connections, server and
 * clients in this one process: N client Gs each send a 64-byte message,
 * wait for the echo (checked), repeat, for SECONDS after all are
 * connected.  Round trips per second; INFO gives p50/p99 latency.
 *
 *   echo_1 | echo_64 | echo_1000  CONNS SECONDS   (one source, symlinked;
 *   the benchmark's name is the program's file name)
 *
 * Go twin: echo.go (net.Conn, one goroutine per connection on each side).
 */
#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "bench.h"

#define MSG 64
#define SUB 32				/* latency histogram: 32 buckets per 2^k */

static const char *name;
static long conns, seconds;
static int lfd, port;
static atomic_long trips, up, errors;
static atomic_long hist[64 * SUB];
static volatile int stop;
static struct mn_wg wg = MN_WG_INIT;

static int bucket(uint64_t ns)
{
	int e = 63 - __builtin_clzll(ns | 1);

	return e < 5 ? (int)ns : e * SUB + (int)((ns >> (e - 5)) & (SUB - 1));
}

static double bucket_us(int b)
{
	int e = b / SUB;

	return (e < 5 ? (double)b : (double)((uint64_t)(SUB + b % SUB) << (e - 5))) / 1e3;
}

static double pct(long total, double q)
{
	long seen = 0;

	for (int b = 0; b < 64 * SUB; b++) {
		seen += atomic_load_explicit(&hist[b], memory_order_relaxed);
		if (seen > (long)(q * (double)total))
			return bucket_us(b);
	}
	return 0;
}

static void server_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	ssize_t n;

	while ((n = mn_recv(fd, buf, sizeof(buf), 0)) > 0)
		if (mn_send(fd, buf, (size_t)n, 0) != n)
			break;
	mn_close(fd);
}

static void acceptor(void *arg)
{
	int one = 1;

	for (;;) {
		int fd = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		mn_go(server_conn, (void *)(long)fd);
	}
}

static void client(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char out[MSG], in[MSG];
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (mn_connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		atomic_fetch_add(&errors, 1);
		goto out;
	}
	atomic_fetch_add(&up, 1);
	for (long i = (long)arg; !stop; i++) {
		uint64_t t0 = bench_now_ns();
		int got = 0;

		memset(out, (int)(i & 0xff), MSG);
		if (mn_send(fd, out, MSG, 0) != MSG)
			break;
		while (got < MSG) {
			ssize_t n = mn_recv(fd, in + got, (size_t)(MSG - got), 0);

			if (n <= 0)
				goto out;
			got += (int)n;
		}
		if (memcmp(in, out, MSG)) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		atomic_fetch_add_explicit(&hist[bucket(bench_now_ns() - t0)], 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&trips, 1, memory_order_relaxed);
	}
out:
	mn_close(fd);
	mn_wg_done(&wg);
}

static void bench(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	uint64_t t0, t1;
	long n;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		bench_fail(name, "listen");
	port = ntohs(sa.sin_port);
	mn_go(acceptor, NULL);
	mn_wg_add(&wg, (int)conns);
	for (long i = 0; i < conns; i++)
		mn_go(client, (void *)i);
	while (atomic_load(&up) + atomic_load(&errors) < conns)
		mn_sleep(1000000);
	if (atomic_load(&errors))
		bench_fail(name, "connect failed");
	mn_sleep(200000000);			/* warm-up */
	atomic_store(&trips, 0);
	for (int b = 0; b < 64 * SUB; b++)
		atomic_store(&hist[b], 0);
	t0 = bench_now_ns();
	mn_sleep((uint64_t)seconds * 1000000000u);
	n = atomic_load(&trips);
	t1 = bench_now_ns();
	stop = 1;
	mn_wg_wait(&wg);
	if (atomic_load(&errors))
		bench_fail(name, "echo mismatch");
	bench_info("p50_us", "%.1f", pct(n, 0.50));
	bench_info("p99_us", "%.1f", pct(n, 0.99));
	bench_info("io", "%s, %d Ps", mn_io_backend(), mn_nprocs());
	bench_result(name, (double)n * 1e9 / (double)(t1 - t0), "rtt/s");
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	name = basename(argv[0]);
	conns = bench_arg(argc, argv, 1, 64);
	seconds = bench_arg(argc, argv, 2, 3);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	bench_run(name, bench, NULL);
	return 0;
}
