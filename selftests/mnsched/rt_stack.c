// SPDX-License-Identifier: MIT
/*
 * rt_stack.c - stack overflow is reported with the G's id and stack size
 * and aborts (guard page where the kernel has MADV_GUARD_INSTALL, canary
 * otherwise); any other fault is reported with its address, pc, mapping, G
 * and M; one million parked Gs fit in the default vm.max_map_count.
 */
#include <sys/mman.h>
#include "mn_test.h"

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int n)
{
	volatile char pad[512];

	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

static void overflow_g(void *arg)
{
	recurse(0);
}

/* One frame larger than the stack, then a switch. */
static void big_frame_g(void *arg)
{
	volatile char big[62 << 10];

	memset((char *)big, 0xAA, sizeof(big));
	__asm__ volatile("" : : "r"(big) : "memory");	/* keep the stores */
	mn_yield();
}

static bool use_big_frame;

static void overflow_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 64 << 10, .name = "deep" };

	mn_go_opts(use_big_frame ? big_frame_g : overflow_g, NULL, &o);
	mn_sleep(1000000000ull);
}

static void child(void *arg)
{
	if (arg)
		setenv("MNSCHED_STACKGUARD", arg, 1);
	mn_main(overflow_main, NULL);
}

static bool kernel_has_guard_install(void)
{
	void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok = madvise(p, 4096, 102 /* MADV_GUARD_INSTALL */) == 0;

	munmap(p, 8192);
	return ok;
}

TEST(overflow_guard_page_names_the_g)
{
	char out[4096];
	int st;

	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	if (!kernel_has_guard_install())
		SKIP(return, "kernel has no MADV_GUARD_INSTALL (6.13+)");
	st = t_child(child, "guard", out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(SIGABRT, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mnsched: goroutine 2 overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

TEST(overflow_canary_names_the_g)
{
	char out[4096];
	int st;

	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	/* The canary is checked when the G switches away: this G writes a
	 * frame bigger than its stack over the canary, then yields. */
	use_big_frame = true;
	st = t_child(child, "canary", out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

TEST(overflow_big_frame_guard_mode)
{
	char out[4096];
	int st;

	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	if (!kernel_has_guard_install())
		SKIP(return, "kernel has no MADV_GUARD_INSTALL (6.13+)");
	use_big_frame = true;
	st = t_child(child, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

/* ---- stack clash: frames larger than the guard ---- */

static struct mn_chan *hold;

static void parked(void *arg)
{
	mn_chan_recv(hold, NULL);
}

/*
 * A 72 KiB frame in a 64 KiB stack: its far end lies in the slot below,
 * past the guard and the canary.  It writes there (another G's stack) and
 * enters the scheduler from inside the frame.
 */
static void __attribute__((noinline)) clash_frame(void)
{
	volatile char big[72 << 10];

	big[0] = 1;			/* in the neighbouring slot */
	big[sizeof(big) - 1] = 1;
	mn_yield();
	__asm__ volatile("" : : "r"(big) : "memory");
}

static void clash_g(void *arg)
{
	clash_frame();
}

/* Recursion with 6 KiB frames: each frame is bigger than a 4 KiB guard. */
#pragma GCC diagnostic ignored "-Wstack-usage="
static int __attribute__((noinline)) recurse6k(int n)
{
	volatile char pad[6 << 10];

	pad[0] = (char)n;
	return recurse6k(n + 1) + pad[0];
}

static void deep6k_g(void *arg)
{
	recurse6k(0);
}

static int clash_shape;

static void clash_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 64 << 10, .name = "clash" };

	hold = mn_chan_new(0, 0);
	/* Live neighbours: the G under test is not alone in its arena. */
	for (int i = 0; i < 4; i++)
		mn_go_opts(parked, NULL, &(struct mn_go_opts){ .stack_size = 64 << 10 });
	mn_go_opts(clash_shape ? deep6k_g : clash_g, NULL, &o);
	mn_sleep(1000 * 1000000ull);
	fprintf(stderr, "main G: the clash went unnoticed\n");
	_exit(0);	/* a silent clash exits 0 */
}

static void clash_child(void *arg)
{
	alarm(20);
	if (arg)
		setenv("MNSCHED_STACKGUARD", arg, 1);
	setenv("MNPROCS", "1", 1);
	mn_main(clash_main, NULL);
}

static void check_clash(struct __test_metadata *_metadata, int shape,
			const char *mode)
{
	char out[4096];
	int st;

	clash_shape = shape;
	st = t_child(clash_child, (void *)mode, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
		TH_LOG("%s mode: status %#x: %s", mode, st, out);
	ASSERT_NE(NULL, strstr(out, "mnsched: goroutine 6 overflowed its 65536-byte stack"))
		TH_LOG("%s mode: stderr: %s", mode, out);
}

TEST(frame_larger_than_the_guard_names_the_g)
{
	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	check_clash(_metadata, 0, "canary");
	if (kernel_has_guard_install())
		check_clash(_metadata, 0, "guard");
}

TEST(recursion_with_6k_frames_names_the_g)
{
	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	check_clash(_metadata, 1, "canary");
	if (kernel_has_guard_install())
		check_clash(_metadata, 1, "guard");
}

/* ---- a fault that is no overflow ---- */

static void null_g(void *arg)
{
	/* A field of a struct at NULL, as a stray pointer reads it. */
	mn_yield();
	(void)*(volatile long *)((char *)arg + 8);
}

static void null_main(void *arg)
{
	mn_go(null_g, NULL);
	mn_sleep(1000000000ull);
}

static void null_child(void *arg)
{
	mn_main(null_main, NULL);
}

/*
 * Says where it faulted (the address, the pc and the mapping that holds
 * it, for addr2line under ASLR) and on which G and M, then dies of the
 * signal as without the runtime's handler (the default action: a core).
 */
TEST(fault_names_the_g_and_the_pc)
{
	char out[4096], exe[4096], *map;
	ssize_t n;
	int st;

	if (t_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	st = t_child(null_child, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(SIGSEGV, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mnsched: segmentation fault at 0x8, pc 0x"))
		TH_LOG("stderr: %s", out);
	ASSERT_NE(NULL, strstr(out, ", in goroutine 2 (M ")) TH_LOG("stderr: %s", out);
	/* The pc is in this program's text: the line names its file. */
	map = strstr(out, "mnsched:   pc is in ");
	ASSERT_NE(NULL, map) TH_LOG("stderr: %s", out);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = 0;
	EXPECT_NE(NULL, strstr(map, " r-xp ")) TH_LOG("stderr: %s", out);
	EXPECT_NE(NULL, strstr(map, exe)) TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
