// SPDX-License-Identifier: MIT
/*
 * park_futex.c - the futex parker: always available.
 *
 * word: 0 empty, 1 token, 2 an M sleeps on it.
 *  park:   take a token if there is one (1 -> 0) and return; else announce
 *          sleeping (0 -> 2) and FUTEX_WAIT while the word is 2.
 *  unpark: exchange to 1; if it was 2, FUTEX_WAKE.
 * An unpark between the park's check and its FUTEX_WAIT changes the word,
 * so the wait returns at once (EAGAIN): no lost wake-up.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

static int futex_init(int nprocs)
{
	(void)nprocs;
	return 0;
}

static int futex_m_init(struct mn_park_state *ps)
{
	atomic_store(&ps->word, 0);
	MN_RELAXED_SET(ps->kid, -1);	/* sysmon reads it (p_tid) */
	return 0;
}

static int futex_park(struct mn_park_state *ps, int64_t timeout_ns)
{
	uint32_t one = 1, zero = 0;
	struct timespec ts, *tsp = NULL;
	int ret = 0;

	if (atomic_compare_exchange_strong(&ps->word, &one, 0))
		return 0;
	if (!atomic_compare_exchange_strong(&ps->word, &zero, 2)) {
		atomic_store(&ps->word, 0);	/* a token arrived: consume it */
		return 0;
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	while (atomic_load(&ps->word) == 2) {
		if (mn_futex(&ps->word, FUTEX_WAIT_PRIVATE, 2, tsp) == -ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
		/* EINTR or a spurious return with the word still 2: a relative
		 * timeout restarts, which only makes us later, never early. */
		if (tsp)
			break;
	}
	/* Consume the token, or withdraw the announcement.  A token that
	 * raced with the timeout still counts as a wake-up. */
	if (atomic_exchange(&ps->word, 0) == 1)
		ret = 0;
	return ret;
}

static void futex_unpark(struct mn_park_state *ps)
{
	if (atomic_exchange(&ps->word, 1) == 2)
		mn_futex(&ps->word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* No single futex call does both: wake, then wait. */
static int futex_swap(struct mn_park_state *self, struct mn_park_state *target,
		      int64_t timeout_ns)
{
	futex_unpark(target);
	return futex_park(self, timeout_ns);
}

const struct mn_parker mn_parker_futex MN_HIDDEN = {
	.name = "futex",
	.init = futex_init,
	.m_init = futex_m_init,
	.park = futex_park,
	.unpark = futex_unpark,
	.swap = futex_swap,
};
