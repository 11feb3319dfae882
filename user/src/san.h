/* SPDX-License-Identifier: MIT */
/*
 * san.h - tell ASan and TSan about G switches.
 *
 * ASan must know the stack bounds of the fiber it is entering and keeps a
 * "fake stack" per fiber; TSan keeps a fiber object per G.  Without these
 * annotations both report false positives the moment a G switches.  In a
 * normal build every hook compiles to nothing.
 *
 * Protocol around every mn_g_switch(prev -> next):
 *   mn_san_before_switch(prev, next, prev_dying);
 *   mn_g_switch(...);
 *   mn_san_after_switch(now_running);   (on the new stack)
 */
#ifndef MN_SAN_H
#define MN_SAN_H

#include <stddef.h>

#if defined(MN_SAN_ASAN)
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
				    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
				     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#if defined(MN_SAN_TSAN)
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned int flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned int flags);
#endif

static inline void mn_san_g_created(struct mn_g *g)
{
#if defined(MN_SAN_TSAN)
	g->tsan_fiber = __tsan_create_fiber(0);
#endif
	(void)g;
}

static inline void mn_san_g0_init(struct mn_g *g0)
{
#if defined(MN_SAN_TSAN)
	g0->tsan_fiber = __tsan_get_current_fiber();
#endif
	(void)g0;
}

/* The bounds of next's stack (g0 uses the thread stack: unknown, NULL). */
static inline void mn_san_before_switch(struct mn_g *prev, struct mn_g *next,
					bool prev_dying)
{
#if defined(MN_SAN_ASAN)
	__sanitizer_start_switch_fiber(prev_dying ? NULL : &prev->asan_fake_stack,
		next->stack_lo, (size_t)(next->stack_hi - next->stack_lo));
#endif
#if defined(MN_SAN_TSAN)
	__tsan_switch_to_fiber(next->tsan_fiber, 0);
#endif
	(void)prev; (void)next; (void)prev_dying;
}

static inline void mn_san_after_switch(struct mn_g *self)
{
#if defined(MN_SAN_ASAN)
	__sanitizer_finish_switch_fiber(self->asan_fake_stack, NULL, NULL);
#endif
	(void)self;
}

/*
 * g is dead and off its stack (called on the next G's stack, before the
 * stack goes back to the pool).  ASan poisons the redzones around every
 * addressable local when a frame is entered and clears them when it
 * returns; the frames g died in (mn_exit, schedule_next, switch_to: e.g.
 * the expected value of runnext's CAS, inlined there) never return, so
 * their poison stays in the shadow of the stack, and the next G given this
 * stack trips over it (stack-buffer-underflow or stack-use-after-scope in
 * a frame of its own).  Nothing on a dead G's stack is live: unpoison it.
 */
static inline void mn_san_g_freed(struct mn_g *g)
{
#if defined(MN_SAN_ASAN)
	__asan_unpoison_memory_region(g->stack_lo,
				      (size_t)(g->stack_hi - g->stack_lo));
#endif
#if defined(MN_SAN_TSAN)
	if (g->tsan_fiber) {
		__tsan_destroy_fiber(g->tsan_fiber);
		g->tsan_fiber = NULL;
	}
#endif
	(void)g;
}

#endif
