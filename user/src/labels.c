// SPDX-License-Identifier: MIT
/*
 * labels.c - per-G pprof labels (mn_set_label), after Go's runtime/pprof
 * labels.
 *
 * g->labels points to an immutable struct mn_labelset (debug.h), replaced
 * as a whole by every mn_set_label of its G, so a reader in another thread
 * (mnsched-prof's BPF program, a dump, gdb) sees either the old set or the
 * new one: those readers copy it with a fault-safe read and check nothing
 * else.  The id names the content: a child's inherited copy keeps it, so a
 * profiler copies each distinct set once.  Only the owning G writes
 * g->labels; the set is freed when it is replaced or the G exits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "debug.h"

_Static_assert(MN_LABELS_MAX == 8, "mnsched.h and debug.h disagree");

static _Atomic uint64_t labelset_ids;

static struct mn_g *label_g(void)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m ? m->curg : NULL;

	return g && !g->is_g0 ? g : NULL;
}

int mn_set_label(const char *key, const char *value)
{
	MN_ENTER();
	struct mn_g *g = label_g();
	struct mn_labelset *old, *ls;
	int *errp, saved;
	uint32_t i;

	if (!g || !key || !*key || strlen(key) >= MN_LABEL_KEY ||
	    (value && strlen(value) >= MN_LABEL_VALUE))
		return -EINVAL;
	old = g->labels;
	errp = mn_errno_loc();
	saved = *errp;		/* the runtime leaves errno alone */
	ls = malloc(sizeof(*ls));
	*errp = saved;
	if (!ls)
		return -ENOMEM;
	if (old)
		memcpy(ls, old, sizeof(*ls));
	else
		memset(ls, 0, sizeof(*ls));
	for (i = 0; i < ls->n && strcmp(ls->kv[i].key, key); i++)
		;
	if (!value) {
		if (i < ls->n) {
			memmove(&ls->kv[i], &ls->kv[i + 1],
				(ls->n - i - 1) * sizeof(ls->kv[0]));
			ls->n--;
			memset(&ls->kv[ls->n], 0, sizeof(ls->kv[0]));
		}
	} else {
		if (i == ls->n) {
			if (ls->n == MN_LABELS_MAX) {
				free(ls);
				return -ENOSPC;
			}
			strcpy(ls->kv[i].key, key);
			ls->n++;
		}
		memset(ls->kv[i].value, 0, sizeof(ls->kv[i].value));
		strcpy(ls->kv[i].value, value);
	}
	if (ls->n == 0) {
		free(ls);
		ls = NULL;
	} else {
		ls->id = atomic_fetch_add_explicit(&labelset_ids, 1,
						   memory_order_relaxed) + 1;
	}
	__atomic_store_n(&g->labels, ls, __ATOMIC_RELEASE);
	free(old);
	return 0;
}

const char *mn_label(const char *key)
{
	MN_ENTER();
	struct mn_g *g = label_g();
	struct mn_labelset *ls = g ? g->labels : NULL;

	if (!ls || !key)
		return NULL;
	for (uint32_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->kv[i].key, key))
			return ls->kv[i].value;
	return NULL;
}

/* newproc: g starts with a copy of parent's labels (none if out of memory). */
void mn_labels_inherit(struct mn_g *g, const struct mn_g *parent)
{
	MN_MARK();
	int *errp = mn_errno_loc(), saved = *errp;
	struct mn_labelset *ls = malloc(sizeof(*ls));

	*errp = saved;
	if (ls)
		memcpy(ls, parent->labels, sizeof(*ls));
	g->labels = ls;
}

/* mn_exit */
void mn_labels_drop(struct mn_g *g)
{
	MN_MARK();
	struct mn_labelset *ls = g->labels;

	__atomic_store_n(&g->labels, NULL, __ATOMIC_RELEASE);
	free(ls);
}
