# SPDX-License-Identifier: GPL-2.0
# tools/vm/vm.mk - the mnsched test VM, included by the top-level Makefile.
#
#   make vm-tests   checkpatch, then for each kernel in VM_KERNELS: its
#                   mnsched.ko, an initramfs, one boot under TCG running
#                   the tests and benchmarks; result lines
#                   vm-KERNEL/<program>/<case> go to $(MN_RESULTS); non-zero
#                   exit on any failure, hang or kernel warning (check-vm
#                   runs it through VM_TESTS)
#   make vm-debug-tests  the same TAP programs on the debug kernel (no
#                   benchmarks); check-debug runs it through VM_DEBUG_TESTS
#   make vm-bench   only the benchmark programs, on the cloud kernels, and
#                   their ratios side by side
#   make vm-shell   boot a VM with a shell on this terminal
#                   (VM_KERNELS=6.12 make vm-shell for another kernel)
#   make vm-debug-kernel  build (or find in its cache) the debug kernel
#
# VM_KERNELS: Debian 12 cloud kernel series, fetched with apt-get download
# and dpkg -x (tools/vm/fetch-kernel.sh).  "debug" (vm-debug-tests) is a
# 6.12 built from linux-source-6.12 with lockdep, KASAN, KFENCE and the
# atomic-sleep and RCU checks (tools/vm/debug-kernel.sh, cached under
# build/vm/debug).  The
# work per kernel is tools/vm/vm-tests.sh.  VM_KO=path boots a given
# mnsched.ko instead of building one (with a single kernel).
#
# Other parts add to the VM with these lists (set them before this file is
# included, e.g. in selftests/mnsched/selftests.mk):
#   VM_TEST_BINS   kselftest-harness programs the VM runs; their TAP becomes
#                  result lines vm-KERNEL/<program>/<case>
#   VM_RUN_BINS    programs run after the tests whose output is only shown
#                  and kept in build/vm/last/KERNEL/<program>.out (benchmarks;
#                  not on the debug kernel)
#   VM_EXTRA_BINS  more files copied into /tests (helpers, data)
#   VM_TEST_ENV    VAR=value words exported to every program (e.g.
#                  MNSCHED_PARK=kmod)
# Every program goes to /tests with the shared libraries ldd finds for it.

VM_DIR		:= $(B)/vm
VM_KERNELS	?= 6.1 6.12
VM_BENCH_KERNELS ?= $(filter-out debug,$(VM_KERNELS))
VM_TIMEOUT	?= 900
VM_TEST_TIMEOUT	?= 300

VM_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -pthread -static \
		   -D_GNU_SOURCE -Ikmod/uapi -Iselftests/mnsched $(KSFT_CFLAGS)
VM_KSFT_SRCS	:= $(sort $(wildcard selftests/mnsched/kmod_*.c))
VM_KSFT_BINS	:= $(patsubst selftests/mnsched/%.c,$(VM_DIR)/bin/%,$(VM_KSFT_SRCS))
VM_BENCH	:= $(VM_DIR)/bin/mnsched-vmbench

VM_TEST_BINS	+= $(VM_KSFT_BINS)
VM_RUN_BINS	+= $(VM_BENCH)

VM_TESTS	+= vm-tests
VM_DEBUG_TESTS	+= vm-debug-tests
CLEAN_EXTRA	+= vm-clean

.PHONY: vm-tests vm-debug-tests vm-shell vm-bench vm-clean vm-checkpatch vm-debug-kernel

$(VM_DIR)/bin/kmod_%: selftests/mnsched/kmod_%.c $(wildcard selftests/mnsched/kmod_*.h) \
		selftests/mnsched/pstate_util.h kmod/uapi/linux/mnsched.h $(KSFT_STAMP)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

$(VM_BENCH): tools/vm/mnsched-vmbench.c kmod/uapi/linux/mnsched.h selftests/mnsched/pstate_util.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

VM_SCRIPT = VM_TAP="$(VM_TEST_BINS)" VM_RUN="$(VM_RUN_BINS)" VM_EXTRA="$(VM_EXTRA_BINS)" \
	    VM_ENV="$(VM_TEST_ENV)" VM_TIMEOUT=$(VM_TIMEOUT) VM_TEST_TIMEOUT=$(VM_TEST_TIMEOUT) \
	    MAKE="$(MAKE)" tools/vm/vm-tests.sh

# A result line for checkpatch, then the VMs.
vm-tests:
	@mkdir -p $(VM_DIR) $(dir $(MN_RESULTS))
	@rc=0; \
	if $(MAKE) --no-print-directory kmod-checkpatch >$(VM_DIR)/checkpatch.log 2>&1; then \
		echo "PASS kmod/checkpatch" >>$(MN_RESULTS); \
	else \
		cat $(VM_DIR)/checkpatch.log; rc=1; \
		echo "FAIL kmod/checkpatch see $(VM_DIR)/checkpatch.log" >>$(MN_RESULTS); \
	fi; \
	$(VM_SCRIPT) test $(MN_RESULTS) $(VM_KERNELS) || rc=1; \
	exit $$rc

vm-debug-tests:
	@mkdir -p $(VM_DIR) $(dir $(MN_RESULTS))
	@$(VM_SCRIPT) test $(MN_RESULTS) debug

vm-bench:
	@$(VM_SCRIPT) bench /dev/null $(VM_BENCH_KERNELS)

vm-shell:
	$(VM_SCRIPT) shell /dev/null $(firstword $(VM_KERNELS))

vm-debug-kernel:
	tools/vm/debug-kernel.sh $(VM_DIR)/debug

# Keeps the downloaded and built kernels; forgets which release each series
# resolved to, so the next run takes the newest.
vm-clean:
	rm -rf $(VM_DIR)/bin $(VM_DIR)/run.* $(VM_DIR)/last $(VM_DIR)/*.log \
	       $(VM_DIR)/kernels/*/kver \
	       $(foreach k,$(VM_KERNELS),$(VM_DIR)/$(k)/kmod $(VM_DIR)/$(k)/vmhold)
