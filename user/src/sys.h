/* SPDX-License-Identifier: MIT */
/*
 * sys.h - raw system calls that return -errno and never write errno.
 *
 * glibc's wrappers set errno on failure; the runtime must not (a G's errno
 * belongs to the G), so its own futex waits and /dev/mnsched ioctls go
 * through these.
 */
#ifndef MN_SYS_H
#define MN_SYS_H

static inline long mn_syscall6(long nr, long a1, long a2, long a3, long a4,
			       long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define mn_syscall3(nr, a, b, c) \
	mn_syscall6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif
