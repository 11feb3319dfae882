# SPDX-License-Identifier: MIT
# tools/tools.mk - mnsched-top, mnsched-lat, mnsched-trace, mnsched-prof
# (libbpf-tools style: bpf/NAME.bpf.c + tools/NAME.c + tools/NAME.h),
# included by the top Makefile after bpf/bpf.mk.
#
#   make tools      build/tools/mnsched-{top,lat,trace,prof}
#
# They link the system libbpf (libbpf-dev 1.1, the version bpftool 7.1 was
# built with, which generated the skeletons) and libelf.  Their tests:
# selftests/mnsched/bpf.mk.  Also here: the showcase `make demo` runs
# (build/demo/showcase) and the installation of the gdb extension.

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

.PHONY: tools
tools: $(TOOL_BINS)

# Pieces without a BPF program of their own: the helpers every tool links,
# and mnsched-trace's timeline writer.
$(TOOLS_OUT)/mnsched-util.o $(TOOLS_OUT)/perfetto.o: $(TOOLS_OUT)/%.o: tools/%.c tools/%.h $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@
$(TOOLS_OUT)/perfetto.o: tools/mnsched-trace.h

$(TOOLS_OUT)/%.o: tools/%.c tools/%.h $(BPF_OUT)/%.skel.h $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_OUT)/mnsched-%: $(TOOLS_OUT)/mnsched-%.o $(TOOLS_OUT)/mnsched-util.o
	$(CC) -o $@ $^ $(TOOLS_LDLIBS)

$(TOOLS_OUT)/mnsched-trace: $(TOOLS_OUT)/perfetto.o

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
	@echo "tools: mnsched-top/lat/trace/prof not built: $(TOOLS_MISSING) (tools/deps.sh installs clang and bpftool; BTF needs CONFIG_DEBUG_INFO_BTF=y)"
endif

# ---- the showcase (make demo: tools/demo.sh runs it) ----------------------

DEMO_BIN := $(B)/demo/showcase
$(DEMO_BIN): tools/demo/showcase.c user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) -O2 -g -pthread -Wall -Iuser/include $< -o $@ $(USER_LIB) -luring -lpthread
ALL_EXTRA += $(DEMO_BIN)

# ---- the gdb extension ------------------------------------------------------
# make install also puts tools/gdb/mnsched.py where gdb auto-loads it for
# every program linked with libmnsched: the path libmnsched's
# .debug_gdb_scripts section names, $(GDB_SCRIPT) (top Makefile; gdb trusts
# $(GDB_DATADIR)/auto-load).  Its tests: selftests/mnsched/debug.mk.

.PHONY: install-gdb
install: install-gdb
install-gdb:
	install -D -m 644 tools/gdb/mnsched.py $(DESTDIR)$(GDB_SCRIPT)
