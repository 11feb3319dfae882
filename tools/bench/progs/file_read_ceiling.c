/* SPDX-License-Identifier: MIT */
/*
 * file_read_ceiling: what the disk gives at file_read's queue depth.  Not
 * an mnsched program: one thread, one io_uring, GS reads always in flight
 * (a slot per G of file_read, each reading the same offsets as that G), no
 * scheduler in between.  benchmarks.tbl runs it as the base side of
 * file_read.ceiling: ours/ceiling near 1 means the runtime adds nothing to
 * the disk's latency, and ours/Go is then the disk's speed over Go's.
 *
 *   file_read_ceiling GS COUNT [cold|warm]   (as file_read; run as the
 *                                             "c-ceiling" build of file_read)
 */
#include <liburing.h>
#include "bench.h"
#include "file_read.h"

struct slot {
	uint64_t x;		/* this slot's offset stream */
	char buf[BLOCK] __attribute__((aligned(64)));
};

static void queue_read(struct io_uring *ring, int fd, struct slot *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_read(sqe, fd, s->buf, BLOCK, (uint64_t)file_read_next(&s->x));
	io_uring_sqe_set_data(sqe, s);
}

int main(int argc, char **argv)
{
	long qd = bench_arg(argc, argv, 1, 64), count = bench_arg(argc, argv, 2, 100000);
	int cold = argc < 4 || strcmp(argv[3], "warm"), fd;
	long issued = 0, done = 0;
	struct io_uring ring;
	struct slot *slots;
	uint64_t t0, t1;

	if (qd < 1 || qd > 4096)
		bench_fail("file_read", "queue depth out of 1..4096");
	fd = file_read_open(cold);
	slots = aligned_alloc(64, sizeof(*slots) * (size_t)qd);
	if (!slots || io_uring_queue_init((unsigned int)qd, &ring, 0))
		bench_fail("file_read", "io_uring setup");
	if (!cold)	/* Warm: read it all once so every block is cached. */
		for (long long o = 0; o < BENCH_FILE_SIZE; o += BLOCK)
			if (pread(fd, slots[0].buf, BLOCK, o) != BLOCK)
				bench_fail("file_read", "warm-up read");
	t0 = bench_now_ns();
	for (long i = 0; i < qd && issued < count; i++, issued++) {
		slots[i].x = file_read_seed(i + 1);
		queue_read(&ring, fd, &slots[i]);
	}
	while (done < count) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		if (io_uring_submit_and_wait(&ring, 1) < 0)
			bench_fail("file_read", "io_uring_enter");
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct slot *s = io_uring_cqe_get_data(cqe);

			if (cqe->res != BLOCK)
				bench_fail("file_read", "short read");
			n++;
			if (issued < count) {
				queue_read(&ring, fd, s);
				issued++;
			}
		}
		io_uring_cq_advance(&ring, n);
		done += n;
	}
	t1 = bench_now_ns();
	bench_info("io", "one thread, one io_uring, %ld reads in flight, %ld reads",
		   qd, count);
	bench_result("file_read", (double)count * 1e9 / (double)(t1 - t0), "reads/s");
	return 0;
}
