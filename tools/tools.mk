# SPDX-License-Identifier: MIT
# tools/tools.mk - mnsched-top, mnsched-lat, mnsched-trace (libbpf-tools
# style: bpf/NAME.bpf.c + tools/NAME.c + tools/NAME.h), included by the top
# Makefile after bpf/bpf.mk.
#
#   make tools      build/tools/mnsched-{top,lat,trace}
#
# They link the system libbpf (libbpf-dev 1.1, the version bpftool 7.1 was
# built with, which generated the skeletons) and libelf.

TOOLS_OUT	:= $(B)/tools
TOOL_NAMES	:= mnsched-top mnsched-lat mnsched-trace
TOOL_NAMES	:= $(filter $(TOOL_NAMES),$(patsubst tools/%.c,%,$(wildcard tools/mnsched-*.c)))
TOOL_BINS	:= $(TOOL_NAMES:%=$(TOOLS_OUT)/%)
TOOLS_CFLAGS	:= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
		   -D_GNU_SOURCE -Itools -I$(BPF_OUT) -Ikmod/uapi
TOOLS_LDLIBS	:= -lbpf -lelf -lz
TOOLS_COMMON_H	:= tools/mnsched-util.h tools/mnsched-common.h kmod/uapi/linux/mnsched.h

tools: $(TOOL_BINS)

$(TOOLS_OUT)/mnsched-util.o: tools/mnsched-util.c $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_OUT)/%.o: tools/%.c tools/%.h $(BPF_OUT)/%.skel.h $(TOOLS_COMMON_H)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_OUT)/mnsched-%: $(TOOLS_OUT)/mnsched-%.o $(TOOLS_OUT)/mnsched-util.o
	$(CC) -o $@ $^ $(TOOLS_LDLIBS)

ALL_EXTRA	+= tools
