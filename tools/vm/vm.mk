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
#                   their ratios side by side; then vm-vclock
#   make vm-vclock  on each cloud kernel, in a VM of one vCPU on a virtual
#                   clock (MN_VM_ICOUNT=1: the host's scheduling does not
#                   show in the guest's timings): issue 12's latency figure
#                   (tools/vm/latency-bench.sh), then the channel benchmarks
#                   on the module's parker against futexes at 1 and 2 Ps
#                   (tools/vm/park-bench.sh)
#   make vm-shell   boot a VM with a shell on this terminal
#                   (VM_KERNELS=6.12 make vm-shell for another kernel)
#   make vm-debug-kernel  build (or find in its cache) the debug kernel
#
# VM_KERNELS: Debian 12 cloud kernel series, fetched with apt-get download
# and dpkg -x (tools/vm/fetch-kernel.sh).  "debug" (vm-debug-tests) is a
# 6.12 built from linux-source-6.12 with lockdep, KASAN, KFENCE and the
# atomic-sleep and RCU checks (tools/vm/debug-kernel.sh, cached under
# build/vm/debug).  The work per kernel is tools/vm/vm-tests.sh.  VM_KO=path boots a given
# mnsched.ko instead of building one (with a single kernel).
#
# Other parts add to the VM with these lists (in their own fragments, e.g.
# selftests/mnsched/selftests.mk; they are read when the recipes run):
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

# Static programs for the VM: the raw-ioctl benchmark below and the module's
# kselftests (selftests/mnsched/kmod.mk).
VM_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -pthread -static \
		   -D_GNU_SOURCE -Ikmod/uapi -Iselftests/mnsched $(KSFT_CFLAGS)
VM_BENCH	:= $(VM_DIR)/bin/mnsched-vmbench
# Blocked-M handoff at the runtime level, kmod vs sysmon (handoff-bench.sh
# runs mnsched-handoff-rt both ways; stats.sh summarizes).
VM_HANDOFF_BIN	:= $(VM_DIR)/bin/mnsched-handoff-rt

VM_RUN_BINS	+= tools/vm/handoff-bench.sh $(VM_BENCH)
VM_EXTRA_BINS	+= $(VM_HANDOFF_BIN) tools/stats.sh

# The virtual clock's VM (vm-vclock): hog_latency in C and Go (renamed:
# /tests is flat), the floor the machine allows (ticker-floor), and the
# channel benchmarks of park-bench.sh.
VM_FLOOR_BIN	:= $(VM_DIR)/bin/ticker-floor
VM_VCLOCK_BINS	:= $(BENCH_OUT)/c/hog_latency $(BENCH_OUT)/c/hog_latency_2 $(VM_FLOOR_BIN) \
		   $(VM_DIR)/bin/go-hog_latency $(VM_DIR)/bin/go-hog_latency_2 tools/stats.sh \
		   $(addprefix $(BENCH_OUT)/c/,$(VM_PARK_BENCH))

VM_TESTS	+= vm-tests
VM_DEBUG_TESTS	+= vm-debug-tests
CLEAN_EXTRA	+= vm-clean

.PHONY: vm-tests vm-debug-tests vm-shell vm-bench vm-vclock vm-clean vm-debug-kernel

$(VM_BENCH): tools/vm/mnsched-vmbench.c kmod/uapi/linux/mnsched.h selftests/mnsched/pstate_util.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

$(VM_FLOOR_BIN): tools/vm/ticker-floor.c
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $<

$(VM_DIR)/bin/go-%: $(BENCH_OUT)/go/%
	@mkdir -p $(@D)
	cp $< $@

$(VM_HANDOFF_BIN): tools/vm/mnsched-handoff-rt.c user/include/mnsched.h kmod/uapi/linux/mnsched.h \
		  selftests/mnsched/pstate_util.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -pthread -Iuser/include -Ikmod/uapi -Iselftests/mnsched $< -o $@ \
	      $(USER_LIB) -luring -lpthread

# The environment of tools/vm/vm-tests.sh (and of check-vm.sh, which runs it).
VM_ENV_VARS = VM_TAP="$(VM_TEST_BINS)" VM_RUN="$(VM_RUN_BINS)" VM_EXTRA="$(VM_EXTRA_BINS)" \
	      VM_ENV="$(VM_TEST_ENV)" VM_TIMEOUT=$(VM_TIMEOUT) VM_TEST_TIMEOUT=$(VM_TEST_TIMEOUT) \
	      MAKE="$(MAKE)"

# A result line for checkpatch, then the VMs (tools/vm/check-vm.sh).
vm-tests:
	@$(VM_ENV_VARS) tools/vm/check-vm.sh $(MN_RESULTS) $(VM_KERNELS)

vm-debug-tests:
	@mkdir -p $(VM_DIR) $(dir $(MN_RESULTS))
	@$(VM_ENV_VARS) tools/vm/vm-tests.sh test $(MN_RESULTS) debug

vm-bench:
	@$(VM_ENV_VARS) tools/vm/vm-tests.sh bench /dev/null $(VM_BENCH_KERNELS)
	@$(MAKE) --no-print-directory vm-vclock

vm-vclock:
	@MN_VM_ICOUNT=1 VM_TAP= VM_RUN="tools/vm/latency-bench.sh tools/vm/park-bench.sh" \
		VM_EXTRA="$(VM_VCLOCK_BINS)" VM_ENV=PARK_BENCH_PROCS=1,2 \
		VM_TIMEOUT=$$(($(VM_TIMEOUT) * 3)) VM_TEST_TIMEOUT=$(VM_TIMEOUT) MAKE="$(MAKE)" \
		tools/vm/vm-tests.sh bench /dev/null $(VM_BENCH_KERNELS)

vm-shell:
	$(VM_ENV_VARS) tools/vm/vm-tests.sh shell /dev/null $(firstword $(VM_KERNELS))

vm-debug-kernel:
	tools/vm/debug-kernel.sh $(VM_DIR)/debug

# Keeps the downloaded and built kernels; forgets which release each series
# resolved to, so the next run takes the newest.
vm-clean:
	rm -rf $(VM_DIR)/bin $(VM_DIR)/run.* $(VM_DIR)/last $(VM_DIR)/*.log \
	       $(VM_DIR)/kernels/*/kver \
	       $(foreach k,$(VM_KERNELS),$(VM_DIR)/$(k)/kmod $(VM_DIR)/$(k)/vmhold)
