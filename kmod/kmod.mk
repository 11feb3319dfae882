# SPDX-License-Identifier: GPL-2.0
# kmod/kmod.mk - mnsched.ko, included by the top-level Makefile.
#
#   make kmod             build kmod/mnsched.ko against KDIR
#   make kmod-checkpatch  checkpatch.pl and kernel-doc (from linux-source-6.1)
#                         on kmod/
#   make kmod-dkms        install the sources under /usr/src and dkms install
#                         (for the running kernel, or DKMS_KVER=<version>)
#
# KDIR defaults to the running kernel's build directory when it exists, else
# the newest headers the test VM fetched (build/vm/kernels/, see
# tools/vm/fetch-kernel.sh), else the newest installed Debian
# linux-headers-*-cloud-amd64.  The VM builds its own copies per kernel.

KMOD_HDRS_DIR := $(or \
	$(lastword $(shell ls -d $(B)/vm/kernels/*/root/usr/src/linux-headers-*-amd64 2>/dev/null | sort -V)), \
	$(lastword $(shell ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V)))
KDIR	?= $(or $(wildcard /lib/modules/$(shell uname -r)/build),$(KMOD_HDRS_DIR))
KMOD_C	:= $(sort $(wildcard kmod/*.c))
KMOD_C	:= $(filter-out %.mod.c,$(KMOD_C))
KMOD_H	:= $(filter-out kmod/compat_conf.h,$(sort $(wildcard kmod/*.h)))
KMOD_SRCS := $(KMOD_C) $(KMOD_H) kmod/Kbuild kmod/conftest.sh \
	     kmod/uapi/linux/mnsched.h
KMOD_KO	:= kmod/mnsched.ko
KMOD_VERSION := 0.1

.PHONY: kmod kmod-checkpatch kmod-clean kmod-dkms

kmod: $(KMOD_KO)

$(KMOD_KO): $(KMOD_SRCS)
	@if [ -z "$(KDIR)" ] || [ ! -d "$(KDIR)" ]; then \
		echo "kmod: no kernel build directory (KDIR='$(KDIR)'); make vm-tests fetches the Debian kernels' headers, or set KDIR" >&2; \
		exit 1; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules

# Build the module with plain `make` only where it cannot fail for want of
# kernel headers.
ifneq ($(KDIR),)
ifneq ($(wildcard $(KDIR)/Makefile),)
ALL_EXTRA += kmod
endif
endif

CHECKPATCH := $(KSFT)/scripts/checkpatch.pl
CHECKPATCH_FLAGS := --no-tree --quiet --terse --show-types --file
# uapi headers cannot use the kernel's __aligned().
CHECKPATCH_UAPI_FLAGS := --ignore PREFER_DEFINED_ATTRIBUTE_MACRO

# kernel-doc comes from the same tarball (a stamp of its own, so trees
# extracted before it was needed get it too).
KERNEL_DOC := $(KSFT)/scripts/kernel-doc
$(KERNEL_DOC): $(KSFT_STAMP)
	tar -xJf $(KSRC_TAR) -C $(KSFT) --strip-components=1 --wildcards '*/scripts/kernel-doc'
	@touch $@

kmod-checkpatch: $(KSFT_STAMP) $(KERNEL_DOC)
	@echo "  CHECKPATCH kmod/"
	@$(CHECKPATCH) $(CHECKPATCH_FLAGS) $(KMOD_C) $(KMOD_H)
	@$(CHECKPATCH) $(CHECKPATCH_FLAGS) $(CHECKPATCH_UAPI_FLAGS) kmod/uapi/linux/mnsched.h
	@$(CHECKPATCH) $(CHECKPATCH_FLAGS) $(wildcard tools/vm/vmhold/*.c)
	@echo "  CHECKPATCH clean"
	@echo "  KERNEL-DOC kmod/"
	@out=$$(perl $(KERNEL_DOC) -none $(KMOD_C) $(KMOD_H) kmod/uapi/linux/mnsched.h 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@echo "  KERNEL-DOC clean"

kmod-dkms:
	-dkms remove mnsched/$(KMOD_VERSION) --all 2>/dev/null
	rm -rf /usr/src/mnsched-$(KMOD_VERSION)
	mkdir -p /usr/src/mnsched-$(KMOD_VERSION)/uapi/linux
	cp $(KMOD_C) $(KMOD_H) kmod/Kbuild kmod/conftest.sh \
	   kmod/dkms.conf /usr/src/mnsched-$(KMOD_VERSION)/
	cp kmod/uapi/linux/mnsched.h /usr/src/mnsched-$(KMOD_VERSION)/uapi/linux/
	dkms install mnsched/$(KMOD_VERSION) $(if $(DKMS_KVER),-k $(DKMS_KVER))

kmod-clean:
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/compat_conf.h \
	      kmod/modules.order kmod/Module.symvers kmod/.*.o.d
	rm -rf kmod/.tmp_versions

CLEAN_EXTRA += kmod-clean
