/* SPDX-License-Identifier: MIT */
/*
 * ctx.h - hooks for blocking calls that accept a struct mn_ctx (ctx.c).
 *
 * A call that parks a G somewhere other than a channel (a semaphore, an
 * io_uring request) registers a watch on the context; when the context is
 * cancelled, fn(w, err) runs once, on the cancelling M, with no context
 * lock held.  fn typically takes the call's own lock, withdraws the G from
 * its wait (if it is still waiting) and readies it.
 *
 *   mn_ctx_watch_init(&w, fn);
 *   if ((err = mn_ctx_watch_add(ctx, &w)))   // already cancelled:
 *           return err;                        //   fn will not run
 *   ... park ...
 *   mn_ctx_watch_del(ctx, &w);  // fn not running and will not run
 *
 * mn_ctx_watch_del must be called before w's memory goes; it waits for a
 * fn that is running right now.  For a context that can never be
 * cancelled (background, NULL) add returns 0 and fn never runs.
 */
#ifndef MN_CTX_H
#define MN_CTX_H

#include "runtime.h"
#include "list.h"

struct mn_ctx_watch {
	void (*fn)(struct mn_ctx_watch *w, int err);
	struct mn_list_node node;	/* on a context's watches or fire list */
	_Atomic int state;		/* WATCH_* in ctx.c */
};

static inline void mn_ctx_watch_init(struct mn_ctx_watch *w,
				     void (*fn)(struct mn_ctx_watch *, int))
{
	w->fn = fn;
	w->node.next = w->node.prev = NULL;
	atomic_store_explicit(&w->state, 0, memory_order_relaxed);
}

MN_HIDDEN int mn_ctx_watch_add(struct mn_ctx *ctx, struct mn_ctx_watch *w);
MN_HIDDEN void mn_ctx_watch_del(struct mn_ctx *ctx, struct mn_ctx_watch *w);

#endif
