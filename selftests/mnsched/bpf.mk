# SPDX-License-Identifier: MIT
# selftests/mnsched/bpf.mk - the tests of the BPF tools (tools/tools.mk),
# included by the top Makefile after tools/tools.mk and selftests.mk.
#
#   make test-bpf     selftests/mnsched/bpf_tests.sh: mnsched-top/lat/trace
#                     on the target programs below (part of check-host)
#   make test-prof    selftests/mnsched/prof_tests.sh: mnsched-prof
#                     (part of check-host)
# In the test VM, bpf_vm_tests.sh checks the module's tracepoints through
# the tools (tools/vm/vm.mk runs it).
#
# Where the tools cannot be built (TOOLS_MISSING), both host targets write a
# SKIP line with the reason.

# ---- mnsched-top/lat/trace (selftests/mnsched/bpf_tests.sh) ----------------

BPF_TEST_OUT	:= $(B)/tests/bpf
BPF_TEST_BINS	:= $(BPF_TEST_OUT)/bpf_target $(BPF_TEST_OUT)/bpf_target_so \
		   $(BPF_TEST_OUT)/bpf_nobpf $(BPF_TEST_OUT)/bpf_reasons

$(eval $(call target_pair,$(BPF_TEST_OUT),bpf_target,$(TARGET_CFLAGS)))
$(BPF_TEST_OUT)/bpf_nobpf: selftests/mnsched/bpf_nobpf.c
	@mkdir -p $(@D)
	$(CC) $(TARGET_CFLAGS) $< -o $@
# The tools' wait-reason names (mnsched-util.o) against the library's.
$(BPF_TEST_OUT)/bpf_reasons: selftests/mnsched/bpf_reasons.c $(TOOLS_OUT)/mnsched-util.o $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) $< -o $@ $(TOOLS_OUT)/mnsched-util.o $(USER_LIB) \
		$(TOOLS_LDLIBS) -luring -lpthread

# ---- mnsched-prof (selftests/mnsched/prof_tests.sh) ------------------------

PROF_TEST_OUT	:= $(B)/tests/prof
# complete user stacks for the kernel's frame-pointer walk, leaves included
PROF_TEST_CFLAGS := $(TARGET_CFLAGS) -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
PROF_TEST_BINS	:= $(PROF_TEST_OUT)/prof_target $(PROF_TEST_OUT)/prof_target_so

$(eval $(call target_pair,$(PROF_TEST_OUT),prof_target,$(PROF_TEST_CFLAGS)))

# ---- the host runs ----------------------------------------------------------

ifeq ($(TOOLS_MISSING),)
test-bpf: $(TOOL_BINS) $(BPF_TEST_BINS) $(B)/noprobes/libmnsched.a
	@selftests/mnsched/bpf_tests.sh $(MN_RESULTS) $(BPF_TEST_OUT) $(TOOLS_OUT)
test-prof: $(TOOLS_OUT)/mnsched-prof $(PROF_TEST_BINS)
	@selftests/mnsched/prof_tests.sh $(MN_RESULTS) $(PROF_TEST_OUT) $(TOOLS_OUT)
else
test-bpf:
	@echo "SKIP bpf/all the BPF tools cannot be built here: $(TOOLS_MISSING)" | tee -a $(MN_RESULTS)
test-prof:
	@echo "SKIP prof/all mnsched-prof cannot be built here: $(TOOLS_MISSING)" | tee -a $(MN_RESULTS)
endif

HOST_TESTS	+= test-bpf test-prof

# ---- the module's tracepoints, in the test VM (tools/vm/vm.mk) ------------
# bpf_vm_tests.sh runs there as a TAP program, with the tools and the target.

$(BPF_TEST_OUT)/bpf_vm_tests: selftests/mnsched/bpf_vm_tests.sh
	@mkdir -p $(@D)
	cp $< $@
	chmod 755 $@

VM_TEST_BINS	+= $(BPF_TEST_OUT)/bpf_vm_tests
VM_EXTRA_BINS	+= $(TOOLS_OUT)/mnsched-trace $(TOOLS_OUT)/mnsched-top $(BPF_TEST_OUT)/bpf_target
