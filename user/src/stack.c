// SPDX-License-Identifier: MIT
/*
 * stack.c - G stacks: arenas, size classes, per-P pools, overflow detection.
 *
 * Layout of one stack slot (size 2^k, 16 KiB .. 1 GiB):
 *
 *   slot                 slot+PAGE                                slot+size
 *   | guard page         | usable stack, grows down  <-  | struct mn_g |
 *
 * The G lives at the top of its own slot: a parked G costs the pages its
 * stack touched (one, usually) and nothing else, which is how a million
 * parked Gs fit in ~4 KiB each.  Slots are carved from 16 MiB arenas
 * (mmap'd MAP_NORESERVE, committed lazily by the kernel), so a million Gs
 * need a few thousand mappings, well under vm.max_map_count = 65530.
 *
 * Overflow: where the kernel has MADV_GUARD_INSTALL (6.13+) the guard page
 * faults without splitting the arena's VMA, and the SIGSEGV handler (on the
 * M's alternate stack) names the G.  Elsewhere a canary in the guard page's
 * last word is checked at every switch away from the G.
 *
 * Ownership: a P's pool is touched only by the M holding the P; the global
 * pool and the arena list are under pool_lock.  A slot is in exactly one
 * place: a pool (status IDLE/DEAD) or in use by its G.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define PAGE		4096ul
#define CLASS_MIN_SHIFT	14			/* 16 KiB */
#define NCLASS		17			/* up to 1 GiB */
#define ARENA_SIZE	(16ul << 20)
#define LOCAL_CAP	128			/* slots per class kept per P */
#define CANARY		0x6d6e736368656421ull	/* "mnsched!" */
#define G_HDR		((sizeof(struct mn_g) + 63) & ~63ul)

struct mn_stack_pool {
	struct mn_g *free[NCLASS];
	uint32_t n[NCLASS];
};

struct arena {
	char *base;
	size_t size;
	uint32_t sclass;
};

bool mn_stack_guarded MN_HIDDEN;
static struct mn_lock pool_lock = MN_LOCK_INIT;
static struct mn_g *gpool[NCLASS];
static uint32_t gpool_n[NCLASS];
static struct arena *arenas;
static size_t narenas, arenas_cap;

static inline size_t class_size(uint32_t c)
{
	return (size_t)1 << (c + CLASS_MIN_SHIFT);
}

static int size_class(size_t size)
{
	uint32_t c = 0;

	if (size == 0)
		size = MN_STACK_DEFAULT;
	if (size < MN_STACK_MIN || size > MN_STACK_MAX)
		return -EINVAL;
	while (class_size(c) < size)
		c++;
	return (int)c;
}

int mn_stack_init(void)
{
	const char *force = getenv("MNSCHED_STACKGUARD");
	void *p;

	if (force && strcmp(force, "canary") == 0) {
		mn_stack_guarded = false;
		return 0;
	}
	/* Probe MADV_GUARD_INSTALL on a scratch page. */
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	mn_stack_guarded = madvise(p, PAGE, MADV_GUARD_INSTALL) == 0;
	munmap(p, 2 * PAGE);
	if (force && strcmp(force, "guard") == 0 && !mn_stack_guarded)
		return -EOPNOTSUPP;
	return 0;
}

struct mn_stack_pool *mn_stack_pool_new(void)
{
	return calloc(1, sizeof(struct mn_stack_pool));
}

/*
 * Slot start -> the G header near its top.  Slots are 2^k bytes apart, so
 * at the same offset every G header and stack top would fall in the same
 * cache sets (a 16-way L2 holds 16 of them): the header is moved down by
 * one of 32 colours of 64 bytes, picked from the slot number.  A parked G
 * still touches one page (colour + header + frames < 4 KiB).
 */
#define COLOUR_MUL	7
#define COLOURS		32
#define COLOUR_BYTES	64
/* Debuggers compute the same (mn_stack_debug_layout, for mn_debug_info). */
static inline struct mn_g *slot_g(char *slot, size_t size)
{
	size_t colour = (((uintptr_t)slot / size) * COLOUR_MUL % COLOURS) *
			COLOUR_BYTES;

	return (struct mn_g *)(slot + size - G_HDR - colour);
}

/* Carve a new arena of class c into the global pool.  pool_lock held. */
static int arena_new(uint32_t c)
{
	size_t ssize = class_size(c);
	size_t asize = ssize > ARENA_SIZE ? ssize : ARENA_SIZE;
	size_t n = asize / ssize;
	char *base;

	if (narenas == arenas_cap) {
		size_t ncap = arenas_cap ? 2 * arenas_cap : 64;
		struct arena *na = realloc(arenas, ncap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		arenas = na;
		arenas_cap = ncap;
	}
	base = mmap(NULL, asize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	/* Push slots in reverse so the pool hands them out in address order. */
	for (size_t i = n; i-- > 0;) {
		char *slot = base + i * ssize;
		struct mn_g *g = slot_g(slot, ssize);

		if (mn_stack_guarded)
			madvise(slot, PAGE, MADV_GUARD_INSTALL);
		g->slot = slot;
		g->sclass = c;
		g->schedlink = gpool[c];
		gpool[c] = g;
		gpool_n[c]++;
	}
	arenas[narenas++] = (struct arena){ base, asize, c };
	return 0;
}

/* Refill p's pool of class c from the global pool (half of LOCAL_CAP). */
static int pool_refill(struct mn_stack_pool *pool, uint32_t c)
{
	int err = 0;

	mn_lock(&pool_lock);
	if (!gpool[c])
		err = arena_new(c);
	while (!err && gpool[c] && pool->n[c] < LOCAL_CAP / 2) {
		struct mn_g *g = gpool[c];

		gpool[c] = g->schedlink;
		gpool_n[c]--;
		g->schedlink = pool->free[c];
		pool->free[c] = g;
		pool->n[c]++;
	}
	mn_unlock(&pool_lock);
	return err;
}

/* No P (a plain thread): take one slot from the global pool. */
static struct mn_g *galloc_global(uint32_t c)
{
	struct mn_g *g = NULL;

	mn_lock(&pool_lock);
	if (gpool[c] || arena_new(c) == 0) {
		g = gpool[c];
		gpool[c] = g->schedlink;
		gpool_n[c]--;
	}
	mn_unlock(&pool_lock);
	return g;
}

/*
 * A fresh G (status IDLE) with a stack of at least stack_size bytes, or
 * NULL with *err = -EINVAL (bad size) or -ENOMEM.  errno is left alone.
 * p is the caller's P, or NULL on a thread without one.
 */
struct mn_g *mn_galloc(struct mn_p *p, size_t stack_size, int *err)
{
	int c = size_class(stack_size);
	struct mn_stack_pool *pool;
	struct mn_g *g;

	if (c < 0) {
		*err = -EINVAL;
		return NULL;
	}
	if (p) {
		pool = p->pool;
		if (!pool->free[c] && pool_refill(pool, (uint32_t)c)) {
			*err = -ENOMEM;
			return NULL;
		}
		g = pool->free[c];
		pool->free[c] = g->schedlink;
		pool->n[c]--;
	} else {
		g = galloc_global((uint32_t)c);
		if (!g) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	/* slot and sclass stay; everything else starts from zero.  Field by
	 * field: a memset of the whole header is slower on this hot path. */
	g->sp = NULL;
	g->schedlink = NULL;
	atomic_store_explicit(&g->status, MN_G_IDLE, memory_order_relaxed);
	g->waitreason = 0;
	g->goid = 0;
	g->is_main = false;
	g->is_g0 = false;
	g->param = NULL;
	atomic_store_explicit(&g->selectdone, 0, memory_order_relaxed);
	g->name = NULL;
	g->errno_save = 0;
	g->parent = 0;
	g->runnable_since = 0;
	g->sleep_timer = NULL;
	g->io_deadline = 0;
	g->io_ctx = NULL;
	g->asan_fake_stack = NULL;
	g->tsan_fiber = NULL;
	g->gopc = NULL;
	g->waitsince = 0;
	g->labels = NULL;
	g->stack_lo = g->slot + PAGE;
	g->stack_hi = (char *)g;
	if (!mn_stack_guarded)
		((uint64_t *)g->stack_lo)[-1] = CANARY;
	return g;
}

void mn_gfree(struct mn_p *p, struct mn_g *g)
{
	struct mn_stack_pool *pool = p->pool;
	uint32_t c = g->sclass;

	atomic_store_explicit(&g->status, MN_G_DEAD, memory_order_relaxed);
	g->schedlink = pool->free[c];
	pool->free[c] = g;
	if (++pool->n[c] < LOCAL_CAP)
		return;
	/* Too many: give half back to the global pool. */
	mn_lock(&pool_lock);
	while (pool->n[c] > LOCAL_CAP / 2) {
		struct mn_g *r = pool->free[c];

		pool->free[c] = r->schedlink;
		pool->n[c]--;
		r->schedlink = gpool[c];
		gpool[c] = r;
		gpool_n[c]++;
	}
	mn_unlock(&pool_lock);
}

size_t mn_stack_size(struct mn_g *g) MN_HIDDEN;
size_t mn_stack_size(struct mn_g *g)
{
	return class_size(g->sclass);
}

void mn_stack_overflow(struct mn_g *g)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf),
			 "mnsched: goroutine %llu overflowed its %zu-byte stack\n",
			 (unsigned long long)g->goid, class_size(g->sclass));

	/* write(2) only: we may be in a signal handler on a broken stack. */
	if (write(2, buf, (size_t)n) < 0)
		_exit(134);
	abort();
}

void mn_stack_check(struct mn_g *g)
{
	if (!mn_stack_guarded && !g->is_g0 &&
	    unlikely(((uint64_t *)g->stack_lo)[-1] != CANARY))
		mn_stack_overflow(g);
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m ? m->curg : NULL;
	char *addr = si->si_addr;

	(void)uc;
	if (g && !g->is_g0 && addr >= g->slot && addr < g->stack_lo)
		mn_stack_overflow(g);
	/* Not ours: fault again with the default action (core dump). */
	signal(sig, SIG_DFL);
}

int mn_stack_sigaltstack(struct mn_m *m)
{
	size_t sz = 64 << 10;
	stack_t ss;

	m->altstack = mmap(NULL, sz, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->altstack == MAP_FAILED) {
		m->altstack = NULL;
		return -ENOMEM;
	}
	ss = (stack_t){ .ss_sp = m->altstack, .ss_size = sz, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL))
		return -errno;
	return 0;
}

/* Installed once by mn_main (proc.c). */
int mn_stack_install_handler(void) MN_HIDDEN;
int mn_stack_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL))
		return -errno;
	return 0;
}

/* For mn_debug_info (debug.c): the arena table and slot_g's arithmetic. */
void mn_stack_debug_layout(struct mn_debug_info *d) MN_HIDDEN;
void mn_stack_debug_layout(struct mn_debug_info *d)
{
	d->arenas_addr = (uintptr_t)&arenas;
	d->narenas_addr = (uintptr_t)&narenas;
	d->arena_size = sizeof(struct arena);
	d->arena_base = offsetof(struct arena, base);
	d->arena_bytes = offsetof(struct arena, size);
	d->arena_sclass = offsetof(struct arena, sclass);
	d->page = PAGE;
	d->class_min_shift = CLASS_MIN_SHIFT;
	d->g_hdr = G_HDR;
	d->colour_mul = COLOUR_MUL;
	d->colours = COLOURS;
	d->colour_bytes = COLOUR_BYTES;
}

void mn_for_each_g(void (*fn)(struct mn_g *g, void *arg), void *arg)
{
	mn_lock(&pool_lock);
	for (size_t a = 0; a < narenas; a++) {
		size_t ss = class_size(arenas[a].sclass);

		for (size_t off = 0; off < arenas[a].size; off += ss) {
			struct mn_g *g = slot_g(arenas[a].base + off, ss);
			int st = atomic_load_explicit(&g->status,
						      memory_order_relaxed);

			if (g->goid && st != MN_G_IDLE && st != MN_G_DEAD)
				fn(g, arg);
		}
	}
	mn_unlock(&pool_lock);
}
