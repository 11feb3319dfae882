/* SPDX-License-Identifier: MIT */
/*
 * list.h - the runtime's one intrusive doubly linked list: channel wait
 * queues, the sync wait lists, mn_sem's waiters, a context's children and
 * watches, io_blocking's fd buckets.
 *
 * Invariants:
 *  - A list is {first, last}, both NULL when empty: an all-zero list is a
 *    valid empty one, so the public sync types stay zero-initialisable
 *    (struct mn_list is declared in mnsched.h for them, its nodes here).
 *  - A node on a list has prev == NULL exactly when it is first and
 *    next == NULL exactly when it is last; a node on no list has both NULL
 *    (every removal clears them), so mn_list_linked() can tell "on this
 *    list" from "on none" without a search.
 *  - No locking: each user says which lock protects its list.
 * Everything is inline and touches only the node, its neighbours and the
 * list head: a channel hand-off costs what the hand-written queue did.
 */
#ifndef MN_LIST_H
#define MN_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include "mnsched.h"

struct mn_list_node {
	struct mn_list_node *next, *prev;
};

#define mn_list_entry(node, type, member)				\
	((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline bool mn_list_empty(const struct mn_list *l)
{
	return !l->first;
}

/* n is on l (n must be on l or on no list). */
static inline bool mn_list_linked(const struct mn_list *l,
				  const struct mn_list_node *n)
{
	return n->prev || l->first == n;
}

/* Link n between prev and next, neighbours on l (NULL: an end of l). */
static inline void mn_list_link(struct mn_list *l, struct mn_list_node *n,
				struct mn_list_node *prev,
				struct mn_list_node *next)
{
	n->prev = prev;
	n->next = next;
	if (prev)
		prev->next = n;
	else
		l->first = n;
	if (next)
		next->prev = n;
	else
		l->last = n;
}

static inline void mn_list_push_back(struct mn_list *l, struct mn_list_node *n)
{
	mn_list_link(l, n, l->last, NULL);
}

static inline void mn_list_push_front(struct mn_list *l, struct mn_list_node *n)
{
	mn_list_link(l, n, NULL, l->first);
}

/* n must be on l. */
static inline void mn_list_remove(struct mn_list *l, struct mn_list_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->last = n->prev;
	n->next = n->prev = NULL;
}

/* The first node, unlinked; NULL when l is empty.  (Not mn_list_remove:
 * the first node's prev is NULL already, one load and branch fewer on the
 * channel hand-off path.) */
static inline struct mn_list_node *mn_list_pop_front(struct mn_list *l)
{
	struct mn_list_node *n = l->first;

	if (!n)
		return NULL;
	l->first = n->next;
	if (n->next)
		n->next->prev = NULL;
	else
		l->last = NULL;
	n->next = NULL;
	return n;
}

/* Empty l and return its first node: the nodes stay chained by next, for
 * a walk after the lock is dropped (their fields are stale from then on). */
static inline struct mn_list_node *mn_list_take_all(struct mn_list *l)
{
	struct mn_list_node *n = l->first;

	l->first = l->last = NULL;
	return n;
}

#endif
