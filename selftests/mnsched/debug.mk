# SPDX-License-Identifier: MIT
# selftests/mnsched/debug.mk - the gdb extension (tools/gdb/mnsched.py), its
# installation and the host tests of it and of the G dumps, included by the
# top Makefile.  (rt_debug.c, the dump/stall/label kselftests, is built and
# run with the other rt_*.c by selftests.mk.)
#
#   make install      also puts tools/gdb/mnsched.py where gdb auto-loads it
#                     for every program linked with libmnsched: the path
#                     libmnsched's .debug_gdb_scripts section names,
#                     $(GDB_SCRIPT) (gdb trusts $(GDB_DATADIR)/auto-load)
#   make test-gdb     selftests/mnsched/gdb_tests.sh (part of check-host)

GDB_DATADIR	?= /usr/share/gdb
GDB_SCRIPT	:= $(GDB_DATADIR)/auto-load/mnsched/mnsched-gdb.py
USER_CPPFLAGS	+= -DMN_GDB_SCRIPT='"$(GDB_SCRIPT)"'

.PHONY: install-gdb test-gdb
install: install-gdb
install-gdb:
	install -D -m 644 tools/gdb/mnsched.py $(DESTDIR)$(GDB_SCRIPT)

DBG_TEST_OUT	:= $(B)/tests/dbg
DBG_TEST_CFLAGS	:= -O2 -g -pthread -Wall -Wno-unused-parameter -D_GNU_SOURCE -Iuser/include
DBG_TEST_BINS	:= $(DBG_TEST_OUT)/dbg_target $(DBG_TEST_OUT)/dbg_target_so

$(DBG_TEST_OUT)/dbg_target: selftests/mnsched/dbg_target.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(DBG_TEST_CFLAGS) $< -o $@ $(USER_LIB) -luring -lpthread
# The shared-library twin loads its own copy of libmnsched.so (by soname).
$(DBG_TEST_OUT)/lib/libmnsched.so.0: $(USER_SO)
	@mkdir -p $(@D)
	cp $< $@
$(DBG_TEST_OUT)/dbg_target_so: selftests/mnsched/dbg_target.c user/include/mnsched.h \
			       $(DBG_TEST_OUT)/lib/libmnsched.so.0
	$(CC) $(DBG_TEST_CFLAGS) $< -o $@ $(DBG_TEST_OUT)/lib/libmnsched.so.0 \
		-Wl,-rpath,'$$ORIGIN/lib' -luring -lpthread

test-gdb: $(DBG_TEST_BINS)
	@selftests/mnsched/gdb_tests.sh $(MN_RESULTS) $(DBG_TEST_OUT) tools/gdb/mnsched.py $(GDB_SCRIPT)

HOST_TESTS	+= test-gdb
