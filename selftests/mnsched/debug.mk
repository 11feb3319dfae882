# SPDX-License-Identifier: MIT
# selftests/mnsched/debug.mk - the host tests of the gdb extension
# (tools/gdb/mnsched.py, installed by tools/tools.mk) and of the G dumps,
# included by the top Makefile.  (rt_debug.c, the dump/stall/label
# kselftests, is built and run with the other rt_*.c by selftests.mk.)
#
#   make test-gdb     selftests/mnsched/gdb_tests.sh (part of check-host)

.PHONY: test-gdb

DBG_TEST_OUT	:= $(B)/tests/dbg
DBG_TEST_BINS	:= $(DBG_TEST_OUT)/dbg_target $(DBG_TEST_OUT)/dbg_target_so

$(eval $(call target_pair,$(DBG_TEST_OUT),dbg_target,$(TARGET_CFLAGS)))

test-gdb: $(DBG_TEST_BINS)
	@selftests/mnsched/gdb_tests.sh $(MN_RESULTS) $(DBG_TEST_OUT) tools/gdb/mnsched.py $(GDB_SCRIPT)

HOST_TESTS	+= test-gdb
