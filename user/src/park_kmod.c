// SPDX-License-Identifier: MIT
/*
 * park_kmod.c - the parker backed by mnsched.ko (/dev/mnsched).
 *
 * init opens the device, checks the ABI, sets the number of Ps and maps the
 * module's P pages: the runtime's shared P structs then live in kernel-
 * allocated, node-local pages the module reads and writes (state, blocked
 * flag, counters).  Every M registers on its own thread.
 *
 *   park       PARK ioctl (token semantics, kept by the module)
 *   unpark     UNPARK ioctl
 *   swap       SWAP ioctl: wake a target M and park in one call
 *   set_p      SET_P ioctl: which P this M holds, so the module knows whose
 *              P to hand off when the M blocks in state SYSCALL
 *              (lazily, at system call entry: mn_kernel_p_set in proc.c)
 *   park_spare SPARE ioctl: an idle M waits as a spare; it returns either
 *              unparked (p = -1) or holding the P of an M that just blocked
 *              in a system call (see take_handed_p in proc.c)
 *   preempt    PREEMPT ioctl: the module preempts this M's overrunning Gs
 *              (the thread's mark address and the slice; -ENOTTY from a
 *              module without it: sysmon's signal then, preempt.c)
 *   rejoin     REJOIN ioctl: the module preempted this M, which rejoins
 *
 * All ioctls go through mn_syscall (sys.h): errno is never touched.
 * A signal makes PARK/SPARE return -EINTR: that is a spurious wake-up, the
 * caller re-checks and parks again.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime.h"
#include "sys.h"

static int kfd = -1;

static long kioctl(unsigned long req, long arg)
{
	return mn_syscall3(SYS_ioctl, kfd, req, arg);
}

static int kmod_init(int nprocs)
{
	MN_MARK();
	struct mnsched_version v;
	struct mnsched_config c = { .nr_p = (uint32_t)nprocs };
	void *map;
	long r;

	r = mn_syscall3(SYS_open, MNSCHED_DEVICE, O_RDWR | O_CLOEXEC, 0);
	if (r < 0)
		return (int)r;
	kfd = (int)r;
	r = kioctl(MNSCHED_IOC_VERSION, (long)&v);
	if (r == 0 && v.abi != MNSCHED_ABI_VERSION)
		r = -EPROTO;
	if (r == 0 && (uint32_t)nprocs > v.max_p)
		r = -E2BIG;
	if (r == 0)
		r = kioctl(MNSCHED_IOC_CONFIG, (long)&c);
	if (r) {
		mn_syscall3(SYS_close, kfd, 0, 0);
		kfd = -1;
		return (int)r;
	}
	map = mmap(NULL, c.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, kfd, 0);
	if (map == MAP_FAILED) {
		mn_syscall3(SYS_close, kfd, 0, 0);
		kfd = -1;
		return -ENOMEM;
	}
	mn_sched.pstates = map;
	mn_sched.pstate_stride = v.page_size;
	return 0;
}

static int kmod_m_init(struct mn_park_state *ps)
{
	long id = kioctl(MNSCHED_IOC_REGISTER, 0);

	if (id < 0)
		return (int)id;
	MN_RELAXED_SET(ps->kid, (int)id);	/* sysmon reads it (p_tid) */
	return 0;
}

static int kmod_park(struct mn_park_state *ps, int64_t timeout_ns)
{
	struct mnsched_park a = { .timeout_ns = timeout_ns };
	long r = kioctl(MNSCHED_IOC_PARK, (long)&a);

	return r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

static void kmod_unpark(struct mn_park_state *ps)
{
	kioctl(MNSCHED_IOC_UNPARK, ps->kid);
}

static int kmod_swap(struct mn_park_state *self, struct mn_park_state *target,
		     int64_t timeout_ns)
{
	struct mnsched_swap a = { .target = (uint32_t)target->kid,
				  .timeout_ns = timeout_ns };
	long r = kioctl(MNSCHED_IOC_SWAP, (long)&a);

	return r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

static void kmod_set_p(struct mn_park_state *ps, int p)
{
	kioctl(MNSCHED_IOC_SET_P, p);
}

static int kmod_park_spare(struct mn_park_state *ps, int64_t timeout_ns, int *p)
{
	struct mnsched_spare a = { .timeout_ns = timeout_ns, .p = -1 };
	long r = kioctl(MNSCHED_IOC_SPARE, (long)&a);

	*p = r == 0 ? a.p : -1;
	return r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

static int kmod_preempt(struct mn_park_state *ps,
			const struct mnsched_preempt *a)
{
	return (int)kioctl(MNSCHED_IOC_PREEMPT, (long)a);
}

static void kmod_rejoin(struct mn_park_state *ps)
{
	kioctl(MNSCHED_IOC_REJOIN, 0);
}

const struct mn_parker mn_parker_kmod MN_HIDDEN = {
	.name = "kmod",
	.init = kmod_init,
	.m_init = kmod_m_init,
	.park = kmod_park,
	.unpark = kmod_unpark,
	.swap = kmod_swap,
	.set_p = kmod_set_p,
	.park_spare = kmod_park_spare,
	.preempt = kmod_preempt,
	.rejoin = kmod_rejoin,
};
