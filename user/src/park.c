// SPDX-License-Identifier: MIT
/*
 * park.c - choose the parker backend (park.h): MNSCHED_PARK=auto|futex|kmod,
 * and with the module, whether idle Ms wait as spares (MNSCHED_DEBUG=spare).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

int mn_parker_select(void)
{
	int mode = mn_sched.env.park;	/* env.c checked it */
	bool want_kmod = mode == MN_PARK_KMOD;
	int err;

	if (mode != MN_PARK_FUTEX) {
		err = mn_parker_kmod.init(mn_sched.nprocs);
		if (err == 0) {
			mn_sched.parker = &mn_parker_kmod;
			if (mn_sched.spare_off) {
				/* MNSCHED_DEBUG=spare=0: idle Ms PARK; the module
				 * still marks blocked Ps, sysmon retakes them. */
				static struct mn_parker nospare;

				nospare = mn_parker_kmod;
				nospare.park_spare = NULL;
				mn_sched.parker = &nospare;
			}
			return 0;
		}
		if (want_kmod) {
			fprintf(stderr, "mnsched: MNSCHED_PARK=kmod: cannot use %s: %s\n",
				MNSCHED_DEVICE, strerror(-err));
			return err;
		}
	}
	mn_sched.parker = &mn_parker_futex;
	return mn_parker_futex.init(mn_sched.nprocs);
}
