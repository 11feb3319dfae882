// SPDX-License-Identifier: MIT
/*
 * rt_fork.c - fork() from a G.  As in Go, the child may only exec or
 * _exit: those work while the parent's Gs keep running, the child does not
 * map the parent's P structs or io_uring rings (shared memory), and any
 * runtime call in the child aborts with a message naming the call, instead
 * of fighting the parent's Ms for the parent's Ps and hanging or dying of
 * a bare SIGSEGV.
 */
#include <sys/wait.h>
#include "mn_test.h"

static atomic_int stop, rounds;
static struct mn_chan *ping, *pong;

/* Busy Gs in the parent, so forks happen while Ms and Ps are in use. */
static void pinger(void *arg)
{
	long v = 0;

	while (!atomic_load(&stop)) {
		mn_chan_send(ping, &v);
		mn_chan_recv(pong, &v);
		atomic_fetch_add(&rounds, 1);
	}
	v = -1;
	mn_chan_send(ping, &v);
}

static void ponger(void *arg)
{
	long v;

	while (mn_chan_recv(ping, &v) == 1 && v >= 0)
		mn_chan_send(pong, &v);
}

/* waitpid from a G: a blocking call, so bracketed. */
static int wait_child(pid_t pid)
{
	int st = 0;

	mn_syscall_enter();
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	mn_syscall_exit();
	return st;
}

/* In the child: are the parent's P structs or rings still mapped? */
static bool mapped_in_child(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "mnsched-pstates") || strstr(line, "io_uring") ||
		    strstr(line, "/dev/mnsched"))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static void exec_main(void *arg)
{
	ping = mn_chan_new(sizeof(long), 0);
	pong = mn_chan_new(sizeof(long), 0);
	mn_go(ponger, NULL);
	mn_go(pinger, NULL);
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			if (i % 2)
				_exit(mapped_in_child() ? 6 : 5);
			execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
			_exit(127);
		}
		G_ASSERT(pid > 0);
		st = wait_child(pid);
		G_ASSERT(WIFEXITED(st));
		G_ASSERT_EQ(WEXITSTATUS(st), i % 2 ? 5 : 7);
		mn_yield();
	}
	/* The parent's runtime is untouched: its Gs go on. */
	int before = atomic_load(&rounds);

	while (atomic_load(&rounds) < before + 1000)
		mn_yield();
	atomic_store(&stop, 1);
}

TEST(fork_child_that_execs_or_exits_works)
{
	ASSERT_EQ(0, t_main("MNPROCS", "2", exec_main, NULL));
}

/* ---- any runtime call in the child aborts naming it ---- */

static void nop(void *arg)
{
}

enum { C_SYSCALL, C_SEND, C_SLEEP, C_GO, C_YIELD, C_READ, C_WAKE, C_SEGV, C__N };
static const char *const child_call[C__N] = {
	"mn_syscall_enter", "mn_chan_send", "mn_sleep", "mn_go", "mn_yield",
	"mn_read", "a call that wakes a goroutine",
	"segmentation fault",	/* not a call: SIGSEGV, and the handler says so */
};

static struct mn_chan *waiting;
static int *volatile nowhere;		/* NULL, unknown to the compiler */

static void waiter(void *arg)
{
	int v;

	mn_chan_recv(waiting, &v);
}

static void call_in_child(int which)
{
	int v = 1, fds[2];
	char b;

	switch (which) {
	case C_SYSCALL:
		mn_syscall_enter();
		mn_syscall_exit();
		break;
	case C_SEND:
		mn_chan_send(waiting, &v);
		break;
	case C_SLEEP:
		mn_sleep(1000000);
		break;
	case C_GO:
		mn_go(nop, NULL);
		break;
	case C_YIELD:
		mn_yield();
		break;
	case C_READ:
		if (pipe(fds) == 0 && write(fds[1], "x", 1) == 1)
			mn_read(fds[0], &b, 1);
		break;
	case C_WAKE:
		/* Hands the value to the parent's waiting G: wakes it. */
		mn_chan_try_send(waiting, &v);
		break;
	case C_SEGV:
		*(volatile int *)nowhere = 0;
		break;
	}
}

static void child_calls_main(void *arg)
{
	int which = (int)(intptr_t)arg, pfd[2], st;
	char out[2048];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	waiting = mn_chan_new(sizeof(int), 0);
	mn_go(waiter, NULL);		/* blocks in recv: a G to wake */
	G_ASSERT(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		alarm(5);	/* a child that hangs dies of SIGALRM */
		call_in_child(which);
		fprintf(stderr, "the call returned in the child\n");
		_exit(0);
	}
	G_ASSERT(pid > 0);
	close(pfd[1]);
	while (n + 1 < sizeof(out) &&
	       (r = mn_read(pfd[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(pfd[0]);
	st = wait_child(pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != (which == C_SEGV ? SIGSEGV : SIGABRT) ||
	    !strstr(out, which == C_SEGV ? "in a child process after fork(): the child" :
		    "called in a child process after fork()") ||
	    !strstr(out, child_call[which])) {
		fprintf(stderr, "%s in a fork child: status %#x, stderr: %s\n",
			child_call[which], st, out);
		_exit(1);
	}
	/* The parent is fine: its waiting G can still be woken. */
	G_ASSERT_EQ(mn_chan_send(waiting, &which), 0);
}

TEST(fork_child_calling_the_runtime_aborts_naming_the_call)
{
	for (int i = 0; i < C__N; i++) {
		pid_t pid;
		int st;

		if (i == C_SEGV && t_sanitized())
			continue;	/* ASan/TSan take SIGSEGV themselves */
		pid = fork();
		if (pid == 0) {
			/* One P: the waiter has surely blocked when main forks. */
			setenv("MNPROCS", "1", 1);
			_exit(mn_main(child_calls_main, (void *)(intptr_t)i) ? 3 : 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("%s: status %#x", child_call[i], st);
	}
}

TEST_HARNESS_MAIN
