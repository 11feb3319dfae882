# SPDX-License-Identifier: GPL-2.0
# tools/vm/vm.mk - the mnsched test VM, included by the top-level Makefile.
#
#   make vm-tests   build kernel image cache, module, tests, initramfs; boot
#                   the VM under TCG, run the tests, append result lines to
#                   $(MN_RESULTS); non-zero exit on any failure or kernel
#                   warning (check-vm runs it through VM_TESTS)
#   make vm-shell   boot the same VM with a shell on this terminal
#   make vm-bench   only the benchmark programs, in the VM
#
# Other parts add to the VM with these lists (set them before this file is
# included, e.g. in selftests/mnsched/selftests.mk):
#   VM_TEST_BINS   kselftest-harness programs the VM runs; their TAP becomes
#                  result lines vm/<program>/<case>
#   VM_RUN_BINS    programs run after the tests whose output is only shown
#                  and kept in $(VM_DIR)/<program>.out (benchmarks)
#   VM_EXTRA_BINS  more files copied into /tests (helpers, data)
#   VM_TEST_ENV    VAR=value words exported to every program (e.g.
#                  MNSCHED_PARK=kmod)
# Every program goes to /tests with the shared libraries ldd finds for it.

VM_DIR		:= $(B)/vm
VM_KDIR		?= $(shell ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
VM_KVER		:= $(patsubst linux-headers-%,%,$(notdir $(VM_KDIR)))
VM_KERNEL	:= $(VM_DIR)/kernel/root/boot/vmlinuz-$(VM_KVER)
VM_KO		:= $(VM_DIR)/kmod/mnsched.ko
VM_HOLD_KO	:= $(VM_DIR)/vmhold/mnsched_vmhold.ko
VM_INITRD	:= $(VM_DIR)/initramfs.cpio.gz
VM_LIST		:= $(VM_DIR)/tests.list
VM_TIMEOUT	?= 900
VM_TEST_TIMEOUT	?= 300

VM_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -pthread -static \
		   -D_GNU_SOURCE -Ikmod/uapi -Iselftests/mnsched $(KSFT_CFLAGS)
VM_KSFT_SRCS	:= $(sort $(wildcard selftests/mnsched/kmod_*.c))
VM_KSFT_BINS	:= $(patsubst selftests/mnsched/%.c,$(VM_DIR)/bin/%,$(VM_KSFT_SRCS))
VM_BENCH	:= $(VM_DIR)/bin/mnsched-vmbench

VM_TEST_BINS	+= $(VM_KSFT_BINS)
VM_RUN_BINS	+= $(VM_BENCH)
VM_ALL_BINS	= $(VM_TEST_BINS) $(VM_RUN_BINS) $(VM_EXTRA_BINS)

VM_TESTS	+= vm-tests
CLEAN_EXTRA	+= vm-clean

.PHONY: vm-tests vm-shell vm-bench vm-clean vm-kernel vm-initramfs vm-checkpatch

$(VM_DIR)/bin/kmod_%: selftests/mnsched/kmod_%.c $(wildcard selftests/mnsched/kmod_*.h) \
		kmod/uapi/linux/mnsched.h $(KSFT_STAMP)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

$(VM_BENCH): tools/vm/mnsched-vmbench.c kmod/uapi/linux/mnsched.h selftests/mnsched/pstate_util.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< -lrt

# The module for the VM is always built against the VM kernel's headers,
# in a copy of kmod/ (KDIR for `make kmod` may be another kernel).
$(VM_KO): $(KMOD_SRCS) $(VM_HOLD_KO)
	@test -n "$(VM_KVER)" || { echo "vm: no linux-headers-*-cloud-amd64 (tools/deps.sh)" >&2; exit 1; }
	@rm -rf $(VM_DIR)/kmod && mkdir -p $(VM_DIR)/kmod/uapi/linux
	@cp $(KMOD_C) $(KMOD_H) kmod/Kbuild $(VM_DIR)/kmod/
	@cp kmod/uapi/linux/mnsched.h $(VM_DIR)/kmod/uapi/linux/
	$(MAKE) -C $(VM_KDIR) M=$(CURDIR)/$(VM_DIR)/kmod modules

# Test-VM helper module (see tools/vm/vmhold/mnsched_vmhold.c); the VM's
# module targets depend on it so that it sits next to mnsched.ko.
$(VM_HOLD_KO): tools/vm/vmhold/mnsched_vmhold.c tools/vm/vmhold/Kbuild
	@test -n "$(VM_KVER)" || { echo "vm: no linux-headers-*-cloud-amd64 (tools/deps.sh)" >&2; exit 1; }
	@rm -rf $(VM_DIR)/vmhold && mkdir -p $(VM_DIR)/vmhold
	@cp tools/vm/vmhold/mnsched_vmhold.c tools/vm/vmhold/Kbuild $(VM_DIR)/vmhold/
	$(MAKE) -C $(VM_KDIR) M=$(CURDIR)/$(VM_DIR)/vmhold modules

vm-kernel: $(VM_KERNEL)
$(VM_KERNEL):
	@test -n "$(VM_KVER)" || { echo "vm: no linux-headers-*-cloud-amd64 (tools/deps.sh)" >&2; exit 1; }
	tools/vm/fetch-kernel.sh $(VM_KVER) $(VM_DIR)/kernel >/dev/null

# The list of programs is rewritten only when it changes.
$(VM_LIST): FORCE_VM_LIST
	@mkdir -p $(@D)
	@{ for b in $(VM_TEST_BINS); do echo "tap $$(basename $$b) /tests/$$(basename $$b)"; done; \
	   for b in $(VM_RUN_BINS); do echo "run $$(basename $$b) /tests/$$(basename $$b)"; done; \
	   echo "env $(VM_TEST_ENV)"; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE_VM_LIST

vm-initramfs: $(VM_INITRD)
$(VM_INITRD): $(VM_KO) $(VM_LIST) $(VM_ALL_BINS) tools/vm/init tools/vm/mkinitramfs.sh
	@echo "  INITRAMFS $@"
	@tools/vm/mkinitramfs.sh $@ $(VM_KO) $(VM_LIST) $(VM_ALL_BINS)

# vm-tests: each run has its own directory $(VM_DIR)/run.*, $(VM_DIR)/last
# names the latest (console.log, report.log, <program>.out, build logs).
# A result line for checkpatch; then every program is built on
# its own, so that one that does not build is a failure of its own and the
# others still run; then the VM run, whose report parser prints the TAP and
# appends one line per case.
vm-tests:
	@mkdir -p $(VM_DIR) $(dir $(MN_RESULTS))
	@rc=0; \
	if $(MAKE) --no-print-directory kmod-checkpatch >$(VM_DIR)/checkpatch.log 2>&1; then \
		echo "PASS kmod/checkpatch" >>$(MN_RESULTS); \
	else \
		cat $(VM_DIR)/checkpatch.log; rc=1; \
		echo "FAIL kmod/checkpatch see $(VM_DIR)/checkpatch.log" >>$(MN_RESULTS); \
	fi; \
	if ! $(MAKE) --no-print-directory $(VM_KERNEL) $(VM_KO); then \
		echo "FAIL vm/build (the VM kernel or mnsched.ko)" >>$(MN_RESULTS); exit 1; \
	fi; \
	run=$$(mktemp -d $(CURDIR)/$(VM_DIR)/run.XXXXXX); \
	ln -sfn $$(basename $$run) $(VM_DIR)/last; \
	ok=""; \
	for b in $(VM_ALL_BINS); do \
		n=$$(basename $$b); \
		if $(MAKE) --no-print-directory $$b >$$run/build-$$n.log 2>&1; then \
			ok="$$ok $$b"; \
		else \
			tail -n 20 $$run/build-$$n.log; rc=1; \
			echo "FAIL vm/$$n (does not build, see $$run/build-$$n.log)" >>$(MN_RESULTS); \
		fi; \
	done; \
	{ for b in $(VM_TEST_BINS); do case " $$ok " in *" $$b "*) \
		echo "tap $$(basename $$b) /tests/$$(basename $$b)";; esac; done; \
	  for b in $(VM_RUN_BINS); do case " $$ok " in *" $$b "*) \
		echo "run $$(basename $$b) /tests/$$(basename $$b)";; esac; done; \
	  echo "env $(VM_TEST_ENV)"; } >$$run/tests.list; \
	echo "  INITRAMFS $$run/initramfs.cpio.gz"; \
	tools/vm/mkinitramfs.sh $$run/initramfs.cpio.gz $(VM_KO) $$run/tests.list $$ok || exit 1; \
	echo "  VM      booting $(notdir $(VM_KERNEL)) under TCG (logs: $$run, also $(VM_DIR)/last)"; \
	tools/vm/run-vm.sh test $(VM_KERNEL) $$run/initramfs.cpio.gz $$run \
		$(VM_TIMEOUT) "mn.timeout=$(VM_TEST_TIMEOUT)" || true; \
	tools/vm/report.sh $$run $(MN_RESULTS) || rc=1; \
	rm -f $$run/initramfs.cpio.gz; \
	exit $$rc

vm-bench: $(VM_KERNEL) $(VM_KO) $(VM_RUN_BINS) $(VM_EXTRA_BINS)
	@run=$$(mktemp -d $(CURDIR)/$(VM_DIR)/run.XXXXXX); \
	ln -sfn $$(basename $$run) $(VM_DIR)/last; \
	for b in $(VM_RUN_BINS); do echo "run $$(basename $$b) /tests/$$(basename $$b)"; done >$$run/tests.list; \
	tools/vm/mkinitramfs.sh $$run/initramfs.cpio.gz $(VM_KO) $$run/tests.list $(VM_RUN_BINS) $(VM_EXTRA_BINS) && \
	tools/vm/run-vm.sh test $(VM_KERNEL) $$run/initramfs.cpio.gz $$run $(VM_TIMEOUT); \
	tools/vm/report.sh $$run /dev/null >/dev/null; \
	rm -f $$run/initramfs.cpio.gz; \
	cat $(patsubst %,$$run/%.out,$(notdir $(VM_RUN_BINS)))

vm-shell: $(VM_KERNEL) $(VM_INITRD)
	tools/vm/run-vm.sh shell $(VM_KERNEL) $(VM_INITRD) $(VM_DIR)

vm-clean:
	rm -rf $(VM_DIR)/bin $(VM_DIR)/kmod $(VM_DIR)/*.cpio.gz $(VM_DIR)/*.list \
	       $(VM_DIR)/*.log $(VM_DIR)/*.out $(VM_DIR)/run.* $(VM_DIR)/last
