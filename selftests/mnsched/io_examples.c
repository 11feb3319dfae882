// SPDX-License-Identifier: MIT
/*
 * io_examples.c - the example programs of user/examples/, run as they are
 * (build/examples/, or $MN_EXAMPLES_DIR), on the I/O path of this run
 * (MNSCHED_IO is inherited): echo_server under loadclient with 1,000
 * connections (every echo checked by the client), http_hello answering
 * keep-alive and pipelined requests, mncp copying a file larger than its
 * chunks.  No runtime in this process: it forks the examples.
 */
#include <signal.h>
#include <sys/stat.h>
#include "io_util.h"

static char dir[1024];

static bool have(const char *name)
{
	char p[1200];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, X_OK) == 0;
}

static void find_dir(void)
{
	const char *d = getenv("MN_EXAMPLES_DIR");

	snprintf(dir, sizeof(dir), "%s", d ? d : "build/examples");
}

/* Start dir/name with args; stdout to out (if not NULL).  The pid. */
static pid_t spawn(const char *name, char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		char p[1200];

		snprintf(p, sizeof(p), "%s/%s", dir, name);
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			dup2(fd, 1);
		}
		execv(p, argv);
		_exit(127);
	}
	return pid;
}

/* A free loopback port (below the ephemeral range). */
static int free_port(void)
{
	int port = 0, fd = io_listen(&port, 1);

	close(fd);
	return port;
}

static int dial_plain(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		usleep(10000);
	}
	return -1;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

TEST(echo_server_with_loadclient_1000_connections)
{
	char port[16], out[] = "/tmp/mnsched-io-examples-XXXXXX", line[512] = "";
	pid_t srv, cli;
	int st, fd;
	FILE *f;

	find_dir();
	if (!have("echo_server") || !have("loadclient"))
		SKIP(return, "examples not built (make examples)");
	io_raise_nofile();
	snprintf(port, sizeof(port), "%d", free_port());
	srv = spawn("echo_server", (char *[]){ "echo_server", port, NULL }, NULL);
	fd = dial_plain(atoi(port));
	ASSERT_LE(0, fd);
	close(fd);
	close(mkstemp(out));
	cli = spawn("loadclient", (char *[]){ "loadclient", "-c", "1000", "-d", "2",
		    port, NULL }, out);
	waitpid(cli, &st, 0);
	stop(srv);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	f = fopen(out, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	fclose(f);
	unlink(out);
	fprintf(stderr, "# %s: %s", io_path(), line);
	ASSERT_NE(NULL, strstr(line, "1000 connections"));
	ASSERT_NE(NULL, strstr(line, "errors 0"));
	ASSERT_EQ(NULL, strstr(line, ": 0 round trips/s"));
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(http_hello_keep_alive_and_pipelining)
{
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char port[16], buf[8192], three[512];
	size_t got = 0;
	pid_t srv;
	int fd;

	find_dir();
	if (!have("http_hello"))
		SKIP(return, "examples not built (make examples)");
	snprintf(port, sizeof(port), "%d", free_port());
	srv = spawn("http_hello", (char *[]){ "http_hello", port, NULL }, NULL);
	fd = dial_plain(atoi(port));
	ASSERT_LE(0, fd);
	/* One request, then three pipelined in one write, the last asking
	 * to close: four answers, then EOF. */
	ASSERT_EQ((ssize_t)strlen(req), write(fd, req, strlen(req)));
	snprintf(three, sizeof(three), "%s%s%s", req, req,
		 "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	usleep(20000);
	ASSERT_EQ((ssize_t)strlen(three), write(fd, three, strlen(three)));
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	close(fd);
	stop(srv);
	ASSERT_EQ(4, count(buf, "HTTP/1.1 200 OK"));
	ASSERT_EQ(4, count(buf, "Hello, World!"));
}

TEST(mncp_copies_a_file_larger_than_its_chunks)
{
	char src[] = "/tmp/mnsched-mncp-src-XXXXXX", dst[] = "/tmp/mnsched-mncp-dst-XXXXXX";
	size_t size = (5 << 20) + 12345;
	char *a = malloc(size), *b = malloc(size);
	pid_t pid;
	int st, fd;

	find_dir();
	if (!have("mncp"))
		SKIP(return, "examples not built (make examples)");
	for (size_t i = 0; i < size; i++)
		a[i] = (char)(i * 31 + (i >> 13));
	fd = mkstemp(src);
	ASSERT_EQ((ssize_t)size, write(fd, a, size));
	close(fd);
	close(mkstemp(dst));
	pid = spawn("mncp", (char *[]){ "mncp", "-g", "8", "-b", "64", src, dst, NULL },
		    "/dev/null");
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	fd = open(dst, O_RDONLY);
	ASSERT_EQ((ssize_t)size, read(fd, b, size));
	close(fd);
	ASSERT_EQ(0, memcmp(a, b, size));
	unlink(src);
	unlink(dst);
	free(a);
	free(b);
}

TEST_HARNESS_MAIN
