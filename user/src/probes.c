// SPDX-License-Identifier: MIT
/*
 * probes.c - the USDT semaphores of provider "mnsched" (see probes.h).
 *
 * Each lives in the .probes section, where SystemTap, bpftrace and libbpf
 * expect it: a tracer attaching to mnsched:NAME increments
 * mnsched_NAME_semaphore (through the kernel's uprobe reference counter)
 * and the probe site starts passing its arguments.
 */
#include "probes.h"

#ifndef MN_NO_PROBES
#define MN_PROBE_SEM_DEFINE(NAME, name, nargs, args)			\
	unsigned short mnsched_##name##_semaphore			\
		__attribute__((section(".probes"), used));
MN_PROBE_DEFS(MN_PROBE_SEM_DEFINE)
#else
/* ISO C wants at least one declaration in a translation unit. */
extern int mn_probes_none;
#endif
