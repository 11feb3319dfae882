// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_mmap.c - the per-P pages: layout, bounds, permissions, no kernel
 * addresses.
 */
#include <stddef.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

FIXTURE(pages) {
	int fd;
	long ps;
};

FIXTURE_SETUP(pages)
{
	self->fd = -1;
	self->ps = getpagesize();
	if (access(MNSCHED_DEVICE, F_OK))
		SKIP(return, MNSCHED_DEVICE " is absent (module not loaded)");
	self->fd = kt_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kt_config(self->fd, 4));
}

FIXTURE_TEARDOWN(pages)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST(layout)
{
	/* ABI: cache-line aligned, three cache lines, kernel fields in line 2. */
	EXPECT_EQ(64, __alignof__(struct mnsched_pstate));
	EXPECT_EQ(192, sizeof(struct mnsched_pstate));
	EXPECT_EQ(128, offsetof(struct mnsched_pstate, kseq));
	EXPECT_EQ(64, offsetof(struct mnsched_pstate, switches));
}

TEST_F(pages, map_all)
{
	struct mnsched_pstate *base, *p;
	int i;

	base = kt_map(self->fd, 4);
	ASSERT_NE(NULL, base);
	for (i = 0; i < 4; i++) {
		p = kt_pst(base, i);
		EXPECT_EQ(MNSCHED_P_IDLE, p->state);
		EXPECT_EQ(-1, p->m_id);
		EXPECT_EQ(0, p->kseq & 1);
		EXPECT_EQ(0, p->blocked);
		p->goid = 1000 + i;
	}
	/* A second mapping of P 2 alone shows the same page. */
	p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, self->fd, 2 * self->ps);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(1002, p->goid);
	munmap(p, self->ps);
	munmap(base, 4 * self->ps);
}

TEST_F(pages, bounds)
{
	void *a;

	a = mmap(NULL, 5 * self->ps, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	a = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, self->fd, 4 * self->ps);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	a = mmap(NULL, 2 * self->ps, PROT_READ, MAP_SHARED, self->fd, 3 * self->ps);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	a = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, self->fd, 1ul << 40);
	EXPECT_EQ(MAP_FAILED, a);
	a = mmap(NULL, 3 * self->ps, PROT_READ, MAP_SHARED, self->fd, self->ps);
	ASSERT_NE(MAP_FAILED, a);
	/* Growing the mapping is refused. */
	EXPECT_EQ(MAP_FAILED, mremap(a, 3 * self->ps, 4 * self->ps, MREMAP_MAYMOVE));
	munmap(a, 3 * self->ps);
}

TEST_F(pages, permissions)
{
	void *a;
	int rofd;

	a = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	a = mmap(NULL, self->ps, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EPERM, errno);
	a = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	/* Never executable, not even later. */
	EXPECT_EQ(-1, mprotect(a, self->ps, PROT_READ | PROT_EXEC));
	munmap(a, self->ps);

	/* A read-only file gives read-only mappings (and is unconfigured). */
	rofd = open(MNSCHED_DEVICE, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rofd);
	a = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, rofd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, kt_config(rofd, 1));
	a = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, rofd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EACCES, errno);
	a = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, rofd, 0);
	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(-1, mprotect(a, self->ps, PROT_READ | PROT_WRITE));
	munmap(a, self->ps);
	close(rofd);
}

TEST(before_config)
{
	void *a;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	a = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* Kernel pointers on x86-64 have the top bits set; none may show up. */
static int looks_kernel(uint64_t v)
{
	return (v >> 47) == 0x1ffff;
}

TEST_F(pages, no_kernel_addresses)
{
	struct mnsched_version v;
	struct mnsched_config c;
	uint64_t *w;
	size_t i;
	int j;

	w = (uint64_t *)kt_map(self->fd, 4);
	ASSERT_NE(NULL, w);
	/* Make the kernel write its fields: register, hold P 1. */
	ASSERT_LE(0, kt_register(self->fd));
	ASSERT_EQ(0, kt_set_p(self->fd, 1));
	for (i = 0; i < 4 * self->ps / 8; i++)
		EXPECT_FALSE(looks_kernel(w[i]));
	memset(&v, 0, sizeof(v));
	ASSERT_EQ(0, kt_ioc_p(self->fd, MNSCHED_IOC_VERSION, &v));
	for (j = 0; j < (int)(sizeof(v) / 8); j++)
		EXPECT_FALSE(looks_kernel(((uint64_t *)&v)[j]));
	memset(&c, 0, sizeof(c));
	c.nr_p = 1;
	EXPECT_EQ(-EBUSY, kt_ioc_p(self->fd, MNSCHED_IOC_CONFIG, &c));
	EXPECT_FALSE(looks_kernel(c.mmap_size));
	munmap(w, 4 * self->ps);
}

TEST_F(pages, not_inherited_by_fork)
{
	struct mnsched_pstate *p;
	int st;
	pid_t pid;

	p = kt_map(self->fd, 1);
	ASSERT_NE(NULL, p);
	p->goid = 42;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The mapping is not copied: touching it faults. */
		signal(SIGSEGV, SIG_DFL);
		(void)*(volatile __u64 *)&p->goid;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(42, p->goid);
	munmap(p, self->ps);
}

TEST_F(pages, survives_close)
{
	struct mnsched_pstate *p;

	p = kt_map(self->fd, 2);
	ASSERT_NE(NULL, p);
	close(self->fd);
	self->fd = -1;
	/* The mapping keeps the pages; user data stays readable. */
	p->goid = 7;
	EXPECT_EQ(7, p->goid);
	munmap(p, 2 * self->ps);
}

/*
 * Issue 14, item 3: madvise(MADV_DOFORK) clears VM_DONTCOPY, so fork copies
 * the mapping; the child's copy must not reach the parent's live P pages
 * (it gets SIGBUS), whatever else it is told (MADV_KEEPONFORK).  Before
 * the fix the child read goid 42 and wrote the parent's P state.
 */
TEST_F(pages, dofork_child_cannot_share)
{
	struct mnsched_pstate *p;
	int st, pfd[2];
	__u64 seen = 0;
	pid_t pid;

	p = kt_map(self->fd, 2);
	ASSERT_NE(NULL, p);
	p->goid = 42;
	p->state = MNSCHED_P_RUNNING;
	/* Accepted or refused, the child must not share the pages. */
	TH_LOG("MADV_DOFORK: %d, MADV_KEEPONFORK: %d",
	       madvise(p, 2 * self->ps, MADV_DOFORK) ? errno : 0,
	       madvise(p, 2 * self->ps, MADV_KEEPONFORK) ? errno : 0);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 g;

		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		g = *(volatile __u64 *)&p->goid;
		if (write(pfd[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		p->state = MNSCHED_P_SYSCALL;
		kt_pst(p, 1)->goid = 7;
		_exit(0);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0);
	EXPECT_EQ(0, read(pfd[0], &seen, sizeof(seen))) TH_LOG("the child read goid %llu",
							       (unsigned long long)seen);
	close(pfd[0]);
	EXPECT_TRUE(WIFSIGNALED(st) && (WTERMSIG(st) == SIGBUS || WTERMSIG(st) == SIGSEGV))
		TH_LOG("child status %#x", st);
	EXPECT_EQ(42, p->goid);
	EXPECT_EQ(MNSCHED_P_RUNNING, p->state);
	EXPECT_EQ(0, kt_pst(p, 1)->goid);
	munmap(p, 2 * self->ps);
}

/* MADV_DONTNEED drops the PTEs; the next access maps the same P page again. */
TEST_F(pages, dontneed_refaults_same_page)
{
	struct mnsched_pstate *p;

	p = kt_map(self->fd, 2);
	ASSERT_NE(NULL, p);
	kt_pst(p, 1)->goid = 99;
	ASSERT_EQ(0, madvise(p, 2 * self->ps, MADV_DONTNEED));
	EXPECT_EQ(99, kt_pst(p, 1)->goid);
	EXPECT_EQ(MNSCHED_P_IDLE, p->state);
	munmap(p, 2 * self->ps);
}

/*
 * process_vm_readv() (tools/mnsched-top reads the P counters so) pins the
 * pages with GUP: it must keep working on the P mapping, which is why the
 * mapping is not VM_IO.
 */
TEST_F(pages, process_vm_readv_reads_p)
{
	struct mnsched_pstate *p, copy;
	struct iovec l, r;

	p = kt_map(self->fd, 4);
	ASSERT_NE(NULL, p);
	kt_pst(p, 3)->goid = 1234;
	l.iov_base = &copy;
	l.iov_len = sizeof(copy);
	r.iov_base = kt_pst(p, 3);
	r.iov_len = sizeof(copy);
	ASSERT_EQ(sizeof(copy), process_vm_readv(getpid(), &l, 1, &r, 1, 0));
	EXPECT_EQ(1234, copy.goid);
	munmap(p, 4 * self->ps);
}

TEST_HARNESS_MAIN
