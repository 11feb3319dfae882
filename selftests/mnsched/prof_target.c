// SPDX-License-Identifier: MIT
/*
 * prof_target - an mnsched program for the mnsched-prof tests: one
 * CPU-bound G with a label, and light company.
 *
 *   prof_target [-d SECONDS] [-w]
 *     -d SECONDS  run that long (default 4)
 *     -w          print "ready PID" once everything runs
 *
 *   hot     (label job=hot)  hot_loop(): arithmetic, no mn_* call
 *   pinger, ponger           a ping-pong every 5 ms over a channel
 *   sleeper                  mn_sleep(20 ms) in a loop
 *   waiter                   blocked on a channel for good
 * Built with -fno-omit-frame-pointer, so every user stack is complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <mnsched.h>

static double seconds = 4;
static int wait_ready;
static volatile uint64_t sink;
static uint64_t end_ns;
static struct mn_chan *ping, *pong, *never;

__attribute__((noinline)) static uint64_t hot_loop(uint64_t x)
{
	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) static void hot(void *arg)
{
	uint64_t x = 1;

	mn_set_label("job", "hot");
	while (mn_now() < end_ns)
		x = hot_loop(x);
	sink = x;
}

static void pinger(void *arg)
{
	int v = 0;

	while (mn_now() < end_ns) {
		mn_chan_send(ping, &v);
		mn_chan_recv(pong, &v);
		mn_sleep(5 * 1000000ull);
	}
	v = -1;
	mn_chan_send(ping, &v);
}

static void ponger(void *arg)
{
	int v;

	mn_set_label("job", "pong");
	for (;;) {
		mn_chan_recv(ping, &v);
		if (v < 0)
			return;
		mn_chan_send(pong, &v);
	}
}

static void sleeper(void *arg)
{
	while (mn_now() < end_ns)
		mn_sleep(20 * 1000000ull);
}

static void waiter(void *arg)
{
	mn_chan_recv(never, NULL);
}

static void main_g(void *arg)
{
	end_ns = mn_now() + (uint64_t)(seconds * 1e9);
	ping = mn_chan_new(sizeof(int), 0);
	pong = mn_chan_new(sizeof(int), 0);
	never = mn_chan_new(0, 0);
	mn_go_opts(waiter, NULL, &(struct mn_go_opts){ .name = "waiter" });
	mn_go_opts(ponger, NULL, &(struct mn_go_opts){ .name = "ponger" });
	mn_go_opts(pinger, NULL, &(struct mn_go_opts){ .name = "pinger" });
	mn_go_opts(sleeper, NULL, &(struct mn_go_opts){ .name = "sleeper" });
	mn_go_opts(hot, NULL, &(struct mn_go_opts){ .name = "hot", .flags = MN_GO_DEFER });
	if (wait_ready) {
		printf("ready %d\n", getpid());
		fflush(stdout);
	}
	while (mn_now() < end_ns)
		mn_sleep(50 * 1000000ull);
	printf("done %llu\n", (unsigned long long)sink);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "d:w")) != -1) {
		switch (opt) {
		case 'd': seconds = atof(optarg); break;
		case 'w': wait_ready = 1; break;
		default:
			fprintf(stderr, "usage: prof_target [-d SECONDS] [-w]\n");
			return 64;
		}
	}
	return mn_main(main_g, NULL) ? 1 : 0;
}
