/* SPDX-License-Identifier: MIT */
/*
 * probes.h - USDT probe sites, provider "mnsched".
 *
 * MN_PROBE(name, args...) marks a scheduler event named after Go's trace
 * events.  Until the eBPF issue lands this compiles to nothing.
 */
#ifndef MN_PROBES_H
#define MN_PROBES_H

#define MN_PROBE(name, ...) do { } while (0)

#endif
