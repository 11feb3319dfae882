# SPDX-License-Identifier: MIT
# tools/tools.mk - mnsched-top, mnsched-lat, mnsched-trace, mnsched-prof
# (libbpf-tools style: bpf/NAME.bpf.c + tools/NAME.c + tools/NAME.h),
# included by the top Makefile after bpf/bpf.mk.
#
#   make tools      build/tools/mnsched-{top,lat,trace,prof}
#
# They link the system libbpf (libbpf-dev 1.1, the version bpftool 7.1 was
# built with, which generated the skeletons) and libelf.

TOOLS_OUT	:= $(B)/tools
TOOL_NAMES	:= mnsched-top mnsched-lat mnsched-trace mnsched-prof
TOOL_NAMES	:= $(filter $(TOOL_NAMES),$(patsubst tools/%.c,%,$(wildcard tools/mnsched-*.c)))
TOOL_BINS	:= $(TOOL_NAMES:%=$(TOOLS_OUT)/%)
TOOLS_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
		   -D_GNU_SOURCE -Itools -I$(BPF_OUT) -Ikmod/uapi -Iuser/src
TOOLS_LDLIBS	:= -lbpf -lelf -lz
# user/src/debug_info.h: the runtime's mn_debug_info (mnsched-prof, and
# mnsched-trace for the G on an M that goes off CPU)
TOOLS_COMMON_H	:= tools/mnsched-util.h tools/mnsched-common.h kmod/uapi/linux/mnsched.h \
		   user/src/debug_info.h

tools: $(TOOL_BINS)

$(TOOLS_OUT)/mnsched-util.o: tools/mnsched-util.c $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_OUT)/%.o: tools/%.c tools/%.h $(BPF_OUT)/%.skel.h $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_OUT)/mnsched-%: $(TOOLS_OUT)/mnsched-%.o $(TOOLS_OUT)/mnsched-util.o
	$(CC) -o $@ $^ $(TOOLS_LDLIBS)

# mnsched-prof symbolizes with libdw (libdw-dev).
$(TOOLS_OUT)/mnsched-prof: TOOLS_LDLIBS += -ldw

# The BPF skeletons need the running kernel's BTF, clang and bpftool: where
# they are missing, `make` says so instead of failing, and the BPF tests
# are skipped with the reason.
TOOLS_MISSING	:= $(if $(wildcard $(VMLINUX_BTF)),,no kernel BTF at $(VMLINUX_BTF)) \
		   $(if $(shell command -v $(BPF_CLANG) 2>/dev/null),,no $(BPF_CLANG)) \
		   $(if $(wildcard $(BPFTOOL)),,no bpftool)
TOOLS_MISSING	:= $(strip $(TOOLS_MISSING))
ifeq ($(TOOLS_MISSING),)
ALL_EXTRA	+= tools
# make install: the tools go to BINDIR with the library.
install: install-tools
.PHONY: install-tools
install-tools: tools
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
else
ALL_EXTRA	+= tools-unavailable
.PHONY: tools-unavailable
tools-unavailable:
	@echo "tools: mnsched-top/lat/trace not built: $(TOOLS_MISSING) (tools/deps.sh installs clang and bpftool; BTF needs CONFIG_DEBUG_INFO_BTF=y)"
endif

# ---- variant libraries for the overhead benchmarks ------------------------
# build/noprobes/libmnsched.a: the runtime without USDT probes (-DMN_NO_PROBES);
# build/nocounters/libmnsched.a: without the per-P statistics counters
# (-DMN_NO_COUNTERS).  tools/bench compares each with the real library
# (benchmarks.tbl lines PROG.noprobes, PROG.nocounters).  The top Makefile's
# $(B)/%/libmnsched.a rule links them from these objects.

BENCH_LIB_VARIANTS := noprobes nocounters nopreempt
VARIANT_noprobes   := -DMN_NO_PROBES
VARIANT_nocounters := -DMN_NO_COUNTERS
# build/nopreempt/libmnsched.a: no runtime-entry marks, no preemption
# (-DMN_NO_PREEMPT): what preemption costs when nothing overruns.
VARIANT_nopreempt  := -DMN_NO_PREEMPT

define mn_lib_variant
$(B)/$(1)/%.o: user/src/%.c $(USER_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(USER_CPPFLAGS) $(USER_CFLAGS) $(VARIANT_$(1)) -c $$< -o $$@
	objcopy $(MN_TEXT) $$@
$(B)/$(1)/%.o: user/src/%.S
	@mkdir -p $$(@D)
	$(CC) $(USER_CPPFLAGS) -c $$< -o $$@
	objcopy $(MN_TEXT) $$@
endef
$(foreach v,$(BENCH_LIB_VARIANTS),$(eval $(call mn_lib_variant,$(v))))

# ---- host tests (selftests/mnsched/bpf_tests.sh) ---------------------------

BPF_TEST_OUT	:= $(B)/tests/bpf
BPF_TEST_CFLAGS	:= -O2 -g -pthread -Wall -Wno-unused-parameter -D_GNU_SOURCE -Iuser/include
BPF_TEST_BINS	:= $(BPF_TEST_OUT)/bpf_target $(BPF_TEST_OUT)/bpf_target_so \
		   $(BPF_TEST_OUT)/bpf_nobpf $(BPF_TEST_OUT)/bpf_reasons

$(BPF_TEST_OUT)/bpf_target: selftests/mnsched/bpf_target.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(BPF_TEST_CFLAGS) $< -o $@ $(USER_LIB) -luring -lpthread
# The shared-library twin loads its own copy of libmnsched.so (by soname).
$(BPF_TEST_OUT)/lib/libmnsched.so.0: $(USER_SO)
	@mkdir -p $(@D)
	cp $< $@
$(BPF_TEST_OUT)/bpf_target_so: selftests/mnsched/bpf_target.c user/include/mnsched.h \
			       $(BPF_TEST_OUT)/lib/libmnsched.so.0
	$(CC) $(BPF_TEST_CFLAGS) $< -o $@ $(BPF_TEST_OUT)/lib/libmnsched.so.0 \
		-Wl,-rpath,'$$ORIGIN/lib' -luring -lpthread
$(BPF_TEST_OUT)/bpf_nobpf: selftests/mnsched/bpf_nobpf.c
	@mkdir -p $(@D)
	$(CC) $(BPF_TEST_CFLAGS) $< -o $@
$(BPF_TEST_OUT)/bpf_reasons: selftests/mnsched/bpf_reasons.c $(TOOLS_OUT)/mnsched-util.o $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) $< -o $@ $(TOOLS_OUT)/mnsched-util.o $(USER_LIB) \
		$(TOOLS_LDLIBS) -luring -lpthread

.PHONY: test-bpf
ifeq ($(TOOLS_MISSING),)
test-bpf: $(TOOL_BINS) $(BPF_TEST_BINS) $(B)/noprobes/libmnsched.a
	@selftests/mnsched/bpf_tests.sh $(MN_RESULTS) $(BPF_TEST_OUT) $(TOOLS_OUT)
else
test-bpf:
	@echo "SKIP bpf/all the BPF tools cannot be built here: $(TOOLS_MISSING)" | tee -a $(MN_RESULTS)
endif

HOST_TESTS	+= test-bpf

# ---- mnsched-prof's host tests (selftests/mnsched/prof_tests.sh) -----------

PROF_TEST_OUT	:= $(B)/tests/prof
# complete user stacks for the kernel's frame-pointer walk, leaves included
PROF_TEST_CFLAGS := $(BPF_TEST_CFLAGS) -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
PROF_TEST_BINS	:= $(PROF_TEST_OUT)/prof_target $(PROF_TEST_OUT)/prof_target_so

$(PROF_TEST_OUT)/prof_target: selftests/mnsched/prof_target.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(PROF_TEST_CFLAGS) $< -o $@ $(USER_LIB) -luring -lpthread
$(PROF_TEST_OUT)/lib/libmnsched.so.0: $(USER_SO)
	@mkdir -p $(@D)
	cp $< $@
$(PROF_TEST_OUT)/prof_target_so: selftests/mnsched/prof_target.c user/include/mnsched.h \
				 $(PROF_TEST_OUT)/lib/libmnsched.so.0
	$(CC) $(PROF_TEST_CFLAGS) $< -o $@ $(PROF_TEST_OUT)/lib/libmnsched.so.0 \
		-Wl,-rpath,'$$ORIGIN/lib' -luring -lpthread

.PHONY: test-prof
ifeq ($(TOOLS_MISSING),)
test-prof: $(TOOLS_OUT)/mnsched-prof $(PROF_TEST_BINS)
	@selftests/mnsched/prof_tests.sh $(MN_RESULTS) $(PROF_TEST_OUT) $(TOOLS_OUT)
else
test-prof:
	@echo "SKIP prof/all mnsched-prof cannot be built here: $(TOOLS_MISSING)" | tee -a $(MN_RESULTS)
endif

HOST_TESTS	+= test-prof

# ---- the module's tracepoints, in the test VM (tools/vm/vm.mk) ------------
# bpf_vm_tests.sh runs there as a TAP program, with the tools and the target.

$(BPF_TEST_OUT)/bpf_vm_tests: selftests/mnsched/bpf_vm_tests.sh
	@mkdir -p $(@D)
	cp $< $@
	chmod 755 $@

VM_TEST_BINS	+= $(BPF_TEST_OUT)/bpf_vm_tests
VM_EXTRA_BINS	+= $(TOOLS_OUT)/mnsched-trace $(TOOLS_OUT)/mnsched-top $(BPF_TEST_OUT)/bpf_target
