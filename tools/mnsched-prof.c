// SPDX-License-Identifier: MIT
/*
 * mnsched-prof - CPU profiles of an mnsched program by G: every sample is
 * charged to the G its thread was running (goid, name, the labels it set
 * with mn_set_label), with its user and kernel stacks, and written as
 * pprof (gzip'ed profile.proto, for `go tool pprof`) and as folded stacks
 * (flame graphs).  Off-CPU time per G is split into "descheduled" (its M
 * was preempted by the kernel: the G could have run) and "blocked" (its M
 * slept in the kernel; with --off-cpu also the time it waited in the
 * runtime: channels, I/O, timers, locks).
 *
 * BPF: bpf/mnsched-prof.bpf.c on a CPU-clock perf event per CPU and on
 * sched_switch (and, with --off-cpu, the USDT probes g_park, g_unblock and
 * io_complete).  The G of a thread comes from the runtime's own memory
 * (mn_debug_info, user/src/debug_info.h): nothing on the runtime's hot
 * paths, so a profile at 99 Hz costs the program about nothing.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <elfutils/libdwfl.h>
#include <zlib.h>
#include "mnsched-util.h"
#include "mnsched-prof.h"
#include "mnsched-prof.skel.h"
#include "debug_info.h"

static struct env {
	pid_t pid;
	double duration;
	long freq;
	const char *out;
	const char *folded;
	bool offcpu;
	bool cpu_only;
	bool no_kernel;
	bool quiet;
	bool pin;
	bool bpf_stats;
	long top;
	char **cmd;
} env = { .freq = 99, .top = 10 };

const char *argp_program_version = "mnsched-prof 0.1";
static const char doc[] =
"CPU profile of an mnsched program, by goroutine (G): each sample is charged\n"
"to the G its thread was running, with the G's id, name and labels (set by\n"
"the program with mn_set_label), and its user and kernel stacks.  Writes\n"
"pprof (gzip'ed profile.proto: go tool pprof reads it) and folded stacks\n"
"(flamegraph.pl reads them), and prints the Gs that used the most CPU.\n"
"Off-CPU time per G: \"descheduled\" (the kernel preempted its M: it could\n"
"have run) and \"blocked\" (its M slept in the kernel; with --off-cpu also\n"
"its waits in the runtime: channels, I/O, timers, locks).\n"
"\n"
"USAGE: mnsched-prof -p PID [-d SECONDS] [-F HZ] [-o FILE] [-f FILE] [-O]\n"
"       mnsched-prof [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"    mnsched-prof -p 1234 -d 10 -o prof.pb.gz   # 10 s at 99 Hz, pprof file\n"
"    go tool pprof -top prof.pb.gz              # hottest functions\n"
"    go tool pprof -tags prof.pb.gz             # CPU by label, by G\n"
"    go tool pprof -top -tagfocus=job=hot prof.pb.gz   # one label's Gs\n"
"    go tool pprof -top -sample_index=blocked prof.pb.gz   # off CPU\n"
"    mnsched-prof -p 1234 -d 5 -f out.folded    # folded stacks, then:\n"
"    flamegraph.pl out.folded > flame.svg       # (a G per root frame)\n"
"    mnsched-prof -p 1234 -O -o prof.pb.gz      # also time blocked in the\n"
"                                               # runtime (costs per park)\n"
"    mnsched-prof -F 999 -o p.pb.gz -- ./prog   # run ./prog, profile it all\n"
"    mnsched-prof -p 1234 -C --bpf-stats        # CPU only; what it cost\n"
"\n"
"Sample types in the pprof file: samples (count), cpu, blocked, descheduled\n"
"(nanoseconds); cpu is the default.  Labels: goid, g (id and name), the\n"
"program's own, and offcpu (why, for off-CPU time).  Folded stacks count\n"
"samples; off-CPU time is counted in samples of the same period (1/HZ s),\n"
"so that widths are time.  User stacks are walked by frame pointers: build\n"
"with -fno-omit-frame-pointer for complete ones (libmnsched is).\n";

#define OPT_PIN		1000
#define OPT_NO_KERNEL	1001
#define OPT_BPF_STATS	1002

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Profile this mnsched process", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or the target's exit)", 0 },
	{ "frequency", 'F', "HZ", 0, "Samples per second per CPU (default 99)", 0 },
	{ "output", 'o', "FILE", 0, "Write the profile as pprof (gzip'ed protobuf) to FILE", 0 },
	{ "folded", 'f', "FILE", 0, "Write folded stacks to FILE", 0 },
	{ "off-cpu", 'O', NULL, 0, "Also time Gs blocked in the runtime (USDT g_park/g_unblock: costs ~1 us per park)", 0 },
	{ "cpu-only", 'C', NULL, 0, "CPU samples only: no sched_switch program, so no descheduled or blocked time (the cheapest profile)", 0 },
	{ "no-kernel", OPT_NO_KERNEL, NULL, 0, "No kernel stacks", 0 },
	{ "top", 'n', "N", 0, "Show the N busiest Gs and functions (default 10)", 0 },
	{ "quiet", 'q', NULL, 0, "No summary on stdout", 0 },
	{ "pin", OPT_PIN, NULL, 0, "Leave the maps pinned under /sys/fs/bpf/mnsched/PID/ at exit", 0 },
	{ "bpf-stats", OPT_BPF_STATS, NULL, 0, "Report the time the BPF programs ran (what profiling cost)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		exit(MT_EXIT_OK);
	case 'p':
		env.pid = mt_parse_pid(arg);
		if (env.pid < 0)
			MT_ARGP_ERR(state, "invalid PID '%s'", arg);
		break;
	case 'd':
		errno = 0;
		env.duration = strtod(arg, &end);
		if (errno || *end || env.duration <= 0)
			MT_ARGP_ERR(state, "invalid duration '%s'", arg);
		break;
	case 'F':
		errno = 0;
		env.freq = strtol(arg, &end, 10);
		if (errno || *end || env.freq < 1 || env.freq > 100000)
			MT_ARGP_ERR(state, "invalid frequency '%s' (1..100000 Hz)", arg);
		break;
	case 'n':
		errno = 0;
		env.top = strtol(arg, &end, 10);
		if (errno || *end || env.top < 0)
			MT_ARGP_ERR(state, "invalid count '%s'", arg);
		break;
	case 'o': env.out = arg; break;
	case 'f': env.folded = arg; break;
	case 'O': env.offcpu = true; break;
	case 'C': env.cpu_only = true; break;
	case 'q': env.quiet = true; break;
	case 'v': mt_verbose = true; break;
	case OPT_NO_KERNEL: env.no_kernel = true; break;
	case OPT_PIN: env.pin = true; break;
	case OPT_BPF_STATS: env.bpf_stats = true; break;
	case ARGP_KEY_ARG:
	case ARGP_KEY_ARGS:
		return mt_argp_target(key, state, env.pid, &env.cmd);
	case ARGP_KEY_END:
		if (mt_argp_target(key, state, env.pid, &env.cmd))
			return EINVAL;
		if (env.cpu_only && env.offcpu)
			MT_ARGP_ERR(state, "--cpu-only and --off-cpu exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The target's executable mappings, for the leaf return address check. */
static void set_text(struct mnsched_prof_bpf *skel, pid_t pid)
{
	int fd = bpf_map__fd(skel->maps.prof_text);
	char mp[64], line[4096];
	__u32 i = 0;
	FILE *f;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	f = fopen(mp, "re");
	if (!f)
		return;
	while (i < MT_PROF_TEXT_RANGES && fgets(line, sizeof(line), f)) {
		struct mt_prof_text r;
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[2] == 'x' &&
		    !strstr(line, "[vsyscall]")) {
			r.lo = lo;
			r.hi = hi;
			bpf_map_update_elem(fd, &i, &r, BPF_ANY);
			i++;
		}
	}
	fclose(f);
}

static void set_runtime(struct mnsched_prof_bpf *skel, const struct mn_debug_info *d)
{
	skel->bss->rt.tls_m_off = d->tls_m_off;
	skel->bss->rt.m_curg = d->m_curg;
	skel->bss->rt.m_g0 = d->m_g0;
	skel->bss->rt.g_goid = d->g_goid;
	skel->bss->rt.g_name = d->g_name;
	skel->bss->rt.g_labels = d->g_labels;
	skel->bss->rt.g_parent = d->g_parent;
	skel->bss->rt.ls_id = d->ls_id;
	__atomic_store_n(&skel->bss->ready, 1, __ATOMIC_RELEASE);
}

/* ---- sampling ------------------------------------------------------------- */

static int open_perf_events(struct bpf_program *prog)
{
	int ncpu = libbpf_num_possible_cpus(), n = 0;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr a = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(a),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_freq = (__u64)env.freq,
			.freq = 1,
		};
		struct bpf_link *l;
		int fd;

		fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue;	/* offline CPU */
			mt_err("cannot open a CPU-clock perf event on CPU %d: %s%s", cpu,
			       strerror(errno), errno == EACCES || errno == EPERM ?
			       " (kernel.perf_event_paranoid?)" : "");
			return -1;
		}
		l = bpf_program__attach_perf_event(prog, fd);
		if (!l) {
			mt_err("cannot attach the sampler on CPU %d: %s", cpu, strerror(errno));
			close(fd);
			return -1;
		}
		mt_keep_link(l);	/* destroying the link closes fd */
		n++;
	}
	if (!n)
		mt_err("no CPU to sample");
	return n ? 0 : -1;
}

/* ---- symbols ------------------------------------------------------------- */

static Dwfl *dwfl;
static char *dwfl_debuginfo_path;
static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &dwfl_debuginfo_path,
};

static void report_target(pid_t pid)
{
	if (!dwfl) {
		dwfl = dwfl_begin(&dwfl_cbs);
		if (!dwfl)
			return;
		dwfl_report_begin(dwfl);
	} else {
		dwfl_report_begin_add(dwfl);
	}
	dwfl_linux_proc_report(dwfl, pid);
	dwfl_report_end(dwfl, NULL, NULL);
}

struct ksym {
	uint64_t addr;
	char *name;
};
static struct ksym *ksyms;
static size_t nksyms;

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void load_ksyms(void)
{
	static bool tried;
	size_t cap = 0;
	char line[512];
	FILE *f;

	if (tried)
		return;
	tried = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &a, &type, name) != 3 || !a ||
		    (type != 't' && type != 'T'))
			continue;
		if (nksyms == cap) {
			struct ksym *n;

			cap = cap ? 2 * cap : 65536;
			n = realloc(ksyms, cap * sizeof(*n));
			if (!n)
				break;
			ksyms = n;
		}
		ksyms[nksyms].addr = a;
		ksyms[nksyms].name = strdup(name);
		nksyms++;
	}
	fclose(f);
	qsort(ksyms, nksyms, sizeof(*ksyms), ksym_cmp);
}

/* A frame, symbolized. */
struct sym {
	const char *func;	/* interned */
	const char *file;	/* interned, "" for none */
	int line;
	const char *module;	/* interned */
	uint64_t mstart, mend;
};

static const char *intern(const char *s);

static void sym_user(uint64_t pc, bool ret, struct sym *s)
{
	uint64_t a = ret ? pc - 1 : pc;
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, a) : NULL;
	char buf[64];

	memset(s, 0, sizeof(*s));
	s->file = "";
	if (mod) {
		const char *name, *src, *mname;
		Dwarf_Addr start = 0, end = 0;
		GElf_Off off;
		GElf_Sym es;
		Dwfl_Line *l;
		int line = 0;

		mname = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
		s->module = intern(mname ? mname : "?");
		s->mstart = start;
		s->mend = end;
		name = dwfl_module_addrinfo(mod, a, &off, &es, NULL, NULL, NULL);
		l = dwfl_module_getsrc(mod, a);
		src = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
		if (src) {
			s->file = intern(src);
			s->line = line;
		}
		if (name) {
			s->func = intern(name);
			return;
		}
		snprintf(buf, sizeof(buf), "%s+0x%llx", strrchr(s->module, '/') ?
			 strrchr(s->module, '/') + 1 : s->module,
			 (unsigned long long)(a - start));
		s->func = intern(buf);
		return;
	}
	s->module = intern("?");
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)pc);
	s->func = intern(buf);
}

static void sym_kernel(uint64_t pc, struct sym *s)
{
	size_t lo = 0, hi;
	char buf[64];

	memset(s, 0, sizeof(*s));
	s->file = "";
	s->module = intern("[kernel.kallsyms]");
	load_ksyms();
	hi = nksyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ksyms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		s->func = intern(ksyms[lo - 1].name);
		return;
	}
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)pc);
	s->func = intern(buf);
}

/* ---- a small string and integer table --------------------------------------- */

struct htab {
	uint64_t *keys;		/* 0: empty */
	uint32_t *vals;
	size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint32_t *ht_slot(struct htab *h, uint64_t key, bool *found)
{
	size_t i;

	if (h->n * 2 >= h->cap) {
		struct htab n = { .cap = h->cap ? 2 * h->cap : 1024 };

		n.keys = calloc(n.cap, sizeof(*n.keys));
		n.vals = calloc(n.cap, sizeof(*n.vals));
		if (!n.keys || !n.vals) {
			fprintf(stderr, "mnsched-prof: out of memory\n");
			exit(MT_EXIT_ERR);
		}
		for (size_t j = 0; j < h->cap; j++) {
			bool f;

			if (h->keys[j])
				*ht_slot(&n, h->keys[j], &f) = h->vals[j];
		}
		n.n = h->n;
		free(h->keys);
		free(h->vals);
		*h = n;
	}
	for (i = mix(key) & (h->cap - 1); h->keys[i] && h->keys[i] != key;
	     i = (i + 1) & (h->cap - 1))
		;
	*found = h->keys[i] == key;
	if (!*found) {
		h->keys[i] = key;
		h->n++;
	}
	return &h->vals[i];
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h | 1;
}

/* interned strings (pointer-stable); collisions chained by linear probing
 * on the hash of the text */
static char **strs;
static size_t nstrs, capstrs;
static struct htab str_index;	/* hash -> index + 1 (probe on text) */

static const char *intern(const char *s)
{
	uint64_t h = str_hash(s);
	bool found;

	for (;; h = mix(h) | 1) {
		uint32_t *v = ht_slot(&str_index, h, &found);

		if (!found) {
			if (nstrs == capstrs) {
				capstrs = capstrs ? 2 * capstrs : 1024;
				strs = realloc(strs, capstrs * sizeof(*strs));
				if (!strs)
					exit(MT_EXIT_ERR);
			}
			strs[nstrs] = strdup(s);
			*v = (uint32_t)++nstrs;
			return strs[nstrs - 1];
		}
		if (!strcmp(strs[*v - 1], s))
			return strs[*v - 1];
	}
}

/* ---- what the BPF side counted ------------------------------------------------ */

struct frame {
	uint64_t pc;
	bool kernel;
	struct sym s;
};

struct rec {
	struct mt_prof_key k;
	struct mt_prof_val v;
	struct frame *fr;	/* leaf first */
	int nfr;
	const char *pseudo;	/* off-CPU leaf pseudo frame, or NULL */
};

struct ginfo {
	uint64_t goid;
	char name[MT_PROF_NAME];
	uint64_t labels;
	uint64_t cpu, blocked_ns, kblocked_ns, desched_ns;
};

static struct rec *recs;
static size_t nrecs;
static uint64_t total_cpu, total_in_g, lost;
static int stacks_fd, labels_fd, gs_fd;

static int read_stack(__s32 id, uint64_t *ips)
{
	int n = 0;

	if (id < 0 || bpf_map_lookup_elem(stacks_fd, &id, ips))
		return 0;
	while (n < MT_PROF_STACK_DEPTH && ips[n])
		n++;
	return n;
}

static const char *reason_pseudo(const struct mt_prof_key *k)
{
	char buf[64];

	switch (k->kind) {
	case MT_PROF_DESCHED:
		return "[descheduled]";
	case MT_PROF_KBLOCKED:
		return "[blocked in the kernel]";
	case MT_PROF_BLOCKED:
		snprintf(buf, sizeof(buf), "[blocked: %s]", mt_reason_name(k->reason));
		return intern(buf);
	}
	return NULL;
}

static void collect(int counts_fd)
{
	struct mt_prof_key key, next, *prev = NULL;
	static uint64_t ips[MT_PROF_STACK_DEPTH];
	size_t cap = 0;

	while (bpf_map_get_next_key(counts_fd, prev, &next) == 0) {
		struct mt_prof_val v;
		struct rec *r;
		int nk, nu;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(counts_fd, &key, &v))
			continue;
		if (nrecs == cap) {
			cap = cap ? 2 * cap : 1024;
			recs = realloc(recs, cap * sizeof(*recs));
			if (!recs)
				exit(MT_EXIT_ERR);
		}
		r = &recs[nrecs++];
		memset(r, 0, sizeof(*r));
		r->k = key;
		r->v = v;
		r->pseudo = reason_pseudo(&key);
		r->fr = calloc(2 * MT_PROF_STACK_DEPTH, sizeof(*r->fr));
		if (!r->fr)
			exit(MT_EXIT_ERR);
		nk = read_stack(key.kstack, ips);
		for (int i = 0; i < nk; i++) {
			r->fr[r->nfr].pc = ips[i];
			r->fr[r->nfr].kernel = true;
			sym_kernel(ips[i], &r->fr[r->nfr].s);
			r->nfr++;
		}
		nu = read_stack(key.ustack, ips);
		for (int i = 0; i < nu; i++) {
			r->fr[r->nfr].pc = ips[i];
			/* the first user frame of a CPU sample taken in user
			 * mode is where it was; the others return addresses */
			sym_user(ips[i], !(i == 0 && nk == 0 && key.kind == MT_PROF_CPU),
				 &r->fr[r->nfr].s);
			r->nfr++;
			/* the caller of a frameless leaf, which the frame-pointer
			 * walk skipped (or the walk started at its first insn) */
			if (i == 0 && key.uret && (nu < 2 || ips[1] != key.uret)) {
				r->fr[r->nfr].pc = key.uret;
				sym_user(key.uret, true, &r->fr[r->nfr].s);
				r->nfr++;
			}
		}
		if (key.kind == MT_PROF_CPU) {
			total_cpu += v.count;
			if (key.goid)
				total_in_g += v.count;
		}
	}
}

static bool get_labels(uint64_t id, struct mt_prof_labelset *ls)
{
	if (!id || bpf_map_lookup_elem(labels_fd, &id, ls))
		return false;
	if (ls->n > MT_PROF_LABELS)
		ls->n = MT_PROF_LABELS;
	for (uint32_t i = 0; i < ls->n; i++) {
		ls->kv[i].key[MT_PROF_LABEL_KEY - 1] = 0;
		ls->kv[i].value[MT_PROF_LABEL_VALUE - 1] = 0;
	}
	return true;
}

static void labels_str(uint64_t id, char *buf, size_t n)
{
	struct mt_prof_labelset ls;
	size_t len = 0;

	buf[0] = 0;
	if (!get_labels(id, &ls))
		return;
	for (uint32_t i = 0; i < ls.n && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", i ? "," : "",
					ls.kv[i].key, ls.kv[i].value);
}

static void g_name(uint64_t goid, char *buf, size_t n)
{
	struct mt_prof_g g;

	buf[0] = 0;
	if (goid && bpf_map_lookup_elem(gs_fd, &goid, &g) == 0) {
		g.name[MT_PROF_NAME - 1] = 0;
		snprintf(buf, n, "%s", g.name);
	}
}

static const char *where_name(const struct mt_prof_key *k)
{
	return k->reason == MT_PROF_IN_SCHED ? "scheduler (an M on g0)" : "thread";
}

/* "G 7 (worker) {job=42}", or the thread for samples outside Gs */
static void root_name(const struct mt_prof_key *k, char *buf, size_t n)
{
	char name[MT_PROF_NAME], lab[512];

	if (!k->goid) {
		if (k->reason == MT_PROF_IN_SCHED)
			snprintf(buf, n, "[mnsched scheduler]");
		else
			snprintf(buf, n, "[thread %u]", k->tid);
		return;
	}
	g_name(k->goid, name, sizeof(name));
	labels_str(k->labels, lab, sizeof(lab));
	snprintf(buf, n, "G %llu%s%s%s%s%s%s", (unsigned long long)k->goid,
		 name[0] ? " (" : "", name, name[0] ? ")" : "",
		 lab[0] ? " {" : "", lab, lab[0] ? "}" : "");
}

/* ---- folded stacks --------------------------------------------------------- */

static int write_folded(const char *path, uint64_t period_ns)
{
	FILE *f = fopen(path, "we");
	char root[700];

	if (!f) {
		mt_err("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];
		uint64_t n = r->k.kind == MT_PROF_CPU ? r->v.count :
			     (r->v.ns + period_ns / 2) / period_ns;

		if (!n)
			continue;
		root_name(&r->k, root, sizeof(root));
		for (char *p = root; *p; p++)
			if (*p == ';')
				*p = ',';
		fputs(root, f);
		for (int j = r->nfr - 1; j >= 0; j--)
			fprintf(f, ";%s%s", r->fr[j].s.func, r->fr[j].kernel ? "_[k]" : "");
		if (r->pseudo)
			fprintf(f, ";%s", r->pseudo);
		fprintf(f, " %llu\n", (unsigned long long)n);
	}
	if (fclose(f)) {
		mt_err("writing %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- pprof: profile.proto, gzip'ed ------------------------------------------- */

struct pbuf {
	uint8_t *p;
	size_t n, cap;
};

static void pb_raw(struct pbuf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;

		while (nc < b->n + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		if (!b->p)
			exit(MT_EXIT_ERR);
		b->cap = nc;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void pb_varint(struct pbuf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(b, t, n);
}

static void pb_tag(struct pbuf *b, int field, int wire)
{
	pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

/* a varint field (omitted when 0, the default) */
static void pb_u64(struct pbuf *b, int field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(b, field, 0);
	pb_varint(b, v);
}

static void pb_bytes(struct pbuf *b, int field, const void *d, size_t n)
{
	pb_tag(b, field, 2);
	pb_varint(b, n);
	pb_raw(b, d, n);
}

static void pb_msg(struct pbuf *b, int field, struct pbuf *m)
{
	pb_bytes(b, field, m->p, m->n);
	m->n = 0;
}

/* packed repeated varints */
static void pb_packed(struct pbuf *b, int field, const uint64_t *v, size_t n)
{
	struct pbuf t = {};

	for (size_t i = 0; i < n; i++)
		pb_varint(&t, v[i]);
	pb_bytes(b, field, t.p, t.n);
	free(t.p);
}

/* the profile's string table */
static const char **pstr;
static size_t npstr, cappstr;
static struct htab pstr_index;	/* interned pointer -> index + 1 */

static uint64_t sidx(const char *s)
{
	bool found;
	uint32_t *v;

	s = intern(s);
	v = ht_slot(&pstr_index, (uint64_t)(uintptr_t)s, &found);
	if (!found) {
		if (npstr == cappstr) {
			cappstr = cappstr ? 2 * cappstr : 1024;
			pstr = realloc(pstr, cappstr * sizeof(*pstr));
			if (!pstr)
				exit(MT_EXIT_ERR);
		}
		pstr[npstr] = s;
		*v = (uint32_t)++npstr;
	}
	return *v - 1;
}

static void pb_value_type(struct pbuf *b, int field, const char *type, const char *unit)
{
	struct pbuf m = {};

	pb_u64(&m, 1, sidx(type));
	pb_u64(&m, 2, sidx(unit));
	pb_msg(b, field, &m);
	free(m.p);
}

static void pb_label(struct pbuf *s, struct pbuf *tmp, const char *key,
		     const char *str, int64_t num, const char *unit)
{
	pb_u64(tmp, 1, sidx(key));
	if (str)
		pb_u64(tmp, 2, sidx(str));
	else {
		pb_u64(tmp, 3, (uint64_t)num);
		if (unit)
			pb_u64(tmp, 4, sidx(unit));
	}
	pb_msg(s, 3, tmp);
}

static char exe_path[4096];	/* the target's executable */

struct pmap {
	uint64_t start, end;
	const char *name;
};

static int write_pprof(const char *path, uint64_t period_ns, uint64_t start_ns,
		       uint64_t dur_ns)
{
	struct pmap *pm = NULL;
	struct pbuf prof = {}, m = {}, l = {}, t = {};
	struct htab locs = {}, funcs = {}, maps = {};
	uint64_t nloc = 0, nfunc = 0, nmap = 0;
	uint64_t *lids = calloc(2 * MT_PROF_STACK_DEPTH + 2, sizeof(*lids));
	int rc = -1;

	if (!lids)
		return -1;
	sidx("");		/* string 0 is "" */
	pb_value_type(&prof, 1, "samples", "count");
	pb_value_type(&prof, 1, "cpu", "nanoseconds");
	pb_value_type(&prof, 1, "blocked", "nanoseconds");
	pb_value_type(&prof, 1, "descheduled", "nanoseconds");

	for (size_t i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];
		struct mt_prof_labelset ls;
		char name[MT_PROF_NAME], gl[80];
		uint64_t vals[4] = { 0 };
		size_t nl = 0;

		/* locations, leaf first; functions and mappings as they come */
		for (int j = -1; j < r->nfr; j++) {
			const struct sym *s;
			struct sym ps;
			uint64_t key, addr;
			uint32_t *v;
			bool found;

			if (j < 0) {
				if (!r->pseudo)
					continue;
				memset(&ps, 0, sizeof(ps));
				ps.func = r->pseudo;
				ps.file = "";
				s = &ps;
				addr = 0;
				key = str_hash(r->pseudo) << 1 | 1;	/* odd: a pseudo frame */
			} else {
				s = &r->fr[j].s;
				addr = r->fr[j].pc;
				key = addr << 1;
				if (!key)
					continue;
			}
			v = ht_slot(&locs, key, &found);
			if (!found) {
				uint64_t fid, mid = 0;
				uint32_t *fv;
				bool ff;

				/* function: by name and file */
				fv = ht_slot(&funcs, str_hash(s->func) * 31 + str_hash(s->file), &ff);
				if (!ff) {
					*fv = (uint32_t)++nfunc;
					pb_u64(&m, 1, nfunc);
					pb_u64(&m, 2, sidx(s->func));
					pb_u64(&m, 3, sidx(s->func));
					pb_u64(&m, 4, sidx(s->file));
					pb_msg(&prof, 5, &m);
				}
				fid = *fv;
				if (s->module && s->mend > s->mstart) {
					uint32_t *mv = ht_slot(&maps, s->mstart, &ff);

					if (!ff) {
						pm = realloc(pm, (nmap + 1) * sizeof(*pm));
						if (!pm)
							exit(MT_EXIT_ERR);
						pm[nmap] = (struct pmap){ s->mstart, s->mend, s->module };
						*mv = (uint32_t)++nmap;
					}
					mid = *mv;
				}
				*v = (uint32_t)++nloc;
				pb_u64(&m, 1, nloc);
				pb_u64(&m, 2, mid);
				pb_u64(&m, 3, addr);
				pb_u64(&l, 1, fid);
				pb_u64(&l, 2, (uint64_t)s->line);
				pb_msg(&m, 4, &l);
				pb_msg(&prof, 4, &m);
			}
			lids[nl++] = *v;
		}
		switch (r->k.kind) {
		case MT_PROF_CPU:
			vals[0] = r->v.count;
			vals[1] = r->v.count * period_ns;
			break;
		case MT_PROF_DESCHED:
			vals[3] = r->v.ns;
			break;
		default:
			vals[2] = r->v.ns;
		}
		pb_packed(&t, 1, lids, nl);
		pb_packed(&t, 2, vals, 4);
		if (r->k.goid) {
			g_name(r->k.goid, name, sizeof(name));
			snprintf(gl, sizeof(gl), "%llu%s%s%s", (unsigned long long)r->k.goid,
				 name[0] ? " (" : "", name, name[0] ? ")" : "");
			pb_label(&t, &l, "goid", NULL, (int64_t)r->k.goid, NULL);
			pb_label(&t, &l, "g", gl, 0, NULL);
		} else {
			snprintf(gl, sizeof(gl), "%s %u", where_name(&r->k), r->k.tid);
			pb_label(&t, &l, "thread", gl, 0, NULL);
		}
		if (get_labels(r->k.labels, &ls))
			for (uint32_t k = 0; k < ls.n; k++)
				pb_label(&t, &l, ls.kv[k].key, ls.kv[k].value, 0, NULL);
		if (r->pseudo)
			pb_label(&t, &l, "offcpu", r->pseudo, 0, NULL);
		pb_msg(&prof, 2, &t);
	}
	/* mappings, the program's first: pprof takes the first for "File:" */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; i < nmap; i++) {
			bool main_exe = !strcmp(pm[i].name, exe_path);

			if (main_exe != (pass == 0))
				continue;
			pb_u64(&m, 1, i + 1);
			pb_u64(&m, 2, pm[i].start);
			pb_u64(&m, 3, pm[i].end);
			pb_u64(&m, 5, sidx(pm[i].name));
			pb_u64(&m, 7, 1);	/* has_functions */
			pb_u64(&m, 8, 1);	/* has_filenames */
			pb_u64(&m, 9, 1);	/* has_line_numbers */
			pb_msg(&prof, 3, &m);
		}
	}
	free(pm);
	pb_u64(&prof, 9, start_ns);
	pb_u64(&prof, 10, dur_ns);
	pb_value_type(&prof, 11, "cpu", "nanoseconds");
	pb_u64(&prof, 12, period_ns);
	pb_u64(&prof, 14, sidx("cpu"));
	/* the string table last: every index above is in it */
	for (size_t i = 0; i < npstr; i++)
		pb_bytes(&prof, 6, pstr[i], strlen(pstr[i]));

	{
		gzFile gz = gzopen(path, "wb9");

		if (!gz) {
			mt_err("cannot create %s: %s", path, strerror(errno));
			goto out;
		}
		if (gzwrite(gz, prof.p, (unsigned)prof.n) != (int)prof.n) {
			mt_err("writing %s failed", path);
			gzclose(gz);
			goto out;
		}
		if (gzclose(gz) != Z_OK) {
			mt_err("writing %s failed", path);
			goto out;
		}
	}
	rc = 0;
out:
	free(prof.p);
	free(m.p);
	free(l.p);
	free(t.p);
	free(lids);
	free(locs.keys);
	free(locs.vals);
	free(funcs.keys);
	free(funcs.vals);
	free(maps.keys);
	free(maps.vals);
	return rc;
}

/* ---- the summary --------------------------------------------------------------- */

static int gi_cmp(const void *a, const void *b)
{
	const struct ginfo *x = a, *y = b;
	uint64_t xa = x->cpu * 1000000000ull + (x->blocked_ns + x->kblocked_ns + x->desched_ns) / 1000;
	uint64_t ya = y->cpu * 1000000000ull + (y->blocked_ns + y->kblocked_ns + y->desched_ns) / 1000;

	return xa < ya ? 1 : xa > ya ? -1 : 0;
}

struct fcount {
	const char *func;
	uint64_t n;
};

static int fc_cmp(const void *a, const void *b)
{
	const struct fcount *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void print_summary(const struct mt_target *t, double secs)
{
	struct ginfo *gi = calloc(nrecs + 1, sizeof(*gi));
	struct fcount *fc = calloc(nrecs + 1, sizeof(*fc));
	struct htab gidx = {}, fidx = {};
	size_t ng = 0, nf = 0;
	uint64_t other = 0;

	if (!gi || !fc)
		return;
	for (size_t i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];
		struct ginfo *g;
		uint32_t *v;
		bool found;

		if (r->k.kind == MT_PROF_CPU && r->nfr) {
			v = ht_slot(&fidx, (uint64_t)(uintptr_t)r->fr[0].s.func, &found);
			if (!found) {
				*v = (uint32_t)nf;
				fc[nf++].func = r->fr[0].s.func;
			}
			fc[*v].n += r->v.count;
		}
		if (!r->k.goid) {
			if (r->k.kind == MT_PROF_CPU)
				other += r->v.count;
			continue;
		}
		v = ht_slot(&gidx, r->k.goid, &found);
		if (!found) {
			*v = (uint32_t)ng;
			g = &gi[ng++];
			g->goid = r->k.goid;
			g_name(g->goid, g->name, sizeof(g->name));
		}
		g = &gi[*v];
		if (r->k.labels)
			g->labels = r->k.labels;
		switch (r->k.kind) {
		case MT_PROF_CPU: g->cpu += r->v.count; break;
		case MT_PROF_DESCHED: g->desched_ns += r->v.ns; break;
		case MT_PROF_KBLOCKED: g->kblocked_ns += r->v.ns; break;
		case MT_PROF_BLOCKED: g->blocked_ns += r->v.ns; break;
		}
	}
	qsort(gi, ng, sizeof(*gi), gi_cmp);
	qsort(fc, nf, sizeof(*fc), fc_cmp);
	printf("mnsched-prof: PID %d (%s), %.2f s at %ld Hz: %llu samples, %llu in Gs "
	       "(%llu in the scheduler and other threads), %zu Gs seen\n",
	       t->pid, t->comm, secs, env.freq, (unsigned long long)total_cpu,
	       (unsigned long long)total_in_g, (unsigned long long)other, ng);
	printf("\n%8s %-16s %-24s %6s %8s %12s %12s %12s\n", "GOID", "NAME", "LABELS",
	       "CPU%", "SAMPLES", "DESCHED(ms)", "KBLOCK(ms)", env.offcpu ? "BLOCKED(ms)" : "");
	for (size_t i = 0; i < ng && i < (size_t)env.top; i++) {
		char lab[512];

		labels_str(gi[i].labels, lab, sizeof(lab));
		printf("%8llu %-16.16s %-24.24s %6.1f %8llu %12.1f %12.1f ",
		       (unsigned long long)gi[i].goid, gi[i].name[0] ? gi[i].name : "-",
		       lab[0] ? lab : "-", total_cpu ? 100.0 * (double)gi[i].cpu / (double)total_cpu : 0,
		       (unsigned long long)gi[i].cpu, (double)gi[i].desched_ns / 1e6,
		       (double)gi[i].kblocked_ns / 1e6);
		if (env.offcpu)
			printf("%12.1f", (double)gi[i].blocked_ns / 1e6);
		printf("\n");
	}
	printf("\n%6s %8s  %s\n", "CPU%", "SAMPLES", "FUNCTION (where the samples were)");
	for (size_t i = 0; i < nf && i < (size_t)env.top; i++)
		printf("%6.1f %8llu  %s\n", total_cpu ? 100.0 * (double)fc[i].n / (double)total_cpu : 0,
		       (unsigned long long)fc[i].n, fc[i].func);
	free(gi);
	free(fc);
	free(gidx.keys);
	free(gidx.vals);
	free(fidx.keys);
	free(fidx.vals);
}

/*
 * --bpf-stats: the kernel's run time of each program while profiling.  The
 * sampler runs in the interrupted thread, the sched_switch program in the
 * thread switching out: time the profiled program pays, and (sched_switch)
 * every other task on the machine, which the program filters out first.
 */
static void print_bpf_stats(struct mnsched_prof_bpf *skel, double secs)
{
	struct bpf_program *progs[] = {
		skel->progs.prof_sample, skel->progs.prof_switch,
		skel->progs.prof_g_park, skel->progs.prof_g_unblock,
		skel->progs.prof_io_complete,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.run_cnt)
			continue;
		fprintf(stderr, "%s: BPF %s: %llu runs, %.0f ns each, %.3f ms in all "
			"(%.4f%% of one CPU)\n", mt_prog, bpf_program__name(progs[i]),
			(unsigned long long)info.run_cnt,
			(double)info.run_time_ns / (double)info.run_cnt,
			(double)info.run_time_ns / 1e6,
			secs > 0 ? (double)info.run_time_ns / (secs * 1e9) * 100 : 0);
	}
}

/* ---- main --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct mnsched_prof_bpf *skel = NULL;
	struct bpf_map *pins[5] = {};
	struct mt_target t = { .pidfd = -1 };
	struct mn_debug_info d;
	uint64_t start, end, start_real;
	bool pinned = false, gone = false, have_rt = false;
	int err, rc = MT_EXIT_ERR, stats_fd = -1;
	struct timespec rts;

	mt_setup("mnsched-prof");
	mt_argp_parse(&argp, argc, argv);
	if (mt_check_root() || mt_check_bpf())
		return MT_EXIT_ERR;
	if (env.cmd) {
		if (mt_target_spawn(&t, env.cmd))
			return MT_EXIT_ERR;
		env.pid = t.pid;
	} else {
		if (mt_target_open(&t, env.pid, false))
			return MT_EXIT_ERR;
		err = mt_runtime_info(&t, &d);
		if (err < 0)
			goto out;
		if (err > 0) {
			/* give a starting program a moment to call mn_main */
			for (int i = 0; i < 20 && err > 0; i++) {
				usleep(50 * 1000);
				err = mt_runtime_info(&t, &d);
			}
			if (err) {
				if (err > 0)
					mt_err("PID %d (%s) has not started the mnsched "
					       "runtime (mn_main) yet", t.pid, t.comm);
				goto out;
			}
		}
		have_rt = true;
	}

	skel = mnsched_prof_bpf__open();
	if (!skel) {
		mt_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = (__u32)env.pid;
	skel->rodata->kernel_stacks = !env.no_kernel;
	if (env.cpu_only)
		bpf_program__set_autoload(skel->progs.prof_switch, false);
	if (!env.offcpu) {
		bpf_program__set_autoload(skel->progs.prof_g_park, false);
		bpf_program__set_autoload(skel->progs.prof_g_unblock, false);
		bpf_program__set_autoload(skel->progs.prof_io_complete, false);
	}
	err = mnsched_prof_bpf__load(skel);
	if (err) {
		mt_err("cannot load the BPF programs: %s (-v shows the verifier's log)",
		       strerror(-err));
		goto out;
	}
	if (have_rt) {
		set_text(skel, t.pid);
		set_runtime(skel, &d);
	}
	if (env.bpf_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			mt_warn("cannot enable BPF run time statistics: %s", strerror(-stats_fd));
	}
	if (open_perf_events(skel->progs.prof_sample))
		goto out;
	if (!env.cpu_only) {
		struct bpf_link *l = bpf_program__attach(skel->progs.prof_switch);

		if (!l) {
			mt_err("cannot attach to sched_switch: %s", strerror(errno));
			goto out;
		}
		mt_keep_link(l);
	}
	if (env.offcpu &&
	    (mt_attach_usdt(skel->obj, skel->progs.prof_g_park, &t, "g_park", true) ||
	     mt_attach_usdt(skel->obj, skel->progs.prof_g_unblock, &t, "g_unblock", true) ||
	     mt_attach_usdt(skel->obj, skel->progs.prof_io_complete, &t, "io_complete", false)))
		goto out;
	stacks_fd = bpf_map__fd(skel->maps.prof_stacks);
	labels_fd = bpf_map__fd(skel->maps.prof_labels);
	gs_fd = bpf_map__fd(skel->maps.prof_gs);
	pins[0] = skel->maps.prof_counts;
	pins[1] = skel->maps.prof_stacks;
	pins[2] = skel->maps.prof_gs;
	pins[3] = skel->maps.prof_labels;
	if (mt_pin_maps(&t, pins) == 0)
		pinned = true;
	else if (env.pin)
		goto out;

	{
		char ep[64];
		ssize_t n;

		snprintf(ep, sizeof(ep), "/proc/%d/exe", t.pid);
		n = readlink(ep, exe_path, sizeof(exe_path) - 1);
		exe_path[n > 0 ? n : 0] = 0;
		if (t.spawned)	/* not exec'ed yet: the command itself */
			snprintf(exe_path, sizeof(exe_path), "%s",
				 t.probe_file[0] && !strstr(t.probe_file, "libmnsched") ?
				 t.probe_file : "");
	}
	clock_gettime(CLOCK_REALTIME, &rts);
	start_real = (uint64_t)rts.tv_sec * 1000000000ull + (uint64_t)rts.tv_nsec;
	start = mt_now_ns();
	mt_target_release(&t);	/* a COMMAND runs from here on */
	if (have_rt)
		report_target(t.pid);
	fprintf(stderr, "%s: profiling PID %d (%s) at %ld Hz%s%s... Hit Ctrl-C to end.\n",
		mt_prog, t.pid, t.comm, env.freq, env.offcpu ? ", with time blocked in the runtime" : "",
		env.no_kernel ? ", no kernel stacks" : "");
	while (!mt_exiting) {
		usleep(have_rt ? 100 * 1000 : 2 * 1000);
		if (env.duration > 0 && mt_now_ns() - start >= (uint64_t)(env.duration * 1e9))
			break;
		if (!mt_target_alive(&t)) {
			gone = true;
			break;
		}
		if (!have_rt) {
			err = mt_runtime_info(&t, &d);
			if (err < 0)
				goto out;
			if (err == 0) {
				set_text(skel, t.pid);
				set_runtime(skel, &d);
				report_target(t.pid);
				have_rt = true;
			}
		}
	}
	skel->data->armed = 0;		/* nothing counts from here */
	end = mt_now_ns();
	if (stats_fd >= 0)
		print_bpf_stats(skel, (double)(end - start) / 1e9);
	if (!gone && mt_target_alive(&t))
		report_target(t.pid);	/* libraries loaded meanwhile */
	mt_detach_all();

	collect(bpf_map__fd(skel->maps.prof_counts));
	if (bpf_map__max_entries(skel->maps.prof_counts) <= nrecs)
		lost = 1;
	if (env.folded && write_folded(env.folded, 1000000000ull / (uint64_t)env.freq))
		goto out;
	if (env.out && write_pprof(env.out, 1000000000ull / (uint64_t)env.freq, start_real,
				   end - start))
		goto out;
	if (!env.quiet)
		print_summary(&t, (double)(end - start) / 1e9);
	fflush(stdout);
	fprintf(stderr, "%s: %s%llu samples in %.2f s%s%s%s%s%s%s\n", mt_prog,
		gone ? "target exited; " : "", (unsigned long long)total_cpu,
		(double)(end - start) / 1e9, !have_rt ? " (the runtime never started: no Gs)" : "",
		lost ? " (the count map filled up: some stacks are missing)" : "",
		env.out ? "; wrote " : "", env.out ? env.out : "",
		env.folded ? "; wrote " : "", env.folded ? env.folded : "");
	rc = MT_EXIT_OK;
	if (t.spawned && gone) {
		struct rusage ru;

		rc = mt_target_reap(&t);
		if (rc)
			fprintf(stderr, "%s: %s exited with status %d\n", mt_prog, t.comm, rc);
		/* what the program itself cost (bench: drivers/prof_attach) */
		if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
			fprintf(stderr, "%s: %s used %.6f s of CPU\n", mt_prog, t.comm,
				(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
out:
	mt_detach_all();
	if (pinned && !env.pin)
		mt_unpin_maps(&t, pins);
	else if (pinned)
		fprintf(stderr, "%s: maps left pinned in %s/ (rm -r it when done)\n",
			mt_prog, mt_pin_dir(&t));
	mnsched_prof_bpf__destroy(skel);
	mt_target_close(&t);
	if (stats_fd >= 0)
		close(stats_fd);
	if (dwfl)
		dwfl_end(dwfl);
	return rc;
}
