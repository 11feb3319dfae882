// SPDX-License-Identifier: MIT
/*
 * iohooks.c - the scheduler's I/O hooks when no I/O layer is built in.
 * uring.c provides the real ones (strong symbols override these); the
 * contract is in runtime.h.
 */
#include "runtime.h"

__attribute__((weak)) int mn_io_init(void)
{
	return 0;
}

__attribute__((weak)) struct mn_g *mn_io_poll(struct mn_p *p)
{
	return NULL;
}

__attribute__((weak)) struct mn_g *mn_io_poll_idle(struct mn_p *p)
{
	return NULL;
}

__attribute__((weak)) int mn_io_park(struct mn_m *m, int64_t timeout_ns,
				     struct mn_p **pp)
{
	return MN_IO_NOPARK;
}

__attribute__((weak)) void mn_io_acquired(struct mn_m *m, struct mn_p *p)
{
}

__attribute__((weak)) bool mn_io_inflight(struct mn_p *p)
{
	return false;
}

__attribute__((weak)) bool mn_io_pending(void)
{
	return false;
}

__attribute__((weak)) bool mn_io_sysmon(uint64_t now)
{
	return false;
}
