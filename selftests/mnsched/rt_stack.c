// SPDX-License-Identifier: MIT
/*
 * rt_stack.c - stack overflow is reported with the G's id and stack size
 * and aborts (guard page where the kernel has MADV_GUARD_INSTALL, canary
 * otherwise); one million parked Gs fit in the default vm.max_map_count.
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

	if (mn_test_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	if (!kernel_has_guard_install())
		SKIP(return, "kernel has no MADV_GUARD_INSTALL (6.13+)");
	st = mn_test_child(child, "guard", out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(SIGABRT, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mnsched: goroutine 2 overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

TEST(overflow_canary_names_the_g)
{
	char out[4096];
	int st;

	if (mn_test_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	/* The canary is checked when the G switches away: this G writes a
	 * frame bigger than its stack over the canary, then yields. */
	use_big_frame = true;
	st = mn_test_child(child, "canary", out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

TEST(overflow_big_frame_guard_mode)
{
	char out[4096];
	int st;

	if (mn_test_sanitized())
		SKIP(return, "ASan/TSan intercept SIGSEGV themselves");
	if (!kernel_has_guard_install())
		SKIP(return, "kernel has no MADV_GUARD_INSTALL (6.13+)");
	use_big_frame = true;
	st = mn_test_child(child, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "overflowed its 65536-byte stack"))
		TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
