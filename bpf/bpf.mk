# SPDX-License-Identifier: MIT
# bpf/bpf.mk - the eBPF programs of the mnsched tools, included by the top
# Makefile.
#
#   make bpf        build/bpf/vmlinux.h, build/bpf/NAME.bpf.o, build/bpf/NAME.skel.h
#
# bpf/NAME.bpf.c is compiled CO-RE (clang -target bpf -g -O2) against a
# vmlinux.h that bpftool dumps from the running kernel's BTF at build time
# (never committed); `bpftool gen skeleton` turns the object into the
# skeleton header tools/NAME.c includes.  bpftool and libbpf come from the
# same Debian release (bpftool 7.1 "using libbpf v1.1", libbpf-dev 1.1), so
# the skeletons match the library the tools link.
#
# Debian: clang -target bpf does not search the multiarch include directory
# where <asm/types.h> lives, so its system directories are added with
# -idirafter (after ours, so vmlinux.h's types win).

BPF_OUT		:= $(B)/bpf
BPFTOOL		?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BPF_CLANG	?= clang
VMLINUX_BTF	?= /sys/kernel/btf/vmlinux
BPF_ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_SYS_INC	:= $(shell $(BPF_CLANG) -v -E - </dev/null 2>&1 | \
		     awk '/<...> search starts here:/ { on = 1; next } \
			  /End of search list/ { on = 0 } \
			  on { printf "-idirafter %s ", $$1 }')
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall \
		   -Wno-unused-function -I$(BPF_OUT) -Ibpf -Itools -Ikmod/uapi \
		   -idirafter user/src \
		   $(BPF_SYS_INC)
BPF_SRCS	:= $(sort $(wildcard bpf/*.bpf.c))
BPF_NAMES	:= $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
BPF_OBJS	:= $(BPF_NAMES:%=$(BPF_OUT)/%.bpf.o)
BPF_SKELS	:= $(BPF_NAMES:%=$(BPF_OUT)/%.skel.h)

.PHONY: bpf
bpf: $(BPF_SKELS)

# Regenerated only when the kernel's BTF changes (a new kernel).
$(BPF_OUT)/vmlinux.h: $(VMLINUX_BTF)
	@mkdir -p $(@D)
	@test -r $(VMLINUX_BTF) || { echo "bpf: no kernel BTF at $(VMLINUX_BTF) (CONFIG_DEBUG_INFO_BTF=y is needed)" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	@mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_OUT)/vmlinux.h $(wildcard bpf/*.h) \
		    $(wildcard tools/mnsched-*.h)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	@# Drop DWARF (BTF stays): smaller skeletons, same CO-RE.
	llvm-strip -g $@.tmp
	@mv $@.tmp $@

# The skeleton is struct NAME_bpf, with "-" in NAME turned into "_".
$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o bpf/bpf.mk
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp
	@mv $@.tmp $@

.PRECIOUS: $(BPF_OUT)/%.bpf.o $(BPF_OUT)/vmlinux.h
