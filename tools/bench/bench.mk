# tools/bench/bench.mk - C on mnsched vs Go, side by side.  Included by the
# top Makefile, whose `bench` target builds `all` and then `bench-run`.
#
#   make bench                          every benchmark of benchmarks.tbl
#   make bench BENCH=skynet,yield       a subset
#   make bench BENCH_RUNS=9             runs per side (median; default 5)
#   make bench BENCH_FORMAT=md          a markdown table for README.md
#   make bench BENCH_VERBOSE=1          also every run's value
#   make bench BENCH_STRICT=1           exit 1 when a target is missed
#   make bench-build                    only build build/bench/{c,go}/NAME
#
# Adding a benchmark: drop tools/bench/progs/NAME.c and NAME.go (each prints
# "RESULT NAME VALUE UNIT") and add a line to tools/bench/benchmarks.tbl.
#
# A line named PROG.VARIANT compares two C builds of progs/PROG.c (run.sh):
# c/PROG and, when VARIANT is one of BENCH_LIB_VARIANTS (the top Makefile's
# library variants noprobes, nocounters, nopreempt), c-VARIANT/PROG linked
# with $(B)/VARIANT/libmnsched.a;
# PROG.ceiling compares it with progs/PROG_ceiling.c (below).

BENCH_DIR	:= tools/bench
BENCH_OUT	:= $(B)/bench
# Names: first word of each non-comment line of the table.
BENCH_NAMES	:= $(shell awk 'NF && substr($$1, 1, 1) != "\043" { print $$1 }' \
		     $(BENCH_DIR)/benchmarks.tbl)
bench_comma	:= ,
BENCH_SEL	:= $(if $(BENCH),$(subst $(bench_comma), ,$(BENCH)),$(BENCH_NAMES))

BENCH_RUNS	?= 5
BENCH_FORMAT	?= text
BENCH_VERBOSE	?= 0
BENCH_STRICT	?= 0
BENCH_VARIANT_RUNS ?= 31

BENCH_CFLAGS	:= -O2 -g -pthread -Wall -Wextra -Wno-unused-parameter \
		   -D_GNU_SOURCE -Iuser/include
BENCH_LDLIBS	:= $(USER_LIB) -luring -lpthread
# Standard library only, no network: no go.mod needed, caches under build/.
BENCH_GOENV	:= GOCACHE=$(CURDIR)/$(BENCH_OUT)/gocache \
		   GOPATH=$(CURDIR)/$(BENCH_OUT)/gopath \
		   GOFLAGS=-mod=mod GO111MODULE=on GOPROXY=off CGO_ENABLED=0

$(BENCH_OUT)/c/%: $(BENCH_DIR)/progs/%.c $(BENCH_DIR)/progs/bench.h \
		  user/include/mnsched.h $(USER_LIB)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $< -o $@ $(BENCH_LDLIBS)

$(BENCH_OUT)/go/%: $(BENCH_DIR)/progs/%.go $(BENCH_DIR)/progs/benchutil.go
	@mkdir -p $(@D)
	$(BENCH_GOENV) go build -o $@ $^

# PROG.VARIANT -> PROG, VARIANT
bench_prog	= $(firstword $(subst ., ,$(1)))
bench_var	= $(word 2,$(subst ., ,$(1)))
BENCH_BINS	:= $(sort $(foreach n,$(BENCH_SEL),$(BENCH_OUT)/c/$(call bench_prog,$(n)) \
		     $(if $(findstring .,$(n)), \
		       $(if $(filter $(call bench_var,$(n)),$(BENCH_LIB_VARIANTS)), \
			 $(BENCH_OUT)/c-$(call bench_var,$(n))/$(call bench_prog,$(n))), \
		       $(BENCH_OUT)/go/$(n))))

# PROG.ceiling: its base side is not a library build but another program,
# progs/PROG_ceiling.c, without mnsched: the most this machine gives that
# benchmark (a busy-polling HTTP server, a bare io_uring read loop).
BENCH_BINS	+= $(foreach n,$(filter %.ceiling,$(BENCH_SEL)), \
		     $(BENCH_OUT)/c-ceiling/$(call bench_prog,$(n)))
$(BENCH_OUT)/c-ceiling/%: $(BENCH_DIR)/progs/%_ceiling.c $(BENCH_DIR)/progs/bench.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $< -o $@ -luring

define bench_lib_variant
$(BENCH_OUT)/c-$(1)/%: $(BENCH_DIR)/progs/%.c $(BENCH_DIR)/progs/bench.h \
		       user/include/mnsched.h $(B)/$(1)/libmnsched.a
	@mkdir -p $$(@D)
	$(CC) $(BENCH_CFLAGS) $$< -o $$@ $(B)/$(1)/libmnsched.a -luring -lpthread
endef
$(foreach v,$(BENCH_LIB_VARIANTS),$(eval $(call bench_lib_variant,$(v))))

# CPU time of a run, for drivers/cpu_time
$(BENCH_OUT)/cputime: $(BENCH_DIR)/cputime.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -o $@ $<

.PHONY: bench-build bench-run
bench-build: $(BENCH_BINS) $(BENCH_OUT)/cputime

bench-run: bench-build
	@BENCH_RUNS=$(BENCH_RUNS) BENCH_FORMAT=$(BENCH_FORMAT) BENCH='$(BENCH)' \
	BENCH_VERBOSE=$(BENCH_VERBOSE) BENCH_STRICT=$(BENCH_STRICT) CC='$(CC)' \
	BENCH_VARIANT_RUNS=$(BENCH_VARIANT_RUNS) \
	$(BENCH_DIR)/run.sh -b $(BENCH_OUT)

# In the test VM (tools/vm/vm.mk, included after this file): the channel
# benchmarks on the module's parker against futexes, in one boot
# (tools/vm/park-bench.sh; make vm-bench prints the result).
VM_PARK_BENCH	:= chan_pingpong thread_ring chameneos
VM_EXTRA_BINS	+= $(addprefix $(BENCH_OUT)/c/,$(VM_PARK_BENCH))
VM_RUN_BINS	+= tools/vm/park-bench.sh
