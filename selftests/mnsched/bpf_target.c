// SPDX-License-Identifier: MIT
/*
 * bpf_target - an mnsched program for the BPF tests to trace.
 *
 * Every round spawns WORKERS Gs in pairs; each G yields, plays ping-pong
 * with its partner over unbuffered channels, sleeps, reads /dev/zero with
 * mn_read (io_uring, or the blocking fallback), makes a blocking system
 * call between mn_syscall_enter/exit and exits.  So one round fires every
 * USDT probe the runtime has (g_create, g_start, g_park with several wait
 * reasons, g_unblock, g_exit, io_submit/io_complete, syscall_enter/exit,
 * proc_start/stop, m_park/m_unpark, and steal when there are two Ps).
 *
 *   bpf_target [-d SECONDS] [-H MS] [-n ROUNDS] [-S] [-w] [-y YIELDS]
 *     -d SECONDS  rounds until SECONDS have passed (default 10)
 *     -H MS       each round, the main G also computes MS ms without
 *                 calling the runtime while the workers wait for their P:
 *                 it overruns its slice and is preempted (g_preempt)
 *     -n ROUNDS   exactly ROUNDS rounds (overrides -d)
 *     -S          after the rounds, make the runtime swap (with the
 *                 module, a SWAP: k:swap): Ms leave system calls to no
 *                 idle P while Ps go idle, until the module counted a SWAP
 *                 (swap_provoke.h; at most 100 tries)
 *     -w          print "ready PID", then wait for SIGUSR1 before starting
 *                 the runtime (so a tracer sees the very first event)
 *     -y YIELDS   yields per G per round (default 10)
 *
 * At the end it prints "done rounds=R gs=G" on stdout.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mnsched.h>
/* mn_debug_exit_nop_delay is weak there: libmnsched.so does not export test
 * hooks (user/libmnsched.map), so bpf_target_so has no -S. */
#include "swap_provoke.h"

#define WORKERS		8	/* even: pairs */
#define PINGS		5

static long rounds_max, yields = 10, hog_ms;
static bool stall_exit;

static double seconds = 10;
static long rounds_done, gs_done;
static int zero_fd = -1;

struct pair {
	struct mn_chan *ab, *ba;
	struct mn_chan *done;
};

struct worker {
	struct pair *pair;
	int side;
};

static void worker(void *arg)
{
	struct worker *w = arg;
	struct pair *pr = w->pair;
	int v = 0;

	for (long i = 0; i < yields; i++)
		mn_yield();
	for (int i = 0; i < PINGS; i++) {
		if (w->side == 0) {
			mn_chan_send(pr->ab, &v);
			mn_chan_recv(pr->ba, &v);
		} else {
			mn_chan_recv(pr->ab, &v);
			v++;
			mn_chan_send(pr->ba, &v);
		}
	}
	mn_sleep(100 * 1000);
	if (zero_fd >= 0) {
		char buf[64];

		if (mn_read(zero_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			fprintf(stderr, "bpf_target: mn_read /dev/zero failed\n");
			exit(1);
		}
	}
	mn_syscall_enter();
	usleep(200);
	mn_syscall_exit();
	mn_chan_send(pr->done, &v);
}

static void one_round(void)
{
	struct pair pairs[WORKERS / 2];
	struct worker ws[WORKERS];
	struct mn_chan *done = mn_chan_new(sizeof(int), WORKERS);
	int v;

	for (int i = 0; i < WORKERS / 2; i++) {
		pairs[i].ab = mn_chan_new(sizeof(int), 0);
		pairs[i].ba = mn_chan_new(sizeof(int), 0);
		pairs[i].done = done;
	}
	for (int i = 0; i < WORKERS; i++) {
		ws[i].pair = &pairs[i / 2];
		ws[i].side = i % 2;
		if (mn_go(worker, &ws[i])) {
			fprintf(stderr, "bpf_target: mn_go failed\n");
			exit(1);
		}
	}
	if (hog_ms > 0) {	/* the workers wait in our P's queue meanwhile */
		uint64_t end = mn_now() + (uint64_t)hog_ms * 1000000;
		volatile uint64_t x = 0;

		while (mn_now() < end)
			x++;
	}
	for (int i = 0; i < WORKERS; i++)
		mn_chan_recv(done, &v);
	for (int i = 0; i < WORKERS / 2; i++) {
		mn_chan_free(pairs[i].ab);
		mn_chan_free(pairs[i].ba);
	}
	mn_chan_free(done);
	rounds_done++;
	gs_done += WORKERS;
}

static void main_g(void *arg)
{
	uint64_t end = mn_now() + (uint64_t)(seconds * 1e9);

	if (rounds_max > 0) {
		for (long r = 0; r < rounds_max; r++)
			one_round();
	} else {
		while (mn_now() < end)
			one_round();
	}
	if (stall_exit && t_provoke_swaps(2, 100) == -2) {
		fprintf(stderr, "bpf_target: -S: pipe or thread failed\n");
		exit(1);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bpf_target [-d SECONDS] [-H MS] [-n ROUNDS] [-S] [-w] [-y YIELDS]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	int c, wait = 0;

	while ((c = getopt(argc, argv, "d:H:n:Swy:")) != -1) {
		switch (c) {
		case 'd': seconds = atof(optarg); break;
		case 'H': hog_ms = atol(optarg); break;
		case 'n': rounds_max = atol(optarg); break;
		case 'S':
			if (!mn_debug_exit_nop_delay) {
				fprintf(stderr, "bpf_target: -S needs the static library's test hooks\n");
				exit(64);
			}
			stall_exit = true;
			break;
		case 'w': wait = 1; break;
		case 'y': yields = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || seconds < 0 || rounds_max < 0 || yields < 0)
		usage();
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (wait) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		sigwait(&set, &sig);
	}
	c = mn_main(main_g, NULL);
	if (c) {
		fprintf(stderr, "bpf_target: mn_main: %s\n", strerror(-c));
		return 1;
	}
	printf("done rounds=%ld gs=%ld\n", rounds_done, gs_done);
	return 0;
}
