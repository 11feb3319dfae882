/* SPDX-License-Identifier: MIT */
/*
 * debug_info.h - struct mn_debug_info, what tools read of the runtime.
 *
 * Self-contained (fixed-width types only): libmnsched (debug.c) defines the
 * object, mnsched-prof includes this header to read it from a target, and
 * tools/gdb/mnsched.py mirrors it field by field (DESC_FIELDS).  Change all
 * three together, and bump MN_DEBUG_INFO_VERSION when a field changes.
 */
#ifndef MN_DEBUG_INFO_H
#define MN_DEBUG_INFO_H

#include <stdint.h>

/*
 * mn_debug_info: where the tools find the runtime.
 *
 * One exported object, found by symbol name by tools/gdb/mnsched.py and
 * mnsched-prof, so that neither depends on DWARF of the runtime or on
 * struct layouts it guesses: every offset is offsetof() of this build.
 * Bump MN_DEBUG_INFO_VERSION when a field changes meaning.
 */
#define MN_DEBUG_INFO_VERSION	2

struct mn_debug_info {
	char magic[8];			/* "mnsched" */
	uint32_t version, size;
	/* the mn_tls_m TLS variable: thread pointer (%fs base) + tls_m_off */
	int64_t tls_m_off;
	/* globals */
	uint64_t allm_addr;		/* &mn_sched.allm */
	uint64_t allp_addr;		/* &mn_sched.allp */
	uint64_t nprocs_addr;		/* &mn_sched.nprocs (int) */
	uint64_t now_addr;		/* &mn_debug_now (uint64_t, coarse ns) */
	uint64_t arenas_addr;		/* &arenas (struct arena *), stack.c */
	uint64_t narenas_addr;		/* &narenas (size_t) */
	/* stack arenas (stack.c's slot_g): G = slot + size - g_hdr - colour,
	 * colour = ((slot / size) * colour_mul % colours) * colour_bytes */
	uint32_t arena_size, arena_base, arena_bytes, arena_sclass;
	uint32_t page, class_min_shift, g_hdr;
	uint32_t colour_mul, colours, colour_bytes;
	/* struct mn_g */
	uint32_t g_size, g_sp, g_status, g_waitreason, g_goid, g_fn, g_name;
	uint32_t g_parent, g_stack_lo, g_stack_hi, g_is_g0, g_gopc;
	uint32_t g_waitsince, g_labels;
	/* struct mn_m */
	uint32_t m_size, m_g0, m_curg, m_p, m_id, m_tid, m_alllink, m_spinning;
	/* struct mn_p */
	uint32_t p_id, p_m, p_sh;
	/* struct mn_labelset */
	uint32_t ls_size, ls_id, ls_n, ls_kv, label_key, label_value;
	/* the switch frame mn_g_switch leaves at g->sp (switch_x86_64.S):
	 * offsets of rbp, rbx, r12..r15 and the return address, and the
	 * stack pointer after the return (sp + frame) */
	uint32_t sw_rbp, sw_rbx, sw_r12, sw_r13, sw_r14, sw_r15, sw_ret, sw_frame;
	/* a G that never ran "returns" into mn_g_trampoline */
	uint64_t trampoline;
	/* wait reason names: const char *[nwaitreasons] */
	uint64_t waitreasons_addr;
	uint32_t nwaitreasons;
	/* enum mn_gstatus values */
	uint32_t st_idle, st_runnable, st_running, st_syscall, st_waiting, st_dead;
	/* MNSCHED_DEBUG settings in force: dump signal (0 none), stall ms */
	int32_t dump_signal;
	uint32_t stall_ms;
	/* a stack's guard below stack_lo: size / 16 in [page, guard_max]
	 * (stack.c's guard_size) */
	uint32_t guard_max;
};

#define MN_DEBUG_INFO_SYMBOL	"mn_debug_info"

#endif /* MN_DEBUG_INFO_H */
