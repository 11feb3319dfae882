// SPDX-License-Identifier: MIT
/*
 * io_file.c - regular files: a copy by many Gs of a file much larger than
 * each G's buffer (pread/pwrite at offsets, every byte checked), sequential
 * mn_read/mn_write through the file position, and file I/O that does not
 * stop other Gs on a single P.
 */
#include <sys/stat.h>
#include "io_util.h"

#define FILE_SIZE	(24 << 20)
#define CHUNK		(64 << 10)	/* each G's buffer */
#define NG		32

static int src, dst;
static atomic_long next_chunk;
static struct mn_wg wg = MN_WG_INIT;

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *buf = malloc(1 << 20);

	for (size_t off = 0; off < size; off += 1 << 20) {
		for (int i = 0; i < (1 << 20); i += 8)
			*(uint64_t *)(buf + i) = (off + (size_t)i) * 0x9E3779B97F4A7C15ull;
		if (write(fd, buf, 1 << 20) != 1 << 20)
			abort();
	}
	free(buf);
	close(fd);
}

static void copier(void *arg)
{
	char *buf = malloc(CHUNK);

	for (;;) {
		long c = atomic_fetch_add(&next_chunk, 1);
		off_t off = (off_t)c * CHUNK;
		size_t done = 0;

		if (off >= FILE_SIZE)
			break;
		/* Short reads are allowed: loop until the chunk is in. */
		while (done < CHUNK) {
			ssize_t n = mn_pread(src, buf + done, CHUNK - done,
					     off + (off_t)done);

			G_ASSERT(n > 0);
			done += (size_t)n;
		}
		for (done = 0; done < CHUNK;) {
			ssize_t n = mn_pwrite(dst, buf + done, CHUNK - done,
					      off + (off_t)done);

			G_ASSERT(n > 0);
			done += (size_t)n;
		}
	}
	free(buf);
	mn_wg_done(&wg);
}

static void copy_main(void *arg)
{
	char sp[] = "/tmp/mnsched-io-file-src-XXXXXX";
	char dp[] = "/tmp/mnsched-io-file-dst-XXXXXX";
	char *a = malloc(1 << 20), *b = malloc(1 << 20);
	struct stat st;
	int fa, fb;

	close(mkstemp(sp));
	close(mkstemp(dp));
	make_file(sp, FILE_SIZE);
	src = mn_openat(AT_FDCWD, sp, O_RDONLY | O_CLOEXEC, 0);
	dst = mn_openat(AT_FDCWD, dp, O_WRONLY | O_TRUNC | O_CLOEXEC, 0);
	G_ASSERT(src >= 0 && dst >= 0);
	mn_wg_add(&wg, NG);
	for (int i = 0; i < NG; i++)
		mn_go(copier, NULL);
	mn_wg_wait(&wg);
	G_ASSERT_EQ(mn_fsync(dst), 0);
	G_ASSERT_EQ(mn_close(src), 0);
	G_ASSERT_EQ(mn_close(dst), 0);
	G_ASSERT_EQ(stat(dp, &st), 0);
	G_ASSERT_EQ(st.st_size, FILE_SIZE);
	/* Compare through mn_read: sequential, the file position moves. */
	fa = mn_openat(AT_FDCWD, sp, O_RDONLY | O_CLOEXEC, 0);
	fb = mn_openat(AT_FDCWD, dp, O_RDONLY | O_CLOEXEC, 0);
	for (;;) {
		ssize_t na = mn_read(fa, a, 1 << 20), nb, got = 0;

		G_ASSERT(na >= 0);
		while (got < na) {
			nb = mn_read(fb, b + got, (size_t)(na - got));
			G_ASSERT(nb > 0);
			got += nb;
		}
		G_ASSERT(memcmp(a, b, (size_t)na) == 0);
		if (na == 0)
			break;
	}
	G_ASSERT_EQ(mn_read(fb, b, 1), 0);
	mn_close(fa);
	mn_close(fb);
	unlink(sp);
	unlink(dp);
	free(a);
	free(b);
}

TEST(copy_a_file_larger_than_the_buffers_with_many_gs)
{
	T_RUN_PROCS(2, copy_main, NULL);
}

/* One P: a G writing and fsyncing a file in a loop, another G ticking.
 * The ticker keeps running (on the uring path the M never blocks; on the
 * blocking path the P is handed off). */
static atomic_int ticks;
static atomic_bool writing;

static void ticker(void *arg)
{
	while (atomic_load(&writing)) {
		atomic_fetch_add(&ticks, 1);
		mn_sleep(1000000);
	}
}

static void fsync_main(void *arg)
{
	char p[] = "/tmp/mnsched-io-fsync-XXXXXX", buf[4096];
	int fd = mkstemp(p);
	uint64_t t0 = mn_now();
	int rounds = 0;

	G_ASSERT(fd >= 0);
	memset(buf, 'q', sizeof(buf));
	atomic_store(&writing, true);
	mn_go(ticker, NULL);
	while (mn_now() - t0 < 200000000ull) {
		G_ASSERT_EQ(mn_pwrite(fd, buf, sizeof(buf), (off_t)rounds * 4096),
			    sizeof(buf));
		G_ASSERT_EQ(mn_fsync(fd), 0);
		rounds++;
	}
	atomic_store(&writing, false);
	fprintf(stderr, "# %s: %d write+fsync rounds, %d ticks in 200 ms\n",
		io_path(), rounds, atomic_load(&ticks));
	G_ASSERT(atomic_load(&ticks) >= 20);
	mn_close(fd);
	unlink(p);
}

TEST(file_io_does_not_stop_other_gs_on_one_p)
{
	T_RUN_PROCS(1, fsync_main, NULL);
}

TEST_HARNESS_MAIN
