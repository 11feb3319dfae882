/* SPDX-License-Identifier: MIT */
/*
 * swap_provoke.h - make the runtime issue the module's SWAP, for the tests
 * that must see one (rt_syscall, and bpf_target -S for the BPF VM test).
 *
 * The runtime swaps when an M leaves a system call, finds no idle P, and a
 * P goes idle before it parks: its G goes to the global queue, and the M
 * woken for it is woken by the call that parks this one (proc.c, "Idle
 * Ms, spares and SWAP").  Left to chance that is rare (0 to 4 SWAPs in a
 * BPF test run of bpf_target's rounds), so: flapper Gs hold the Ps for
 * 0.5 ms and let them go idle for 0.5 ms, a G blocks in read() until a
 * plain thread writes 5 ms later, and the test hook stalls every return
 * from a system call that finds no idle P for 3 ms, in which a flapper
 * lets its P go idle.  Repeated until the module's "swaps" counter moves,
 * at most TRIES times.  Needs the static library (the hook is not
 * exported by libmnsched.so) and, to stop early, debugfs.
 */
#ifndef T_SWAP_PROVOKE_H
#define T_SWAP_PROVOKE_H
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <mnsched.h>
#include "pstate_util.h"

/* Test hook (proc.c): an M leaving a syscall with no idle P waits ns. */
void mn_debug_exit_nop_delay(uint32_t ns) __attribute__((weak));

static atomic_bool t_flap_stop;
static struct mn_wg t_flap_wg = MN_WG_INIT;

/* Holds the P for 0.5 ms, then lets it go idle for 0.5 ms, and again. */
static void t_flapper(void *arg)
{
	while (!atomic_load(&t_flap_stop)) {
		uint64_t end = mn_now() + 500000;

		while (mn_now() < end)
			;
		mn_sleep(500000);
	}
	mn_wg_done(&t_flap_wg);
}

static void *t_late_writer(void *arg)
{
	usleep(5000);	/* the reader blocks, and its P is handed off */
	return (void *)(intptr_t)(write(*(int *)arg, "x", 1) == 1);
}

/*
 * From a G: FLAPPERS flapper Gs beside blocking reads, until the module's
 * swaps counter moved or TRIES reads.  Returns the SWAPs counted meanwhile,
 * -1 when the counter cannot be read (TRIES reads were still made), -2 on
 * a pipe or thread error.
 */
static inline long t_provoke_swaps(int flappers, int tries)
{
	long before = t_counter("swaps"), now = before;
	int err = 0;

	atomic_store(&t_flap_stop, false);
	mn_wg_add(&t_flap_wg, flappers);
	for (int i = 0; i < flappers; i++)
		if (mn_go(t_flapper, NULL))
			mn_wg_done(&t_flap_wg);
	mn_debug_exit_nop_delay(3000000);
	for (int i = 0; i < tries && now == before && !err; i++) {
		int fd[2] = { -1, -1 };
		void *ok = NULL;
		pthread_t t;
		char c;

		if (pipe(fd) || pthread_create(&t, NULL, t_late_writer, &fd[1])) {
			err = -2;
		} else {
			mn_syscall_enter();
			if (read(fd[0], &c, 1) != 1)
				err = -2;
			mn_syscall_exit();
			pthread_join(t, &ok);
			if (!ok)
				err = -2;
		}
		for (int j = 0; j < 2; j++)
			if (fd[j] >= 0)
				close(fd[j]);
		if (before >= 0)
			now = t_counter("swaps");
	}
	mn_debug_exit_nop_delay(0);
	atomic_store(&t_flap_stop, true);
	mn_wg_wait(&t_flap_wg);
	if (err)
		return err;
	return before < 0 ? -1 : now - before;
}
#endif
