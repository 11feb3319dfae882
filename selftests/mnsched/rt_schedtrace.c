// SPDX-License-Identifier: MIT
/* rt_schedtrace.c - MNSCHED_DEBUG=schedtrace=MS prints Go-style SCHED lines. */
#include <regex.h>
#include "mn_test.h"

static void busy_main(void *arg)
{
	uint64_t end = mn_now() + 350 * 1000000ull;

	while (mn_now() < end)
		mn_sleep(1000000);
}

static void child(void *arg)
{
	setenv("MNSCHED_DEBUG", arg, 1);
	setenv("MNPROCS", "2", 1);
	_exit(mn_main(busy_main, NULL) ? 1 : 0);
}

TEST(schedtrace_lines)
{
	char out[8192];
	regex_t re;
	int st, n = 0;
	char *line, *save;

	st = mn_test_child(child, "schedtrace=100", out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("stderr: %s", out);
	ASSERT_EQ(0, regcomp(&re, "^SCHED [0-9]+ms: procs=2 idleprocs=[0-2] threads=[0-9]+ "
			     "spinning=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+ \\[[0-9]+ [0-9]+\\]$",
			     REG_EXTENDED | REG_NOSUB));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "SCHED", 5) == 0) {
			ASSERT_EQ(0, regexec(&re, line, 0, NULL, 0)) TH_LOG("line: %s", line);
			n++;
		}
	/* 350 ms at 100 ms: three or four lines. */
	ASSERT_GE(n, 3);
	ASSERT_LE(n, 4);
}

TEST(bad_debug_setting_is_an_error)
{
	char out[1024];
	int st = mn_test_child(child, "schedtrace=fast", out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(1, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(out, "MNSCHED_DEBUG")) TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
