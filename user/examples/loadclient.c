// SPDX-License-Identifier: MIT
/*
 * loadclient - an echo load generator: C connections, each a G that sends
 * a message, waits for its echo, checks it byte for byte, and repeats.
 *
 *   loadclient [-c CONNS] [-d SECONDS] [-s SIZE] [HOST:]PORT
 *              (default 64 connections, 5 s, 64-byte messages, 127.0.0.1)
 *
 * Prints round trips per second and the latency percentiles of all round
 * trips (a log2-linear histogram: 64 buckets per power of two, < 1.6% error).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <mnsched.h>

#define SUB 64				/* histogram buckets per power of two */
static atomic_llong hist[64 * SUB];	/* latency in ns */
static atomic_llong trips;
static atomic_int errors, ready;
static struct sockaddr_in addr = { .sin_family = AF_INET };
static int conns = 64, seconds = 5, size = 64;
static volatile int stop;
static struct mn_wg wg = MN_WG_INIT;

static int bucket(uint64_t ns)
{
	int e = 63 - __builtin_clzll(ns | 1);

	if (e < 6)
		return (int)ns;		/* below 64 ns: exact */
	return e * SUB + (int)((ns >> (e - 6)) & (SUB - 1));
}

static uint64_t bucket_ns(int b)
{
	int e = b / SUB;

	return e < 6 ? (uint64_t)b : ((uint64_t)(SUB + b % SUB)) << (e - 6);
}

static void client(void *arg)
{
	char *out = malloc((size_t)size), *in = malloc((size_t)size);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (mn_connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		atomic_fetch_add(&errors, 1);
		goto out;
	}
	atomic_fetch_add(&ready, 1);
	for (long i = (long)arg; !stop; i++) {
		uint64_t t0 = mn_now();
		int got = 0;

		memset(out, (int)(i & 0xff), (size_t)size);
		if (mn_send(fd, out, (size_t)size, 0) != size)
			break;
		while (got < size) {
			ssize_t n = mn_recv(fd, in + got, (size_t)(size - got), 0);

			if (n <= 0)
				goto out;
			got += (int)n;
		}
		if (memcmp(in, out, (size_t)size)) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		atomic_fetch_add_explicit(&hist[bucket(mn_now() - t0)], 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&trips, 1, memory_order_relaxed);
	}
out:
	mn_close(fd);
	free(out);
	free(in);
	mn_wg_done(&wg);
}

static uint64_t percentile(long long total, double q)
{
	long long want = (long long)(q * (double)total), seen = 0;

	for (int b = 0; b < 64 * SUB; b++) {
		seen += atomic_load(&hist[b]);
		if (seen > want)
			return bucket_ns(b);
	}
	return 0;
}

static void run(void *arg)
{
	uint64_t t0;
	long long n;

	mn_wg_add(&wg, conns);
	for (long i = 0; i < conns; i++)
		mn_go(client, (void *)i);
	while (atomic_load(&ready) + atomic_load(&errors) < conns)
		mn_sleep(1000000);
	atomic_store(&trips, 0);	/* measure with every connection up */
	memset((void *)hist, 0, sizeof(hist));
	t0 = mn_now();
	mn_sleep((uint64_t)seconds * 1000000000u);
	n = atomic_load(&trips);
	t0 = mn_now() - t0;
	stop = 1;
	mn_wg_wait(&wg);
	printf("%d connections, %d-byte messages: %.0f round trips/s, "
	       "p50 %.1f us, p99 %.1f us, p99.9 %.1f us, errors %d\n",
	       conns, size, (double)n * 1e9 / (double)t0,
	       percentile(n, 0.50) / 1e3, percentile(n, 0.99) / 1e3,
	       percentile(n, 0.999) / 1e3, atomic_load(&errors));
}

int main(int argc, char **argv)
{
	char *colon;
	int opt;

	while ((opt = getopt(argc, argv, "c:d:s:")) != -1) {
		if (opt == 'c')
			conns = atoi(optarg);
		else if (opt == 'd')
			seconds = atoi(optarg);
		else if (opt == 's')
			size = atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 1 || conns < 1 || size < 1)
		goto usage;
	colon = strrchr(argv[optind], ':');
	addr.sin_port = htons((uint16_t)atoi(colon ? colon + 1 : argv[optind]));
	if (colon)
		*colon = 0;
	if (inet_pton(AF_INET, colon ? argv[optind] : "127.0.0.1", &addr.sin_addr) != 1)
		goto usage;
	return mn_main(run, NULL) ? 1 : 0;
usage:
	fprintf(stderr, "usage: loadclient [-c CONNS] [-d SECONDS] [-s SIZE] [HOST:]PORT\n");
	return 64;
}
