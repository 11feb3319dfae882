// SPDX-License-Identifier: MIT
/*
 * mncp - copy a file with many Gs, each moving one chunk at a time with
 * mn_pread/mn_pwrite at its own offset.
 *
 *   mncp [-g GS] [-b CHUNK_KB] SRC DST      (default 16 Gs, 256 KB chunks)
 *
 * With io_uring no M ever blocks in the disk: reads that miss the page
 * cache wait in the kernel while the Ms run other Gs.  The destination is
 * fsync'ed before mncp reports.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mnsched.h>

static const char *src_path, *dst_path;
static int ngs = 16, src, dst;
static size_t chunk = 256 << 10;
static off_t size;
static atomic_llong next_off;		/* the next chunk nobody has taken */
static atomic_int failed;
static struct mn_wg wg = MN_WG_INIT;

static void copier(void *arg)
{
	char *buf = malloc(chunk);
	off_t off;

	while (buf && !atomic_load(&failed) &&
	       (off = atomic_fetch_add(&next_off, (long long)chunk)) < size) {
		size_t want = size - off < (off_t)chunk ? (size_t)(size - off) : chunk;
		size_t got = 0, put = 0;

		while (got < want) {		/* reads may be short */
			ssize_t n = mn_pread(src, buf + got, want - got, off + (off_t)got);

			if (n <= 0) {
				fprintf(stderr, "mncp: read: %s\n", n ? strerror((int)-n) : "EOF");
				atomic_store(&failed, 1);
				break;
			}
			got += (size_t)n;
		}
		while (put < got) {
			ssize_t n = mn_pwrite(dst, buf + put, got - put, off + (off_t)put);

			if (n < 0) {
				fprintf(stderr, "mncp: write: %s\n", strerror((int)-n));
				atomic_store(&failed, 1);
				break;
			}
			put += (size_t)n;
		}
	}
	free(buf);
	mn_wg_done(&wg);
}

static void copy(void *arg)
{
	struct stat st;
	uint64_t t0 = mn_now();
	double secs;

	src = mn_openat(AT_FDCWD, src_path, O_RDONLY | O_CLOEXEC, 0);
	dst = mn_openat(AT_FDCWD, dst_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);
	if (src < 0 || dst < 0 || fstat(src, &st)) {
		fprintf(stderr, "mncp: open: %s\n", strerror(src < 0 ? -src : -dst));
		exit(1);
	}
	size = st.st_size;
	mn_wg_add(&wg, ngs);
	for (int i = 0; i < ngs; i++)
		mn_go(copier, NULL);
	mn_wg_wait(&wg);
	if (!atomic_load(&failed) && mn_fsync(dst))
		atomic_store(&failed, 1);
	mn_close(src);
	mn_close(dst);
	secs = (double)(mn_now() - t0) / 1e9;
	fprintf(stderr, "mncp: %lld bytes, %d Gs, %zu KB chunks, %.3f s, %.1f MB/s (%s)\n",
		(long long)size, ngs, chunk >> 10, secs, (double)size / 1e6 / secs,
		mn_io_backend());
	if (atomic_load(&failed))
		exit(1);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "g:b:")) != -1) {
		if (opt == 'g')
			ngs = atoi(optarg);
		else if (opt == 'b')
			chunk = (size_t)atoi(optarg) << 10;
		else
			goto usage;
	}
	if (argc - optind != 2 || ngs < 1 || chunk == 0)
		goto usage;
	src_path = argv[optind];
	dst_path = argv[optind + 1];
	return mn_main(copy, NULL) ? 1 : 0;
usage:
	fprintf(stderr, "usage: mncp [-g GS] [-b CHUNK_KB] SRC DST\n");
	return 64;
}
