// SPDX-License-Identifier: MIT
/*
 * rt_schedtrace.c - MNSCHED_DEBUG=schedtrace=MS prints Go-style SCHED
 * lines; the runtime's environment variables are parsed strictly (env.c).
 */
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

	st = t_child(child, "schedtrace=100", out, sizeof(out));
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
	int st = t_child(child, "schedtrace=fast", out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(1, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(out, "MNSCHED_DEBUG")) TH_LOG("stderr: %s", out);
}

/* A long MNSCHED_DEBUG is parsed whole, and a bad one says so. */
TEST(long_debug_setting_is_parsed_whole)
{
	char val[600] = "", out[2048];
	int st;

	while (strlen(val) < 300)
		strcat(val, "deadlock=1,spare=1,");
	strcat(val, "schedtrace=100");
	st = t_child(child, val, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("valid %zu-character MNSCHED_DEBUG: status %#x, stderr: %s",
		       strlen(val), st, out);
	ASSERT_NE(NULL, strstr(out, "SCHED ")) TH_LOG("stderr: %s", out);
	strcat(val, "ms");
	st = t_child(child, val, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) TH_LOG("status %#x", st);
	ASSERT_NE(NULL, strstr(out, "MNSCHED_DEBUG: bad setting 'schedtrace=100ms'"))
		TH_LOG("stderr: %s", out);
}

/* Numbers are strict: no sign, no spaces, no suffix; each error names
 * its variable. */
static void nothing(void *arg)
{
}

static void run_env(void *arg)
{
	const char *const *kv = arg;

	setenv(kv[0], kv[1], 1);
	_exit(mn_main(nothing, NULL) == -EINVAL ? 0 : 1);
}

TEST(numbers_in_the_environment_are_strict)
{
	static const char *const bad[][2] = {
		{ "MNPROCS", "2x" }, { "MNPROCS", "+2" }, { "MNPROCS", " 2" },
		{ "MNPROCS", "99999999999999999999" },
		{ "MNSCHED_IO_ENTRIES", "64junk" }, { "MNSCHED_IO_ENTRIES", "-64" },
		{ "MNSCHED_IO_ENTRIES", "48" },
		{ "MNSCHED_DEBUG", "schedtrace=-1" }, { "MNSCHED_DEBUG", "deadlock=2" },
		{ "MNSCHED_DEBUG", "spare" }, { "MNSCHED_DEBUG", "nosuch=1" },
		{ "MNSCHED_PARK", "kmodx" }, { "MNSCHED_STACKGUARD", "" },
	};
	char out[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = t_child(run_env, (void *)bad[i], out, sizeof(out));

		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("%s=\"%s\" was accepted (status %#x)", bad[i][0],
			       bad[i][1], st);
		EXPECT_NE(NULL, strstr(out, bad[i][0]))
			TH_LOG("%s=\"%s\": no message naming it: %s", bad[i][0],
			       bad[i][1], out);
	}
}

TEST_HARNESS_MAIN
