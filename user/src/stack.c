// SPDX-License-Identifier: MIT
/*
 * stack.c - G stacks: arenas, size classes, per-P pools, overflow detection.
 *
 * Layout of one stack slot (size 2^k, 16 KiB .. 1 GiB):
 *
 *   slot                 slot+guard                               slot+size
 *   | guard              | usable stack, grows down  <-  | struct mn_g |
 *
 * The guard is one page up to 64 KiB slots and a sixteenth of the slot
 * above that, at most 64 KiB (guard_size): a frame larger than the guard
 * can jump over it (stack clash), and big stacks are where big frames
 * are.  Below each arena lies a 64 KiB gap that is never mapped usable, so
 * a runaway G walks at most through its own arena before it faults.
 *
 * The G lives at the top of its own slot: a parked G costs the pages its
 * stack touched (one, usually) and nothing else, which is how a million
 * parked Gs fit in ~4 KiB each.  Slots are carved from 16 MiB arenas
 * (mmap'd MAP_NORESERVE, committed lazily by the kernel), so a million Gs
 * need a few thousand mappings, well under vm.max_map_count = 65530.
 *
 * Overflow: where the kernel has MADV_GUARD_INSTALL (6.13+) the guard
 * faults without splitting the arena's VMA.  Elsewhere a canary in the
 * guard's last word is checked at every switch away from the G (and the
 * arena gap is PROT_NONE: one more VMA per arena).  At every switch the
 * stack pointer itself is checked too (mn_stack_check, runtime.h): a frame
 * that jumped the guard and its canary is caught when the G next enters
 * the scheduler inside it.  The SIGSEGV handler (on the M's alternate
 * stack) names the G whose stack pointer left its stack (the faulting
 * thread's), wherever the fault is: its own guard, a neighbour's slot or
 * guard, an arena gap.  A fault in another G's guard by a G whose stack
 * pointer is fine is named as such (a stray pointer).  The handler is
 * async-signal-safe: it takes no lock (the arena list is read lock-free),
 * allocates nothing and builds its messages without stdio (sbuf), then
 * write(2) and abort().  Without compiler help a big frame that writes
 * only its far end and returns without a switch goes unseen: README asks
 * for -fstack-clash-protection, whose probes touch every page of a frame
 * and so hit the guard (guard mode).
 *
 * Reuse (issue 13): a freed G keeps its stack's pages.  Its P's pool
 * takes it first (LIFO: the next spawn gets the hottest stack, no page
 * fault, no system call), up to local_cap per size class (128 stacks, or
 * 8 MiB of them for bigger classes, at least 2); above that half of the
 * pool goes to the global pool (between Ps, as Go's stackcache and
 * stackpool).  The global pool is a stack of Gs too (hot on top), and
 * beside it, per class, the slots that hold no memory ("clean": never
 * used, or given back): a new arena's slots start there, untouched, and
 * are taken only when no committed one is left.
 *
 * Scavenger (mn_stack_scavenge, called by sysmon): memory of freed stacks
 * above a budget (MNSCHED_DEBUG=stackcache=KB, default 64 MiB; a cached
 * stack counts at its full size, an upper bound of what it holds) goes
 * back to the kernel (MADV_DONTNEED) once it has sat idle for a whole
 * period (1 s): the global pool's low-water mark over a period is how
 * many Gs at its bottom nobody took in that period, and only those are
 * released, oldest first, in chunks per sysmon tick (adjacent slots in one
 * madvise; guard markers survive MADV_DONTNEED).  A steady churn keeps its
 * stacks; a burst that is over gives its memory back within ~2 s of going
 * idle.  The P pools (local_cap stacks per class per P) are not scavenged.
 *
 * Ownership: a P's pool is touched only by the M holding the P; the global
 * pool, the clean lists, the scavenger's state and the arena list are
 * under pool_lock.  A slot is in exactly one place: a pool (status
 * IDLE/DEAD), a clean list (its header is gone: only the slot address is
 * kept), the scavenger's hands, or in use by its G.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
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
#define GUARD_MAX	(64ul << 10)
#define ARENA_GAP	(64ul << 10)		/* never usable, below each arena */
#define LOCAL_CAP	128			/* slots per class kept per P... */
#define LOCAL_BYTES	(8ul << 20)		/* ...or this much of them */
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

/*
 * The global pool of one class, under pool_lock.  v[base..top) are freed Gs
 * with their memory, hottest at top; the scavenger takes from base.  low is
 * the fewest Gs the pool held since the scavenger's last period began: the
 * bottom `low` were not touched since.  clean[0..nclean) are slot addresses
 * without memory; cleancap covers every slot of the class, so a push there
 * never fails.
 */
struct gpool {
	struct mn_g **v;
	size_t base, top, cap;
	size_t low;
	size_t release;		/* still to release in this period */
	char **clean;
	size_t nclean, cleancap;
	size_t nslots;		/* every slot of the class, in all arenas */
};

#define SCAV_PERIOD_NS	1000000000ull
#define SCAV_CHUNK	16384		/* slots released per sysmon tick */
#define STACKCACHE_DEFAULT (64ul << 20)

bool mn_stack_guarded MN_HIDDEN;
static struct mn_lock pool_lock = MN_LOCK_INIT;
static struct gpool gpool[NCLASS];
static uint64_t scav_period_start;
/*
 * The SIGSEGV handler reads the arena list without pool_lock (it may run
 * on a thread that holds it), so a grown array is published with a
 * release store and the old one is never freed (a few KiB in all).
 */
static struct arena *_Atomic arenas;
static _Atomic size_t narenas;
static size_t arenas_cap;

static inline size_t class_size(uint32_t c)
{
	return (size_t)1 << (c + CLASS_MIN_SHIFT);
}

/* How many stacks of class c a P keeps: big ones go to the global pool,
 * where the scavenger sees them. */
static inline uint32_t local_cap(uint32_t c)
{
	size_t n = LOCAL_BYTES / class_size(c);

	return n > LOCAL_CAP ? LOCAL_CAP : n < 2 ? 2 : (uint32_t)n;
}

static inline size_t guard_size(uint32_t c)
{
	size_t g = class_size(c) / 16;

	return g < PAGE ? PAGE : g > GUARD_MAX ? GUARD_MAX : g;
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
	int force = mn_sched.env.stackguard;	/* MNSCHED_STACKGUARD (env.c) */
	void *p;

	if (force == MN_GUARD_CANARY) {
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
	if (force == MN_GUARD_GUARD && !mn_stack_guarded) {
		fprintf(stderr, "mnsched: MNSCHED_STACKGUARD=guard: this kernel has "
			"no MADV_GUARD_INSTALL (Linux 6.13+); use auto or canary\n");
		return -EOPNOTSUPP;
	}
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

static inline size_t gpool_n(struct gpool *gp)
{
	return gp->top - gp->base;
}

/* Room for one more in the pool (memmove, realloc: calls out of the
 * runtime, marked).  false: no memory to grow it. */
static __attribute__((noinline)) bool gpool_room(struct gpool *gp)
{
	MN_MARK();
	if (gp->top == gp->cap) {
		if (gp->base > gp->cap / 2) {
			memmove(gp->v, gp->v + gp->base,
				gpool_n(gp) * sizeof(*gp->v));
			gp->top -= gp->base;
			gp->base = 0;
		} else {
			size_t ncap = gp->cap ? 2 * gp->cap : 1024;
			struct mn_g **nv = realloc(gp->v, ncap * sizeof(*nv));

			if (!nv)
				return false;
			gp->v = nv;
			gp->cap = ncap;
		}
	}
	return true;
}

/* A freed G onto the global pool.  false: no memory to grow it. */
static bool gpool_push(struct gpool *gp, struct mn_g *g)
{
	if (gp->top == gp->cap && !gpool_room(gp))
		return false;
	gp->v[gp->top++] = g;
	return true;
}

/* A G to reuse: the hottest with memory, else a clean slot, else NULL. */
static struct mn_g *gpool_pop(struct gpool *gp, uint32_t c)
{
	struct mn_g *g;
	char *slot;

	if (gp->top > gp->base) {
		g = gp->v[--gp->top];
		if (gpool_n(gp) < gp->low)
			gp->low = gpool_n(gp);
		if (gp->top == gp->base)
			gp->top = gp->base = 0;
		return g;
	}
	if (!gp->nclean)
		return NULL;
	/* Its header went with its pages (or was never written). */
	slot = gp->clean[--gp->nclean];
	g = slot_g(slot, class_size(c));
	g->slot = slot;
	g->sclass = c;
	return g;
}

/* Carve a new arena of class c into the clean list.  pool_lock held. */
static int arena_new(uint32_t c)
{
	MN_MARK();
	size_t ssize = class_size(c), guard = guard_size(c);
	size_t asize = ssize > ARENA_SIZE ? ssize : ARENA_SIZE;
	size_t n = asize / ssize, na_n = atomic_load(&narenas);
	struct gpool *gp = &gpool[c];
	char *base, *gap;

	if (na_n == arenas_cap) {
		size_t ncap = arenas_cap ? 2 * arenas_cap : 64;
		struct arena *na = malloc(ncap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		if (na_n)
			memcpy(na, atomic_load(&arenas), na_n * sizeof(*na));
		atomic_store_explicit(&arenas, na, memory_order_release);
		arenas_cap = ncap;	/* the old array stays: see arenas */
	}
	if (gp->nslots + n > gp->cleancap) {
		size_t ncap = gp->cleancap ? 2 * gp->cleancap : 1024;
		char **nc;

		while (ncap < gp->nslots + n)
			ncap *= 2;
		nc = realloc(gp->clean, ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		gp->clean = nc;
		gp->cleancap = ncap;
	}
	gap = mmap(NULL, ARENA_GAP + asize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (gap == MAP_FAILED)
		return -ENOMEM;
	base = gap + ARENA_GAP;
	/* Stacks are touched a page or two at a time: with THP "always" (the
	 * default of Debian's kernels) a huge page would commit 2 MiB for
	 * each, and the scavenger's MADV_DONTNEED only splits them. */
	madvise(base, asize, MADV_NOHUGEPAGE);
	if (!mn_stack_guarded || madvise(gap, ARENA_GAP, MADV_GUARD_INSTALL))
		mprotect(gap, ARENA_GAP, PROT_NONE);
	/* Push slots in reverse so they are handed out in address order.
	 * Nothing is written into them: a slot's pages are touched first by
	 * the G that gets it. */
	for (size_t i = n; i-- > 0;) {
		char *slot = base + i * ssize;

		if (mn_stack_guarded)
			madvise(slot, guard, MADV_GUARD_INSTALL);
		gp->clean[gp->nclean++] = slot;
	}
	gp->nslots += n;
	atomic_load(&arenas)[na_n] = (struct arena){ base, asize, c };
	atomic_store_explicit(&narenas, na_n + 1, memory_order_release);
	return 0;
}

/* Refill p's pool of class c from the global pool (half of local_cap). */
static int pool_refill(struct mn_stack_pool *pool, uint32_t c)
{
	struct gpool *gp = &gpool[c];
	int err = 0;

	mn_lock(&pool_lock);
	if (!gpool_n(gp) && !gp->nclean)
		err = arena_new(c);
	/* Committed stacks if there are any; clean slots only when none
	 * is left (their headers are written here: a page each). */
	bool committed = gpool_n(gp) > 0;

	while (!err && pool->n[c] < local_cap(c) / 2 &&
	       (!committed || gpool_n(gp))) {
		struct mn_g *g = gpool_pop(gp, c);

		if (!g)
			break;
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
	if (gpool_n(&gpool[c]) || gpool[c].nclean || arena_new(c) == 0)
		g = gpool_pop(&gpool[c], c);
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
	g->stack_lo = g->slot + guard_size(g->sclass);
	g->stack_hi = (char *)g;
	if (!mn_stack_guarded)
		((uint64_t *)g->stack_lo)[-1] = MN_STACK_CANARY;
	return g;
}

void mn_gfree(struct mn_p *p, struct mn_g *g)
{
	struct mn_stack_pool *pool = p->pool;
	uint32_t c = g->sclass;

	atomic_store_explicit(&g->status, MN_G_DEAD, memory_order_relaxed);
	g->schedlink = pool->free[c];
	pool->free[c] = g;
	if (++pool->n[c] < local_cap(c))
		return;
	/* Too many: give the coldest half to the global pool (the hottest
	 * stay here for the next spawns). */
	mn_lock(&pool_lock);
	{
		struct mn_g *keep = pool->free[c], *r;
		uint32_t i;

		for (i = 1; i < local_cap(c) / 2; i++)
			keep = keep->schedlink;
		r = keep->schedlink;
		keep->schedlink = NULL;
		pool->n[c] = local_cap(c) / 2;
		while (r) {
			struct mn_g *next = r->schedlink;

			if (!gpool_push(&gpool[c], r)) {
				/* No memory for the global pool: keep them. */
				keep->schedlink = r;
				while (r) {
					pool->n[c]++;
					r = r->schedlink;
				}
				break;
			}
			r = next;
		}
	}
	mn_unlock(&pool_lock);
}

/* ---- scavenger ---------------------------------------------------------- */

static size_t stackcache_budget(void)
{
	long kb = mn_sched.stackcache_kb;

	return kb < 0 ? STACKCACHE_DEFAULT : (size_t)kb << 10;
}

/* After a burst: a pool array far bigger than the pool, made smaller. */
static void gpool_shrink(struct gpool *gp)
{
	size_t n = gpool_n(gp), ncap = 2 * n > 1024 ? 2 * n : 1024;
	struct mn_g **nv;

	if (gp->cap <= 4096 || n > gp->cap / 8)
		return;
	if (n)
		memmove(gp->v, gp->v + gp->base, n * sizeof(*gp->v));
	gp->base = 0;
	gp->top = n;
	nv = realloc(gp->v, ncap * sizeof(*nv));
	if (nv) {
		gp->v = nv;
		gp->cap = ncap;
	}
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Give the memory of idle cached stacks above the budget back to the
 * kernel (see the top of this file).  sysmon calls it at every tick, with
 * now in ns; it returns true while it has more to release this period (so
 * sysmon keeps ticking fast).  Only sysmon calls it: chunk is its own.
 */
bool mn_stack_scavenge(uint64_t now)
{
	static void *chunk[SCAV_CHUNK];	/* Gs, then their slots */
	static bool pending;
	size_t k = 0, ssize;
	bool more = false;
	int c, rc = 0;

	/* Most ticks: nothing to do, and no lock taken. */
	if (now - scav_period_start < SCAV_PERIOD_NS && !pending)
		return false;
	mn_lock(&pool_lock);
	if (now - scav_period_start >= SCAV_PERIOD_NS) {
		size_t held = 0, over;

		scav_period_start = now;
		for (c = 0; c < NCLASS; c++)
			held += gpool_n(&gpool[c]) * class_size((uint32_t)c);
		over = held > stackcache_budget() ? held - stackcache_budget() : 0;
		/* Biggest stacks first; only what sat idle all period. */
		for (c = NCLASS - 1; c >= 0; c--) {
			struct gpool *gp = &gpool[c];
			size_t cs = class_size((uint32_t)c);
			size_t want = (over + cs - 1) / cs;

			gp->release = want < gp->low ? want : gp->low;
			over -= over < gp->release * cs ? over : gp->release * cs;
			gp->low = gpool_n(gp);
			gpool_shrink(gp);
		}
	}
	for (c = NCLASS - 1; c >= 0 && !k; c--) {
		struct gpool *gp = &gpool[c];

		/* low: the bottom ones are still untouched since the period
		 * began (a take below it would have lowered it). */
		k = gp->release < gp->low ? gp->release : gp->low;
		if (k > SCAV_CHUNK)
			k = SCAV_CHUNK;
		/* Their headers are read after the unlock: they are ours. */
		if (k)
			memcpy(chunk, gp->v + gp->base, k * sizeof(*chunk));
		gp->base += k;
		gp->low -= k;
		gp->release = k < gp->release && gp->low ? gp->release - k : 0;
		if (gp->top == gp->base)
			gp->top = gp->base = 0;
		rc = c;
	}
	for (c = 0; c < NCLASS; c++)
		more |= gpool[c].release > 0;
	pending = more;
	mn_unlock(&pool_lock);
	if (!k)
		return false;
	/* Adjacent slots in one call: guard markers survive MADV_DONTNEED,
	 * and a canary is written again when the slot is next used. */
	ssize = class_size((uint32_t)rc);
	for (size_t i = 0; i < k; i++)
		chunk[i] = ((struct mn_g *)chunk[i])->slot;
	qsort(chunk, k, sizeof(*chunk), cmp_ptr);
	for (size_t i = 0, j; i < k; i = j) {
		for (j = i + 1; j < k &&
		     (char *)chunk[j] == (char *)chunk[j - 1] + ssize; j++)
			;
		madvise(chunk[i], (j - i) * ssize, MADV_DONTNEED);
	}
	mn_lock(&pool_lock);
	for (size_t i = 0; i < k; i++)
		gpool[rc].clean[gpool[rc].nclean++] = chunk[i];
	mn_unlock(&pool_lock);
	return more;
}

/*
 * Messages built for write(2) without snprintf, which POSIX does not list
 * as async-signal-safe: these run in the SIGSEGV handler, on a thread that
 * may have been inside malloc or stdio when it faulted.
 */
struct sbuf {
	char b[400];
	size_t n;
};

static void sb_s(struct sbuf *s, const char *str)
{
	while (*str && s->n < sizeof(s->b))
		s->b[s->n++] = *str++;
}

static void sb_u(struct sbuf *s, uint64_t v)
{
	char d[20];
	int i = 0;

	do
		d[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < 20);
	while (i > 0 && s->n < sizeof(s->b))
		s->b[s->n++] = d[--i];
}

static void sb_p(struct sbuf *s, const void *p)
{
	uintptr_t v = (uintptr_t)p;
	int sh = 60;

	sb_s(s, "0x");
	while (sh > 0 && !(v >> sh))
		sh -= 4;
	for (; sh >= 0 && s->n < sizeof(s->b); sh -= 4)
		s->b[s->n++] = "0123456789abcdef"[(v >> sh) & 15];
}

static void sb_write(struct sbuf *s)
{
	if (write(2, s->b, s->n) < 0)
		_exit(134);
}

/*
 * sp: the G's stack pointer if it is below its stack, else NULL; fault:
 * the faulting address (NULL: found at a switch).  Async-signal-safe.
 */
static void __attribute__((noreturn)) overflow_report(struct mn_g *g, char *sp,
						      char *fault)
{
	struct sbuf s = { .n = 0 };

	if (g->is_g0) {
		sb_s(&s, "mnsched: the scheduler stack of an M overflowed (stack pointer ");
		sb_p(&s, sp);
		sb_s(&s, ")");
	} else {
		sb_s(&s, "mnsched: goroutine ");
		sb_u(&s, g->goid);
		sb_s(&s, " overflowed its ");
		sb_u(&s, class_size(g->sclass));
		sb_s(&s, "-byte stack");
		if (sp && sp < g->stack_lo - guard_size(g->sclass)) {
			sb_s(&s, ": its stack pointer is ");
			sb_u(&s, (uint64_t)(g->stack_lo - sp));
			sb_s(&s, " bytes below the stack, past its ");
			sb_u(&s, guard_size(g->sclass));
			sb_s(&s, "-byte guard");
		}
		if (fault) {
			sb_s(&s, ", fault at ");
			if (fault < g->stack_lo) {
				sb_s(&s, "-");
				sb_u(&s, (uint64_t)(g->stack_lo - fault));
			} else {
				sb_u(&s, (uint64_t)(fault - g->stack_lo));
			}
			sb_s(&s, " bytes from its bottom");
		}
		if (sp && sp < g->stack_lo - guard_size(g->sclass))
			sb_s(&s, " (a big frame jumped over it; build with "
			     "-fstack-clash-protection)");
	}
	sb_s(&s, "\n");
	sb_write(&s);
	abort();
}

void mn_stack_overflow(struct mn_g *g)
{
	MN_MARK();
	overflow_report(g, NULL, NULL);
}

void mn_stack_overflow_sp(struct mn_g *g, char *sp)
{
	MN_MARK();
	overflow_report(g, sp, NULL);
}

/* The G whose slot holds addr, and whether addr is in its guard; NULL if
 * addr is in no arena (lock-free: see arenas). */
static struct mn_g *slot_of(char *addr, bool *in_guard)
{
	struct arena *a = atomic_load_explicit(&arenas, memory_order_acquire);
	size_t n = atomic_load_explicit(&narenas, memory_order_acquire);

	for (size_t i = 0; i < n; i++) {
		size_t ss = class_size(a[i].sclass);
		char *slot;

		if (addr < a[i].base || addr >= a[i].base + a[i].size)
			continue;
		slot = a[i].base + (size_t)(addr - a[i].base) / ss * ss;
		*in_guard = addr < slot + guard_size(a[i].sclass);
		return slot_g(slot, ss);
	}
	return NULL;
}

/* The hex number at s[*i] (lowercase, as /proc writes it); *i moves past
 * it. */
static uintptr_t hex_at(const char *s, size_t *i)
{
	uintptr_t v = 0;

	for (;; (*i)++) {
		char c = s[*i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* Writes the line of /proc/self/maps whose range holds pc (open, read
 * and write are async-signal-safe; a longer line is cut, its newline
 * kept: line and prefix fit in an sbuf). */
static void maps_line(const char *pc)
{
	char buf[512], line[360];
	size_t n = 0;
	ssize_t r;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			uintptr_t lo, hi;
			size_t j = 0;

			if (buf[i] != '\n') {
				if (n < sizeof(line) - 1)
					line[n++] = buf[i];
				continue;
			}
			line[n] = 0;
			lo = hex_at(line, &j);	/* "lo-hi perms ..." */
			j += line[j] == '-';
			hi = hex_at(line, &j);
			if ((uintptr_t)pc >= lo && (uintptr_t)pc < hi) {
				struct sbuf s = { .n = 0 };

				sb_s(&s, "mnsched:   pc is in ");
				sb_s(&s, line);
				sb_s(&s, "\n");
				sb_write(&s);
				close(fd);
				return;
			}
			n = 0;
		}
	}
	close(fd);
}

/*
 * A fault that is no stack overflow: says where (address, pc and the
 * mapping that holds it, so addr2line finds the line even under ASLR) and
 * on which G and M, before the default action ends the process.
 */
static void fault_report(int sig, struct mn_m *m, struct mn_g *g, char *addr, char *pc)
{
	struct sbuf s = { .n = 0 };

	sb_s(&s, sig == SIGBUS ? "mnsched: bus error" : "mnsched: segmentation fault");
	sb_s(&s, " at ");
	sb_p(&s, addr);
	sb_s(&s, ", pc ");
	sb_p(&s, pc);
	if (g && !g->is_g0) {
		sb_s(&s, ", in goroutine ");
		sb_u(&s, g->goid);
	} else if (m) {
		sb_s(&s, ", on the scheduler stack");
	} else {
		sb_s(&s, ", on a thread that is no M");
	}
	if (m) {
		sb_s(&s, " (M ");
		sb_u(&s, (uint64_t)m->id);
		sb_s(&s, ")");
	}
	sb_s(&s, "\n");
	sb_write(&s);
	maps_line(pc);
}

static void segv_handler(int sig, siginfo_t *si, void *ucv)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m ? m->curg : NULL, *owner;
	ucontext_t *uc = ucv;
	char *addr = si->si_addr;
	char *sp = (char *)uc->uc_mcontext.gregs[REG_RSP];
	bool in_guard = false;

	/* The faulting thread's G: its own guard, or a stack pointer that
	 * has left its stack (the fault may be anywhere below: a neighbour's
	 * slot or guard, an arena gap). */
	if (g && !g->is_g0 && addr >= g->slot && addr < g->stack_lo)
		overflow_report(g, sp, addr);
	if (g && g->stack_lo && sp < g->stack_lo && sp >= g->stack_lo - (64ul << 20))
		overflow_report(g, sp, addr);
	owner = slot_of(addr, &in_guard);
	if (owner && in_guard) {
		struct sbuf s = { .n = 0 };

		sb_s(&s, "mnsched: fault at ");
		sb_p(&s, addr);
		sb_s(&s, " in the guard of goroutine ");
		sb_u(&s, owner->goid);
		sb_s(&s, "'s stack (slot ");
		sb_p(&s, owner->slot);
		sb_s(&s, g && !g->is_g0 ? "), by goroutine " : "), by thread ");
		sb_u(&s, g && !g->is_g0 ? g->goid : 0);
		sb_s(&s, " whose stack pointer is inside its own stack: a stray pointer\n");
		sb_write(&s);
	}
	if (atomic_load(&mn_in_fork_child)) {
		static const char msg[] = "mnsched: segmentation fault in a child "
			"process after fork(): the child of a process running mnsched "
			"may only exec or _exit\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(139);
	}
	fault_report(sig, m, g, addr, (char *)uc->uc_mcontext.gregs[REG_RIP]);
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
void mn_stack_debug_layout(struct mn_debug_info *d)
{
	d->arenas_addr = (uintptr_t)&arenas;
	d->narenas_addr = (uintptr_t)&narenas;
	d->arena_size = sizeof(struct arena);
	d->arena_base = offsetof(struct arena, base);
	d->arena_bytes = offsetof(struct arena, size);
	d->arena_sclass = offsetof(struct arena, sclass);
	d->page = PAGE;
	d->guard_max = GUARD_MAX;
	d->class_min_shift = CLASS_MIN_SHIFT;
	d->g_hdr = G_HDR;
	d->colour_mul = COLOUR_MUL;
	d->colours = COLOURS;
	d->colour_bytes = COLOUR_BYTES;
}

void mn_for_each_g(void (*fn)(struct mn_g *g, void *arg), void *arg)
{
	struct arena *ar;
	size_t na;

	mn_lock(&pool_lock);
	ar = atomic_load(&arenas);
	na = atomic_load(&narenas);
	for (size_t a = 0; a < na; a++) {
		size_t ss = class_size(ar[a].sclass);

		for (size_t off = 0; off < ar[a].size; off += ss) {
			struct mn_g *g = slot_g(ar[a].base + off, ss);
			int st = atomic_load_explicit(&g->status,
						      memory_order_relaxed);

			if (g->goid && st != MN_G_IDLE && st != MN_G_DEAD)
				fn(g, arg);
		}
	}
	mn_unlock(&pool_lock);
}
