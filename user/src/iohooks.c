// SPDX-License-Identifier: MIT
/*
 * iohooks.c - the scheduler's I/O hooks when no I/O layer is built in.
 * uring.c provides the real ones (strong symbols override these).
 */
#include "runtime.h"

__attribute__((weak)) int mn_io_init(void);
__attribute__((weak)) int mn_io_init(void)
{
	return 0;
}

__attribute__((weak)) struct mn_g *mn_io_poll(struct mn_p *p, int64_t timeout_ns)
{
	(void)p;
	(void)timeout_ns;
	return NULL;
}

__attribute__((weak)) bool mn_io_pending(void)
{
	return false;
}
