# selftests/mnsched/selftests.mk - host runtime tests (kselftest harness).
#
# rt_*.c are the runtime tests.  Each is built three times: against the
# plain library, an ASan+UBSan library and a TSan library (the top
# Makefile's variants); check-host runs all three, and rt_preempt once more
# against libmnsched.so.  The other groups are fragments of their own:
# io.mk (io_*.c), debug.mk (gdb), bpf.mk (the BPF tools), kmod.mk (kmod_*.c,
# the module's, in the test VM).

RT_TESTS	:= $(patsubst selftests/mnsched/%.c,%,$(sort $(wildcard selftests/mnsched/rt_*.c)))
TEST_DIR	:= selftests/mnsched
TEST_CFLAGS	:= -O2 -g -pthread -Wall -Wno-unused-parameter -D_GNU_SOURCE \
		   -Iuser/include -Ikmod/uapi -I$(TEST_DIR) $(KSFT_CFLAGS)
TEST_DEPS	:= $(TEST_DIR)/mn_test.h $(TEST_DIR)/pstate_util.h user/include/mnsched.h $(KSFT_STAMP)

$(B)/tests/plain/%: $(TEST_DIR)/%.c $(TEST_DEPS) $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $< -o $@ $(USER_LIB) -luring -lpthread

# Test programs linked with libmnsched.so load their own copy of it, by
# soname, from lib/ beside them: build/tests/DIR/lib/libmnsched.so.0, found
# through the rpath $ORIGIN/lib that $(call link_so,CFLAGS) links $< with.
$(B)/tests/%/lib/libmnsched.so.0: $(USER_SO)
	@mkdir -p $(@D)
	cp $< $@
link_so = $(CC) $(1) $< -o $@ $(@D)/lib/libmnsched.so.0 -Wl,-rpath,'$$ORIGIN/lib' -luring -lpthread
# The programs the gdb and BPF tests attach to (debug.mk, bpf.mk), in pairs:
# $(call target_pair,DIR,NAME,CFLAGS) builds DIR/NAME from NAME.c linked
# with libmnsched.a and its shared-library twin DIR/NAME_so.
TARGET_CFLAGS	:= -O2 -g -pthread -Wall -Wno-unused-parameter -D_GNU_SOURCE -Iuser/include -Ikmod/uapi
define target_pair
$(1)/$(2): $(TEST_DIR)/$(2).c user/include/mnsched.h $$(USER_LIB)
	@mkdir -p $$(@D)
	$$(CC) $(3) $$< -o $$@ $$(USER_LIB) -luring -lpthread
$(1)/$(2)_so: $(TEST_DIR)/$(2).c user/include/mnsched.h $(1)/lib/libmnsched.so.0
	$$(call link_so,$(3))
endef

# Against libmnsched.so (the preemption handler's text bounds are the
# shared library's own there): make build/tests/so/rt_preempt.  The test
# calls test hooks (mn_debug_preemptions...), which user/libmnsched.map
# keeps out of the installed .so: its twin here is linked from the same
# objects with the same flags, less the version script (abi_tests.sh
# checks the installed one's exports).
$(B)/tests/so/lib/libmnsched.so.0: $(USER_SO)
	@mkdir -p $(@D)
	$(CC) $(USER_SO_LDFLAGS) -o $@ $(call user_objs,plain) -luring
$(B)/tests/so/%: $(TEST_DIR)/%.c $(TEST_DEPS) $(B)/tests/so/lib/libmnsched.so.0
	$(call link_so,$(TEST_CFLAGS))
$(B)/tests/asan/%: $(TEST_DIR)/%.c $(TEST_DEPS) $(B)/asan/libmnsched.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_asan) $< -o $@ $(B)/asan/libmnsched.a -luring -lpthread
$(B)/tests/tsan/%: $(TEST_DIR)/%.c $(TEST_DEPS) $(B)/tsan/libmnsched.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(SAN_tsan) $< -o $@ $(B)/tsan/libmnsched.a -luring -lpthread

rt_bins = $(addprefix $(B)/tests/$(1)/,$(RT_TESTS))

.PHONY: tests test-runtime test-runtime-asan test-runtime-tsan
tests: $(call rt_bins,plain) $(call rt_bins,asan) $(call rt_bins,tsan)

# Sanitizer runs: abort on the first report so a report fails the test.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0:second_deadlock_stack=1

test-runtime: $(call rt_bins,plain)
	@selftests/mnsched/run_tests.sh runtime $(MN_RESULTS) $^
test-runtime-asan: $(call rt_bins,asan)
	@$(ASAN_ENV) selftests/mnsched/run_tests.sh runtime-asan $(MN_RESULTS) $^
test-runtime-tsan: $(call rt_bins,tsan)
	@$(TSAN_ENV) selftests/mnsched/run_tests.sh runtime-tsan $(MN_RESULTS) $^

# Preemption against libmnsched.so: its own text bounds, no PLT (Makefile).
.PHONY: test-runtime-so
test-runtime-so: $(B)/tests/so/rt_preempt
	@selftests/mnsched/run_tests.sh runtime-so $(MN_RESULTS) $^

# What libmnsched.so exports (user/libmnsched.map) and one prefix per layer.
.PHONY: test-abi
test-abi: $(USER_SO) $(TEST_DIR)/abi_tests.sh
	@$(TEST_DIR)/abi_tests.sh $(MN_RESULTS) $(USER_SO)

HOST_TESTS += test-runtime test-runtime-asan test-runtime-tsan test-runtime-so test-abi

# The whole runtime suite runs again inside the test VM, on the module's
# parker (tools/vm/vm.mk runs VM_TEST_BINS with VM_TEST_ENV exported).
VM_TEST_BINS	+= $(call rt_bins,plain)
VM_TEST_ENV	+= MNSCHED_PARK=kmod
