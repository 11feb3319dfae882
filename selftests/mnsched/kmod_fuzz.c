// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_fuzz.c - random ioctls and mmaps on /dev/mnsched: every call must
 * return, the device must keep working, the kernel must not complain
 * (the VM checks dmesg after the run) and nothing may leak.
 */
#include "kselftest_harness.h"
#include "kmod_util.h"

static const unsigned long cmds[] = {
	MNSCHED_IOC_VERSION, MNSCHED_IOC_CONFIG, MNSCHED_IOC_REGISTER,
	MNSCHED_IOC_PARK, MNSCHED_IOC_UNPARK, MNSCHED_IOC_SWAP,
	MNSCHED_IOC_SET_P, MNSCHED_IOC_SPARE, MNSCHED_IOC_UNREGISTER,
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const int64_t timeouts[] = { 0, 1, 1000, 100000, -1, INT64_MIN, INT64_MAX };

/* Random but bounded in time: waits are short or woken by the unparker. */
static void fill_arg(uint64_t *s, unsigned char *buf, size_t n, unsigned long cmd)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = xs(s);
	switch (xs(s) % 4) {
	case 0:
		memset(buf, 0, n);
		break;
	case 1:
		buf[xs(s) % n] = 0;
		break;
	default:
		break;
	}
	if (cmd == MNSCHED_IOC_PARK || cmd == MNSCHED_IOC_SPARE) {
		int64_t t = timeouts[xs(s) % 7];

		/* Unbounded waits are rare: the unparker ends them. */
		if ((t == -1 || t == INT64_MIN || t == INT64_MAX) && xs(s) % 16)
			t = 200000;
		memcpy(buf, &t, 8);
	} else if (cmd == MNSCHED_IOC_SWAP) {
		int64_t t = xs(s) % 300000;

		memcpy(buf + 8, &t, 8);
		if (xs(s) & 1)
			memset(buf, 0, 4);
	} else if (cmd == MNSCHED_IOC_CONFIG && (xs(s) & 1)) {
		uint32_t p = xs(s) % 300;

		memcpy(buf, &p, 4);
	}
}

struct fuzz {
	int fd;
	int n;
	uint64_t seed;
	volatile int stop;
	long id;
	long calls;
	long odd_errors;
};

static void *unparker(void *arg)
{
	struct fuzz *f = arg;
	int i;

	/* Wakes waits with long or infinite timeouts, including SPARE. */
	while (!f[0].stop) {
		for (i = 0; i < 4; i++)
			mn_unpark(f[i].fd, __atomic_load_n(&f[i].id, __ATOMIC_RELAXED));
		mn_sleep_ns(500000);
	}
	return NULL;
}

static int errno_ok(long r)
{
	switch (r) {
	case -EINVAL: case -EFAULT: case -ESRCH: case -EPERM: case -ENOTTY:
	case -EBUSY: case -ETIMEDOUT: case -EINTR: case -ENOSPC:
		return 1;
	}
	return r >= 0;
}

static void *fuzzer(void *arg)
{
	struct fuzz *f = arg;
	unsigned char buf[64];
	uint64_t s = f->seed;
	unsigned long cmd, a;
	int i, ps = getpagesize();

	/* f->n ioctls, with random mmaps in between. */
	for (i = 0; i < f->n && !f->stop;) {
		long r;

		if (xs(&s) % 64 == 0) {
			/* Random mapping. */
			size_t len = (xs(&s) % 6) * ps;
			off_t off = (off_t)(xs(&s) % 6) * ps;
			int prot = xs(&s) % 8;
			int flags = xs(&s) & 1 ? MAP_SHARED : MAP_PRIVATE;
			void *m = mmap(NULL, len ? len : 1, prot, flags, f->fd, off);

			if (m != MAP_FAILED) {
				if (prot & PROT_WRITE)
					memset(m, 0xff, len ? len : 1);
				munmap(m, len ? len : 1);
			}
			continue;
		}
		switch (xs(&s) % 8) {
		case 0:
			/* Random command number, mostly with our magic. */
			cmd = xs(&s) & 0xffffffffu;
			if (xs(&s) & 1)
				cmd = (cmd & ~0xff00ul) | (MNSCHED_IOC_MAGIC << 8);
			break;
		default:
			cmd = cmds[xs(&s) % NCMDS];
			break;
		}
		fill_arg(&s, buf, sizeof(buf), cmd);
		switch (xs(&s) % 8) {
		case 0:
			a = 0;
			break;
		case 1:
			a = xs(&s);
			break;
		case 2:
			a = 0xffff888000000000ull + (xs(&s) & 0xffff);
			break;
		case 3:
			a = xs(&s) % 70;
			break;
		case 4:
			a = (unsigned long)-1;
			break;
		default:
			a = (unsigned long)buf;
			break;
		}
		/* Value commands take small numbers most of the time. */
		if ((cmd == MNSCHED_IOC_UNPARK || cmd == MNSCHED_IOC_SET_P) && (xs(&s) & 1))
			a = xs(&s) % 12 - 1;
		r = mn_ioc(f->fd, cmd, a);
		i++;
		if (cmd == MNSCHED_IOC_REGISTER && r >= 0)
			__atomic_store_n(&f->id, r, __ATOMIC_RELAXED);
		if (!errno_ok(r))
			__atomic_add_fetch(&f->odd_errors, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run_fuzz(struct __test_metadata *_metadata, int threads, int per_thread)
{
	struct fuzz f[4];
	pthread_t t[4], u;
	long base, calls = 0, odd = 0;
	int fd, i;

	base = mn_counter_base("allocated");
	fd = mn_open();
	ASSERT_LE(0, fd);
	memset(f, 0, sizeof(f));
	for (i = 0; i < 4; i++) {
		f[i].fd = fd;
		f[i].id = -1;
		f[i].n = per_thread;
		f[i].seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)mn_now();
	}
	ASSERT_EQ(0, pthread_create(&u, NULL, unparker, &f[0]));
	for (i = 0; i < threads; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fuzzer, &f[i]));
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		calls += f[i].calls;
		odd += f[i].odd_errors;
	}
	f[0].stop = 1;
	pthread_join(u, NULL);
	TH_LOG("%ld ioctls, %ld unexpected errors", calls, odd);
	EXPECT_EQ(0, odd);
	/* Still works. */
	{
		struct mnsched_version v;

		EXPECT_EQ(0, mn_ioc_p(fd, MNSCHED_IOC_VERSION, &v));
	}
	close(fd);
	if (base >= 0)
		EXPECT_EQ(base, mn_counter_wait("allocated", base, 3000));
}

FIXTURE(fz) {
	int unused;
};

FIXTURE_SETUP(fz)
{
	if (access(MNSCHED_DEVICE, F_OK))
		SKIP(return, MNSCHED_DEVICE " is absent (module not loaded)");
}

FIXTURE_TEARDOWN(fz)
{
}

TEST_F_TIMEOUT(fz, fuzz_100k, 240)
{
	run_fuzz(_metadata, 1, 100000);
}

/* 100,000 calls from four threads on one file, racing each other. */
TEST_F_TIMEOUT(fz, fuzz_threads, 240)
{
	run_fuzz(_metadata, 4, 25000);
}

TEST_HARNESS_MAIN
