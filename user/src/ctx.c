// SPDX-License-Identifier: MIT
/*
 * ctx.c - struct mn_ctx, Go's context package without values.
 *
 * Invariants:
 *  - ctx->err goes 0 -> -ECANCELED or -ETIMEDOUT once, under ctx->lock;
 *    in the same critical section ctx->done is closed, every child is
 *    cancelled (and unlinked), and the watch list is detached with each
 *    watch marked FIRING.  Readers of err use an acquire load: a G that
 *    sees err != 0 also sees the closed channel.
 *  - Lock order: parent before child (cancel walks down holding the
 *    parent's lock); a child's own cancel takes only its lock, and then,
 *    separately, the parent's lock to unlink itself.  Watch functions run
 *    after every context lock is released (so they may take the locks of
 *    the calls that registered them, which themselves take a context lock
 *    inside theirs).  Channel and scheduler locks nest inside.
 *  - ctx->children and every child's sib node are protected by the
 *    parent's lock.  A child holds a reference on its parent, so the
 *    parent's memory (lock included) outlives every child; the user holds
 *    one reference, dropped by mn_ctx_free.  The last reference frees the
 *    done channel and the struct.
 *  - A deadline is a runtime timer whose fn cancels with -ETIMEDOUT.  Only
 *    mn_ctx_cancel / mn_ctx_free stop it, from the user's G (mn_timer_stop
 *    waits for a running fn, which only takes context locks).  A child whose
 *    deadline is not before its parent's has no timer of its own: the
 *    parent's cancellation reaches it.
 *  - A watch is IDLE, QUEUED (on one context's list, under its lock),
 *    FIRING (detached by a cancel, fn about to run or running) or FIRED.
 *    mn_ctx_watch_del unlinks a QUEUED watch under the lock, or waits for
 *    FIRING to become FIRED, so fn never runs on freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include "runtime.h"
#include "chan.h"
#include "ctx.h"
#include "list.h"
#include "timer.h"

enum { WATCH_IDLE, WATCH_QUEUED, WATCH_FIRING, WATCH_FIRED };

struct mn_ctx {
	struct mn_lock lock;
	_Atomic int err;		/* 0, -ECANCELED, -ETIMEDOUT */
	_Atomic int refs;
	bool background;
	bool has_timer;
	uint64_t deadline;		/* effective, 0 for none */
	struct mn_ctx *parent;		/* NULL: parent can never be cancelled */
	struct mn_list children;	/* of mn_ctx, by sib */
	struct mn_list_node sib;	/* in parent->children (parent's lock) */
	struct mn_list watches;		/* of mn_ctx_watch, QUEUED ones */
	struct mn_chan *done;
	struct mn_timer timer;
};

static struct mn_ctx background = { .background = true, .refs = 1 };

struct mn_ctx *mn_ctx_background(void)
{
	MN_ENTER();
	return &background;
}

static inline struct mn_ctx *ctx_or_bg(struct mn_ctx *ctx)
{
	return ctx ? ctx : &background;
}

/*
 * Cancel c and its subtree, ctx->lock not held.  Watches of the whole
 * subtree are moved onto *fire for the caller to run after every lock is
 * released.
 */
static void cancel_locked_tree(struct mn_ctx *c, int err, struct mn_list *fire)
{
	struct mn_list_node *n;

	mn_lock(&c->lock);
	if (atomic_load_explicit(&c->err, memory_order_relaxed)) {
		mn_unlock(&c->lock);
		return;
	}
	atomic_store_explicit(&c->err, err, memory_order_release);
	mn_chan_close(c->done);
	while ((n = mn_list_pop_front(&c->children)))	/* unlinks it */
		cancel_locked_tree(mn_list_entry(n, struct mn_ctx, sib), err,
				   fire);		/* parent -> child order */
	while ((n = mn_list_pop_front(&c->watches))) {
		atomic_store_explicit(&mn_list_entry(n, struct mn_ctx_watch,
						     node)->state,
				      WATCH_FIRING, memory_order_relaxed);
		mn_list_push_back(fire, n);
	}
	mn_unlock(&c->lock);
}

static void ctx_cancel(struct mn_ctx *c, int err)
{
	struct mn_list fire = MN_LIST_INIT;
	struct mn_list_node *n;

	cancel_locked_tree(c, err, &fire);
	while ((n = mn_list_pop_front(&fire))) {
		struct mn_ctx_watch *w = mn_list_entry(n, struct mn_ctx_watch,
						       node);

		w->fn(w, err);
		/* w may be freed the moment this is seen. */
		atomic_store_explicit(&w->state, WATCH_FIRED,
				      memory_order_release);
	}
}

static void ctx_timer_fire(void *arg)
{
	ctx_cancel(arg, -ETIMEDOUT);
}

static void ctx_unref(struct mn_ctx *c)
{
	while (c && !c->background) {
		struct mn_ctx *parent = c->parent;

		if (atomic_fetch_sub_explicit(&c->refs, 1,
					      memory_order_acq_rel) != 1)
			return;
		mn_chan_free(c->done);
		free(c);
		c = parent;	/* drop the child's reference on it */
	}
}

/* Unlink c from its parent's children, if still linked. */
static void ctx_unlink(struct mn_ctx *c)
{
	struct mn_ctx *p = c->parent;

	if (!p)
		return;
	mn_lock(&p->lock);
	if (mn_list_linked(&p->children, &c->sib))
		mn_list_remove(&p->children, &c->sib);
	mn_unlock(&p->lock);
}

static struct mn_ctx *ctx_new(struct mn_ctx *parent, uint64_t deadline)
{
	struct mn_ctx *c;
	uint64_t pd;
	int perr = 0;
	bool own_timer;

	parent = ctx_or_bg(parent);
	pd = parent->deadline;
	own_timer = deadline && (!pd || deadline < pd);
	if (own_timer && atomic_load(&mn_in_fork_child))
		mn_fork_fatal("mn_ctx_with_deadline/mn_ctx_with_timeout");
	if (own_timer && (!atomic_load(&mn_sched.started) || !mn_sched.allp))
		return NULL;	/* timers need the runtime */
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->done = mn_chan_new(0, 0);
	if (!c->done) {
		free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->deadline = own_timer ? deadline : pd;
	if (!parent->background) {
		/* parent is cancellable: link c so its cancel reaches us. */
		atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
		c->parent = parent;
		mn_lock(&parent->lock);
		perr = atomic_load_explicit(&parent->err, memory_order_relaxed);
		if (!perr)
			mn_list_push_back(&parent->children, &c->sib);
		mn_unlock(&parent->lock);
	}
	if (perr) {
		ctx_cancel(c, perr);
	} else if (own_timer) {
		if (deadline <= mn_nanotime()) {
			ctx_cancel(c, -ETIMEDOUT);
		} else {
			mn_timer_init(&c->timer, ctx_timer_fire, c);
			c->has_timer = true;
			if (mn_timer_add(&c->timer, mn_when_clamp(deadline), 0)) {
				c->has_timer = false;
				mn_ctx_free(c);
				return NULL;
			}
		}
	}
	return c;
}

struct mn_ctx *mn_ctx_with_cancel(struct mn_ctx *parent)
{
	MN_ENTER();
	return ctx_new(parent, 0);
}

struct mn_ctx *mn_ctx_with_deadline(struct mn_ctx *parent, uint64_t deadline_ns)
{
	MN_ENTER();
	return ctx_new(parent, deadline_ns ? deadline_ns : 1);
}

struct mn_ctx *mn_ctx_with_timeout(struct mn_ctx *parent, uint64_t timeout_ns)
{
	MN_ENTER();
	return ctx_new(parent, (uint64_t)mn_deadline_after(timeout_ns));
}

struct mn_chan *mn_ctx_done(struct mn_ctx *ctx)
{
	MN_ENTER();
	return ctx_or_bg(ctx)->done;	/* NULL for background */
}

int mn_ctx_err(struct mn_ctx *ctx)
{
	MN_ENTER();
	return atomic_load_explicit(&ctx_or_bg(ctx)->err, memory_order_acquire);
}

uint64_t mn_ctx_deadline(struct mn_ctx *ctx)
{
	MN_ENTER();
	return ctx_or_bg(ctx)->deadline;
}

void mn_ctx_cancel(struct mn_ctx *ctx)
{
	MN_ENTER();
	if (!ctx || ctx->background)
		return;
	ctx_cancel(ctx, -ECANCELED);
	if (ctx->has_timer)
		mn_timer_stop(&ctx->timer);
	ctx_unlink(ctx);
}

void mn_ctx_free(struct mn_ctx *ctx)
{
	MN_ENTER();
	if (!ctx || ctx->background)
		return;
	mn_ctx_cancel(ctx);
	ctx_unref(ctx);
}

/* ---- watches ---- */

int mn_ctx_watch_add(struct mn_ctx *ctx, struct mn_ctx_watch *w)
{
	int err;

	ctx = ctx_or_bg(ctx);
	if (ctx->background)
		return 0;	/* never cancelled: fn never runs */
	mn_lock(&ctx->lock);
	err = atomic_load_explicit(&ctx->err, memory_order_relaxed);
	if (!err) {
		mn_list_push_back(&ctx->watches, &w->node);
		atomic_store_explicit(&w->state, WATCH_QUEUED,
				      memory_order_relaxed);
	}
	mn_unlock(&ctx->lock);
	return err;
}

void mn_ctx_watch_del(struct mn_ctx *ctx, struct mn_ctx_watch *w)
{
	ctx = ctx_or_bg(ctx);
	if (ctx->background ||
	    atomic_load_explicit(&w->state, memory_order_acquire) == WATCH_IDLE)
		return;
	mn_lock(&ctx->lock);
	if (atomic_load_explicit(&w->state, memory_order_relaxed) ==
	    WATCH_QUEUED) {
		mn_list_remove(&ctx->watches, &w->node);
		atomic_store_explicit(&w->state, WATCH_IDLE,
				      memory_order_relaxed);
		mn_unlock(&ctx->lock);
		return;
	}
	mn_unlock(&ctx->lock);
	/* Detached by a cancel: wait for its fn to finish with w. */
	while (atomic_load_explicit(&w->state, memory_order_acquire) !=
	       WATCH_FIRED)
		__builtin_ia32_pause();
}
