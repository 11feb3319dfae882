# selftests/mnsched/io.mk - the I/O selftests (io_*.c), included by the top
# Makefile after selftests.mk (whose build rules and sanitizer settings they
# reuse).
#
# Every io test binary runs on both I/O paths: MNSCHED_IO=uring (one
# io_uring per P) and MNSCHED_IO=blocking (system calls with P handoff),
# in the plain build, the ASan+UBSan build and the TSan build.  The plain
# build runs a third time with MNSCHED_DEBUG=iopoll=1: pipes and character
# devices through a poll request and a system call, the way taken on
# kernels whose io_uring hands them to io-wq (6.1), which this host's
# kernel does not.
#
#   make test-io         plain build, both paths (and iopoll)
#   make test-io-asan    ASan+UBSan build, both paths
#   make test-io-tsan    TSan build, both paths

IO_TESTS	:= $(patsubst selftests/mnsched/%.c,%,$(sort $(wildcard selftests/mnsched/io_*.c)))
io_bins		= $(addprefix $(B)/tests/$(1)/,$(IO_TESTS))

$(call io_bins,plain) $(call io_bins,asan) $(call io_bins,tsan): $(TEST_DIR)/io_util.h

.PHONY: test-io test-io-asan test-io-tsan
# io_examples runs the example programs: build them first (order-only, so
# they are not in $^).
test-io: $(call io_bins,plain) | $(EXAMPLE_BINS)
	@MNSCHED_IO=uring selftests/mnsched/run_tests.sh io-uring $(MN_RESULTS) $^
	@MNSCHED_IO=blocking selftests/mnsched/run_tests.sh io-blocking $(MN_RESULTS) $^
	@MNSCHED_IO=uring MNSCHED_DEBUG=iopoll=1 selftests/mnsched/run_tests.sh io-uring-iopoll $(MN_RESULTS) $^
test-io-asan: $(call io_bins,asan) | $(EXAMPLE_BINS)
	@$(ASAN_ENV) MNSCHED_IO=uring selftests/mnsched/run_tests.sh io-uring-asan $(MN_RESULTS) $^
	@$(ASAN_ENV) MNSCHED_IO=blocking selftests/mnsched/run_tests.sh io-blocking-asan $(MN_RESULTS) $^

test-io-tsan: $(call io_bins,tsan) | $(EXAMPLE_BINS)
	@$(TSAN_ENV) MNSCHED_IO=uring selftests/mnsched/run_tests.sh io-uring-tsan $(MN_RESULTS) $^
	@$(TSAN_ENV) MNSCHED_IO=blocking selftests/mnsched/run_tests.sh io-blocking-tsan $(MN_RESULTS) $^

HOST_TESTS += test-io test-io-asan test-io-tsan

# In the test VM too (MNSCHED_IO unset: io_uring), on each kernel: io_cancel
# has the cancellations the kernel makes on its own (6.1 ends io-wq pipe
# requests with -ECANCELED under SIGSTOP/SIGCONT and signals, and hands
# pipes to io-wq at all, which the runtime's probe finds: poll first).
VM_TEST_BINS	+= $(B)/tests/plain/io_cancel
# io_rx: multishot receive and its buffer rings on both kernels (6.1 has
# both, 5.19/6.0 features; the probe's fallback is the switch's path).
VM_TEST_BINS	+= $(B)/tests/plain/io_rx
