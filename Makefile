# mnsched top-level Makefile.
#
#   make            build everything that exists (user, kmod, bpf, tools)
#   make demo       install deps, build, run the showcase
#   make check      check-host (runtime, io_uring, BPF) + check-vm (the module
#                   on Debian's 6.1 and 6.12) + check-debug (the module under
#                   a lockdep/KASAN/KFENCE kernel)
#   make bench      ours vs Go side by side
#   make install    PREFIX=/usr/local DESTDIR= : library, header, mnsched.pc,
#                   the tools (mnsched-top/lat/trace/prof) where they build,
#                   and the gdb extension (selftests/mnsched/debug.mk)
#
# Parts live in fragments that add to the variables below:
#   kmod/kmod.mk, bpf/bpf.mk, tools/tools.mk, tools/bench/bench.mk,
#   tools/vm/vm.mk, selftests/mnsched/selftests.mk
# Host test groups add a phony target to HOST_TESTS; each appends result
# lines to $(MN_RESULTS) through selftests/mnsched/run_tests.sh.

PREFIX	?= /usr/local
LIBDIR	?= $(PREFIX)/lib
INCDIR	?= $(PREFIX)/include
BINDIR	?= $(PREFIX)/bin
DESTDIR	?=
CC	?= cc
B	:= build
# Absolute path of the results file: test targets may run from other dirs.
MN_RESULTS ?= $(CURDIR)/$(B)/results.txt
export MN_RESULTS

.PHONY: all user kmod bpf tools demo bench check check-host check-vm check-debug \
	install clean deps ksft $(HOST_TESTS)
all: user

deps:
	@tools/deps.sh

# ---- libmnsched ---------------------------------------------------------

USER_SRCS := $(sort $(wildcard user/src/*.c))
USER_ASM  := $(sort $(wildcard user/src/*.S))
USER_HDRS := $(wildcard user/include/*.h user/src/*.h) $(wildcard kmod/uapi/linux/*.h)

WARN	 := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes
USER_CPPFLAGS := -Iuser/include -Iuser/src -Ikmod/uapi -D_GNU_SOURCE
USER_CFLAGS   := -O2 -g -fPIC -pthread -fno-omit-frame-pointer $(WARN) \
		 -fvisibility=hidden
# Variants: the plain library, and sanitizer builds for the test suite.
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -DMN_SAN_ASAN=1
SAN_tsan := -fsanitize=thread -DMN_SAN_TSAN=1

.SECONDEXPANSION:
# Keep the sanitizer builds' objects (pattern-rule intermediates).
.SECONDARY:
user_objs = $(patsubst user/src/%.c,$(B)/$(1)/%.o,$(USER_SRCS)) \
	    $(patsubst user/src/%.S,$(B)/$(1)/%.o,$(USER_ASM))

USER_LIB	:= user/libmnsched.a
USER_SO		:= user/libmnsched.so
user: $(USER_LIB) $(USER_SO) user/mnsched.pc

# The runtime's text: every object's .text* renamed to one section, mn_text,
# whose bounds (__start_mn_text, __stop_mn_text) tell the preemption
# signal's handler that the interrupted pc is runtime code (preempt.c,
# runtime.h).  Every build of the objects, variants and sanitizers too.
MN_TEXT	:= $(foreach s,.text .text.unlikely .text.hot .text.startup .text.exit, \
	     --rename-section $(s)=mn_text)
# The plain objects also leave GCC's call graph (x.ci beside x.o) for
# tools/check-rt-calls.py (see the library rules below).
$(B)/plain/%.o: user/src/%.c $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) $(USER_CFLAGS) -fcallgraph-info -c $< -o $@
	objcopy $(MN_TEXT) $@
$(B)/plain/%.o: user/src/%.S
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) -c $< -o $@
	objcopy $(MN_TEXT) $@
$(B)/asan/%.o: user/src/%.c $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) $(USER_CFLAGS) $(SAN_asan) -c $< -o $@
	objcopy $(MN_TEXT) $@
$(B)/asan/%.o: user/src/%.S
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) $(SAN_asan) -c $< -o $@
	objcopy $(MN_TEXT) $@
$(B)/tsan/%.o: user/src/%.c $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) $(USER_CFLAGS) $(SAN_tsan) -c $< -o $@
	objcopy $(MN_TEXT) $@
$(B)/tsan/%.o: user/src/%.S
	@mkdir -p $(@D)
	$(CC) $(USER_CPPFLAGS) $(SAN_tsan) -c $< -o $@
	objcopy $(MN_TEXT) $@

# No unmarked call out of the runtime's text from a hot entry point
# (MN_ENTER_FAST): checked on the plain objects before they are archived.
$(B)/plain/rt-calls.ok: $(call user_objs,plain) tools/check-rt-calls.py
	tools/check-rt-calls.py $(B)/plain user/src
	@touch $@

# The README's probe table and wait reasons say what user/src/probe_defs.h
# defines (the list the library and the tools are built from); order-only
# below, so that an edit of the README does not relink the library.
$(B)/plain/defs.ok: user/src/probe_defs.h README.md tools/check-defs.py
	@mkdir -p $(@D)
	tools/check-defs.py user/src/probe_defs.h README.md
	@touch $@

$(USER_LIB): $(call user_objs,plain) $(B)/plain/rt-calls.ok | $(B)/plain/defs.ok
	@rm -f $@
	ar rcs $@ $(call user_objs,plain)
# -Bsymbolic-functions: the library's own calls of its exported functions
# (mn_yield from a preemption point, mn_goid...) go straight to them, not
# through the PLT, whose stubs (and lazy binding's resolver) lie outside
# mn_text: the preemption handler would take them for the program's code.
# The grep proves there is no such call left.
$(USER_SO): $(call user_objs,plain) $(B)/plain/rt-calls.ok | $(B)/plain/defs.ok
	$(CC) -shared -pthread -Wl,-soname,libmnsched.so.0 -Wl,-Bsymbolic-functions \
		-o $@ $(call user_objs,plain) -luring
	@if objdump -d $@ | grep -E '(call|jmp).*<mn_[a-z0-9_]*@plt>'; then \
		echo "$@: calls of its own functions through the PLT (above)"; \
		rm -f $@; exit 1; fi
$(B)/%/libmnsched.a: $$(call user_objs,$$*)
	@rm -f $@
	ar rcs $@ $^

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	     -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|0.1|'
# user/mnsched.pc points into the build tree, for use without installing;
# make install writes one for PREFIX.
user/mnsched.pc: user/mnsched.pc.in Makefile
	$(PC_SED) -e 's|^libdir=.*|libdir=$(CURDIR)/user|' \
		-e 's|^includedir=.*|includedir=$(CURDIR)/user/include|' $< > $@

install: user
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 644 $(USER_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(USER_SO) $(DESTDIR)$(LIBDIR)/libmnsched.so.0
	ln -sf libmnsched.so.0 $(DESTDIR)$(LIBDIR)/libmnsched.so
	install -m 644 user/include/mnsched.h $(DESTDIR)$(INCDIR)/
	$(PC_SED) user/mnsched.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/mnsched.pc

# ---- kselftest harness, extracted from Debian's linux-source-6.1 --------

KSRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))
KSFT	 := $(B)/ksft
KSFT_STAMP := $(KSFT)/.stamp
ksft: $(KSFT_STAMP)
$(KSFT_STAMP):
	@tools/deps.sh
	@mkdir -p $(KSFT)
	@echo "  EXTRACT kselftest harness and checkpatch from $(notdir $(KSRC_TAR))"
	tar -xJf $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz)) -C $(KSFT) \
	    --strip-components=1 --wildcards \
	    '*/tools/testing/selftests/kselftest_harness.h' \
	    '*/tools/testing/selftests/kselftest.h' \
	    '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	    '*/scripts/const_structs.checkpatch'
	@touch $@
KSFT_CFLAGS := -I$(KSFT)/tools/testing/selftests

# ---- fragments -----------------------------------------------------------

-include selftests/mnsched/selftests.mk
-include selftests/mnsched/io.mk
-include selftests/mnsched/debug.mk
-include user/examples/examples.mk
-include kmod/kmod.mk
-include bpf/bpf.mk
-include tools/tools.mk
-include tools/bench/bench.mk
-include tools/vm/vm.mk

# ---- top-level jobs ----------------------------------------------------

DEMO_BIN := $(B)/demo/showcase
$(DEMO_BIN): tools/demo/showcase.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) -O2 -g -pthread -Wall -Iuser/include $< -o $@ $(USER_LIB) -luring -lpthread
ALL_EXTRA += $(DEMO_BIN)

all: $(ALL_EXTRA)

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory bench-run

# check-host and check-vm each print their own tally; check prints the total
# of both last.
check: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@rc=0; \
	$(MAKE) --no-print-directory -k check-host-run || \
		echo "FAIL check-host/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	$(MAKE) --no-print-directory check-vm-run || \
		echo "FAIL check-vm/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	$(MAKE) --no-print-directory check-debug-run || \
		echo "FAIL check-debug/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	selftests/mnsched/summary.sh $(MN_RESULTS) "make check" || rc=1; exit $$rc

check-host: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory -k check-host-run || \
		echo "FAIL check-host/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	selftests/mnsched/summary.sh $(MN_RESULTS) "check-host"

check-vm: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory check-vm-run || \
		echo "FAIL check-vm/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	selftests/mnsched/summary.sh $(MN_RESULTS) "check-vm"

check-debug: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory check-debug-run || \
		echo "FAIL check-debug/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	selftests/mnsched/summary.sh $(MN_RESULTS) "check-debug"

check-host-run: $(HOST_TESTS)
check-debug-run: $(VM_DEBUG_TESTS)
check-vm-run: $(VM_TESTS)

clean: $(CLEAN_EXTRA)
	rm -rf $(B) $(USER_LIB) $(USER_SO) user/mnsched.pc
