// SPDX-License-Identifier: MIT
/*
 * cputime - run a program, then print the CPU time it used (all its
 * threads, user + system, from wait4's rusage) as a last stdout line
 *	CPUTIME_NS <nanoseconds>
 * and exit with its status.  drivers/cpu_time uses it: on a shared, busy
 * host the CPU time of a run varies far less than its wall-clock time
 * (time spent waiting for a CPU is not in it).
 *
 *   cputime PROGRAM [ARG...]
 */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: cputime PROGRAM [ARG...]\n");
		return 64;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("cputime: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "cputime: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("cputime: wait4");
		return 1;
	}
	printf("CPUTIME_NS %lld\n",
	       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ll +
	       (long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ll);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
