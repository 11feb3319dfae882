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
#                   and the gdb extension (tools/tools.mk)
#
# This file builds the library (user/src) and its variants; every other part
# is a fragment, included below, that builds its own directory and adds to
# the lists ALL_EXTRA, CLEAN_EXTRA, HOST_TESTS, VM_TESTS, VM_DEBUG_TESTS and
# the VM_* program lists (tools/vm/vm.mk).  Host test groups add a phony
# target to HOST_TESTS; each appends result lines to $(MN_RESULTS) through
# selftests/mnsched/run_tests.sh.

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

.PHONY: all user demo bench check check-host check-vm check-debug \
	check-host-run check-vm-run check-debug-run install clean deps ksft
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
# The path of the gdb extension that libmnsched's .debug_gdb_scripts section
# names (user/src/debug.c; tools/tools.mk installs it there, and
# selftests/mnsched/debug.mk tests it).
GDB_DATADIR	?= /usr/share/gdb
GDB_SCRIPT	:= $(GDB_DATADIR)/auto-load/mnsched/mnsched-gdb.py
USER_CPPFLAGS	+= -DMN_GDB_SCRIPT='"$(GDB_SCRIPT)"'

# The runtime's text: every object's .text* renamed to one section, mn_text,
# whose bounds (__start_mn_text, __stop_mn_text) tell the preemption
# signal's handler that the interrupted pc is runtime code (preempt.c,
# runtime.h).  Every build of the objects, variants and sanitizers too.
MN_TEXT	:= $(foreach s,.text .text.unlikely .text.hot .text.startup .text.exit, \
	     --rename-section $(s)=mn_text)

# ---- library variants: build/VARIANT/*.o and build/VARIANT/libmnsched.a ----
#   plain       the library (user/libmnsched.a and .so are linked from these
#               objects); they also leave GCC's call graph (x.ci beside x.o)
#               for tools/check-rt-calls.py (see the library rules below)
#   asan, tsan  sanitizer builds for the test suite (selftests/mnsched/*.mk)
#   noprobes, nocounters, nopreempt  for the overhead benchmarks
#               (tools/bench: benchmarks.tbl lines PROG.VARIANT compare each
#               with the real library): no USDT probes, no per-P statistics
#               counters, no runtime-entry marks and no preemption (what
#               preemption costs when nothing overruns)
# VARIANT_CFLAGS_v are added when compiling C, VARIANT_ASFLAGS_v assembly.
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -DMN_SAN_ASAN=1
SAN_tsan := -fsanitize=thread -DMN_SAN_TSAN=1
BENCH_LIB_VARIANTS	:= noprobes nocounters nopreempt
LIB_VARIANTS		:= plain asan tsan $(BENCH_LIB_VARIANTS)
VARIANT_CFLAGS_plain	:= -fcallgraph-info
VARIANT_CFLAGS_asan	:= $(SAN_asan)
VARIANT_ASFLAGS_asan	:= $(SAN_asan)
VARIANT_CFLAGS_tsan	:= $(SAN_tsan)
VARIANT_ASFLAGS_tsan	:= $(SAN_tsan)
VARIANT_CFLAGS_noprobes	:= -DMN_NO_PROBES
VARIANT_CFLAGS_nocounters := -DMN_NO_COUNTERS
VARIANT_CFLAGS_nopreempt := -DMN_NO_PREEMPT

define mn_lib_variant
$(B)/$(1)/%.o: user/src/%.c $$(USER_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(USER_CPPFLAGS) $$(USER_CFLAGS) $$(VARIANT_CFLAGS_$(1)) -c $$< -o $$@
	objcopy $$(MN_TEXT) $$@
$(B)/$(1)/%.o: user/src/%.S
	@mkdir -p $$(@D)
	$$(CC) $$(USER_CPPFLAGS) $$(VARIANT_ASFLAGS_$(1)) -c $$< -o $$@
	objcopy $$(MN_TEXT) $$@
endef
$(foreach v,$(LIB_VARIANTS),$(eval $(call mn_lib_variant,$(v))))

.SECONDEXPANSION:
# Keep the variants' objects (pattern-rule intermediates).
.SECONDARY:
user_objs = $(patsubst user/src/%.c,$(B)/$(1)/%.o,$(USER_SRCS)) \
	    $(patsubst user/src/%.S,$(B)/$(1)/%.o,$(USER_ASM))

USER_LIB	:= user/libmnsched.a
USER_SO		:= user/libmnsched.so
user: $(USER_LIB) $(USER_SO) user/mnsched.pc

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
# The grep proves there is no such call left.  user/libmnsched.map: what it
# exports (the API, not the test hooks).
USER_SO_LDFLAGS := -shared -pthread -Wl,-soname,libmnsched.so.0 -Wl,-Bsymbolic-functions
$(USER_SO): $(call user_objs,plain) $(B)/plain/rt-calls.ok user/libmnsched.map | $(B)/plain/defs.ok
	$(CC) $(USER_SO_LDFLAGS) -Wl,--version-script=user/libmnsched.map \
		-o $@ $(call user_objs,plain) -luring
	@if objdump -d $@ | grep -E '(call|jmp).*<mn_[a-z0-9_]*@plt>'; then \
		echo "$@: calls of its own functions through the PLT (above)"; \
		rm -f $@; exit 1; fi
# build/VARIANT/libmnsched.a, for each of LIB_VARIANTS above.
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
# The parts first, then their tests (which use the parts' variables), then the
# benchmarks and the test VM.  A missing fragment is an error.

include kmod/kmod.mk
include bpf/bpf.mk
include tools/tools.mk
include user/examples/examples.mk
include selftests/mnsched/selftests.mk
include selftests/mnsched/io.mk
include selftests/mnsched/debug.mk
include selftests/mnsched/bpf.mk
include selftests/mnsched/kmod.mk
include tools/bench/bench.mk
include tools/vm/vm.mk

# ---- top-level jobs ----------------------------------------------------

# The fragments' test targets are phony like the rest: read after them.
.PHONY: $(HOST_TESTS) $(VM_TESTS) $(VM_DEBUG_TESTS) $(CLEAN_EXTRA)

all: $(ALL_EXTRA)

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory bench-run

# check-host and check-vm each print their own tally; check prints the total
# of both last.  The sub-makes' lines run under `make -n` too (they name
# $(MAKE)), which then prints the plan; the summaries are lines of their own,
# which -n only prints.
check: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory -k check-host-run || \
		echo "FAIL check-host/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	$(MAKE) --no-print-directory check-vm-run || \
		echo "FAIL check-vm/make (a build or test step failed; see above)" >> $(MN_RESULTS); \
	$(MAKE) --no-print-directory check-debug-run || \
		echo "FAIL check-debug/make (a build or test step failed; see above)" >> $(MN_RESULTS)
	@selftests/mnsched/summary.sh $(MN_RESULTS) "make check"

check-host: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory -k check-host-run || \
		echo "FAIL check-host/make (a build or test step failed; see above)" >> $(MN_RESULTS)
	@selftests/mnsched/summary.sh $(MN_RESULTS) "check-host"

check-vm: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory check-vm-run || \
		echo "FAIL check-vm/make (a build or test step failed; see above)" >> $(MN_RESULTS)
	@selftests/mnsched/summary.sh $(MN_RESULTS) "check-vm"

check-debug: deps
	@mkdir -p $(B); rm -f $(MN_RESULTS)
	@$(MAKE) --no-print-directory check-debug-run || \
		echo "FAIL check-debug/make (a build or test step failed; see above)" >> $(MN_RESULTS)
	@selftests/mnsched/summary.sh $(MN_RESULTS) "check-debug"

check-host-run: $(HOST_TESTS)
check-debug-run: $(VM_DEBUG_TESTS)
check-vm-run: $(VM_TESTS)

clean: $(CLEAN_EXTRA)
	rm -rf $(B) $(USER_LIB) $(USER_SO) user/mnsched.pc
