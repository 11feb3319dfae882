# SPDX-License-Identifier: GPL-2.0
# selftests/mnsched/kmod.mk - kmod_*.c, the module's kselftests, included by
# the top Makefile before tools/vm/vm.mk, which runs them in the test VM
# (make vm-tests, check-vm, check-debug) on each kernel.
#
# They use the module through its uapi header only, and are built like the
# VM's other helpers (VM_CFLAGS, tools/vm/vm.mk: static) into build/vm/bin/.

KMOD_TEST_SRCS	:= $(sort $(wildcard selftests/mnsched/kmod_*.c))
KMOD_TEST_BINS	:= $(patsubst selftests/mnsched/%.c,$(B)/vm/bin/%,$(KMOD_TEST_SRCS))

$(B)/vm/bin/kmod_%: selftests/mnsched/kmod_%.c $(wildcard selftests/mnsched/kmod_*.h) \
		selftests/mnsched/pstate_util.h kmod/uapi/linux/mnsched.h $(KSFT_STAMP)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

VM_TEST_BINS	+= $(KMOD_TEST_BINS)
