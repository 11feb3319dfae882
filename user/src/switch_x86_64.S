/* SPDX-License-Identifier: MIT */
/*
 * switch_x86_64.S - the G context switch (x86-64 SysV).
 *
 * mn_g_switch(void **save, void *to)
 *   Pushes the callee-saved registers (rbp, rbx, r12-r15), MXCSR and the
 *   x87 control word on the current stack, stores the stack pointer in
 *   *save, loads `to` and pops the same frame from there.  Caller-saved
 *   registers are dead across a call by the ABI, so nothing else is kept.
 *
 * Frame, from the saved stack pointer up:
 *   0: MXCSR (4 bytes)  4: x87 CW (2 bytes)  8: r15 r14 r13 r12 rbx rbp  56: return address
 *
 * mn_g_trampoline
 *   A new G's first "return address": clears rbp for clean backtraces,
 *   aligns the stack as a call expects and calls mn_g_start(), which never
 *   returns.
 */
	.text
	.globl	mn_g_switch
	.hidden	mn_g_switch
	.type	mn_g_switch, @function
	.p2align 4
mn_g_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	mn_g_switch, .-mn_g_switch

	.globl	mn_g_trampoline
	.hidden	mn_g_trampoline
	.type	mn_g_trampoline, @function
	.p2align 4
mn_g_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	mn_g_start
	ud2
	.cfi_endproc
	.size	mn_g_trampoline, .-mn_g_trampoline

	.section .note.GNU-stack,"",@progbits
