/* SPDX-License-Identifier: MIT */
/*
 * file_read.h - what file_read.c and file_read_ceiling.c share: the data
 * file and the offsets each reader (G or ring slot) reads, so both sides
 * read the same blocks in the same streams.
 */
#ifndef FILE_READ_H
#define FILE_READ_H
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BENCH_FILE_SIZE	(2ll << 30)
#define BLOCK		4096

/* Reader i's (i >= 1) xorshift state, and its next block's offset. */
static inline uint64_t file_read_seed(long i)
{
	return (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
}

static inline off_t file_read_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (off_t)(*x % (BENCH_FILE_SIZE / BLOCK)) * BLOCK;
}

/* The data file, written once (in plain C, before any runtime starts). */
static inline int file_read_create(const char *path)
{
	struct stat st;
	int f = open(path, O_RDONLY | O_CLOEXEC);

	if (f >= 0 && fstat(f, &st) == 0 && st.st_size == BENCH_FILE_SIZE)
		return f;
	if (f >= 0)
		close(f);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0)
		return -1;
	{
		char *b = malloc(1 << 20);

		for (long long o = 0; o < BENCH_FILE_SIZE; o += 1 << 20) {
			for (int i = 0; i < (1 << 20); i += 8)
				*(uint64_t *)(b + i) = (uint64_t)(o + i) * 0x9E3779B97F4A7C15ull;
			if (pwrite(f, b, 1 << 20, o) != 1 << 20)
				return -1;
		}
		free(b);
	}
	fsync(f);
	return f;
}

/*
 * Open build/bench/file_read.dat (BENCH_DATA_DIR to move it), creating it
 * the first time; "cold": drop it from the page cache and ask for no
 * readahead.  Fails the benchmark if it cannot.
 */
static inline int file_read_open(int cold)
{
	const char *dir = getenv("BENCH_DATA_DIR");
	char path[4096];
	int f;

	snprintf(path, sizeof(path), "%s/file_read.dat", dir ? dir : "build/bench");
	f = file_read_create(path);
	if (f < 0)
		bench_fail("file_read", "cannot create the data file");
	if (cold) {
		posix_fadvise(f, 0, 0, POSIX_FADV_DONTNEED);
		posix_fadvise(f, 0, 0, POSIX_FADV_RANDOM);
	}
	return f;
}
#endif
