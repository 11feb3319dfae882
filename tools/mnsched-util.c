// SPDX-License-Identifier: MIT
/*
 * mnsched-util.c - target discovery, checks, USDT attach, pinning and
 * histograms for the mnsched tools (see mnsched-util.h).
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "mnsched-util.h"
#include "debug_info.h"
#include "probe_defs.h"

const char *mt_prog = "mnsched";
bool mt_verbose;
volatile sig_atomic_t mt_exiting;

void mt_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", mt_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void mt_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", mt_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	if (!mt_verbose)
		return 0;	/* our own messages say what failed; -v shows libbpf's */
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	(void)sig;
	mt_exiting = 1;
}

void mt_setup(const char *prog)
{
	struct sigaction sa = { .sa_handler = on_signal };

	mt_prog = prog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* `mnsched-trace ... | head`: stop and clean up (pinned maps) too */
	sigaction(SIGPIPE, &sa, NULL);
	libbpf_set_print(libbpf_print);
	elf_version(EV_CURRENT);
}

uint64_t mt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mt_argp_parse(const struct argp *argp, int argc, char **argv)
{
	int err;

	/* No exit inside argp: a bad option must print the usage too. */
	err = argp_parse(argp, argc, argv, ARGP_NO_EXIT, NULL, NULL);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			break;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-?") ||
			   !strcmp(a, "--usage") || !strcmp(a, "--version") ||
			   !strcmp(a, "-V")) {
			exit(MT_EXIT_OK);	/* argp printed it */
		}
	}
	if (err) {
		argp_help(argp, stderr, ARGP_HELP_USAGE, (char *)mt_prog);
		exit(MT_EXIT_USAGE);
	}
}

pid_t mt_parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > INT_MAX)
		return -1;
	return (pid_t)v;
}

int mt_argp_target(int key, struct argp_state *state, pid_t pid, char ***cmd)
{
	switch (key) {
	case ARGP_KEY_ARG:
		return ARGP_ERR_UNKNOWN;	/* the rest: ARGP_KEY_ARGS */
	case ARGP_KEY_ARGS:
		*cmd = state->argv + state->next;
		state->next = state->argc;
		return 0;
	case ARGP_KEY_END:
		if (!pid && !*cmd)
			MT_ARGP_ERR(state, "-p PID is required (or -- COMMAND)");
		if (pid && *cmd)
			MT_ARGP_ERR(state, "-p PID and a COMMAND exclude each other");
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

/* ---- checks --------------------------------------------------------- */

int mt_check_root(void)
{
	if (geteuid() == 0)
		return 0;
	mt_err("must be run as root: loading BPF programs and attaching "
	       "uprobes to another process need CAP_BPF, CAP_PERFMON and "
	       "CAP_SYS_PTRACE (try: sudo %s ...)", mt_prog);
	return -1;
}

int mt_check_bpf(void)
{
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		mt_err("BPF is not available: no kernel BTF at "
		       "/sys/kernel/btf/vmlinux (the CO-RE programs need a "
		       "kernel built with CONFIG_DEBUG_INFO_BTF=y)");
		return -1;
	}
	errno = 0;
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL);
	if (r == 1)
		return 0;
	if (r == 0 && errno == 0)
		errno = EOPNOTSUPP;
	r = r < 0 ? -r : errno;
	mt_err("BPF is not available: the bpf() system call failed (%s); it "
	       "needs a kernel with CONFIG_BPF_SYSCALL and uprobes, root, and "
	       "no seccomp policy or LSM that forbids bpf()", strerror(r));
	return -1;
}

/* ---- the target ----------------------------------------------------- */

/* Notes with provider "mnsched" in .note.stapsdt of the ELF file path. */
static int count_mnsched_notes(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t shstrndx, asz;
	Elf_Scn *scn = NULL;
	int n = 0;
	Elf *e;

	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx)) {
		if (e)
			elf_end(e);
		close(fd);
		return 0;
	}
	asz = gelf_getclass(e) == ELFCLASS64 ? 8 : 4;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;
		size_t off = 0, next, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".note.stapsdt"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((next = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const char *buf = d->d_buf;

			if (nh.n_type == 3 && nh.n_namesz == 8 &&
			    !memcmp(buf + noff, "stapsdt", 8) &&
			    nh.n_descsz > 3 * asz + 8 &&
			    !strncmp(buf + doff + 3 * asz, "mnsched",
				     nh.n_descsz - 3 * asz))
				n++;
			off = next;
		}
	}
	elf_end(e);
	close(fd);
	return n;
}

static void read_comm(struct mt_target *t)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", t->pid);
	t->comm[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(t->comm, sizeof(t->comm), f))
		t->comm[strcspn(t->comm, "\n")] = 0;
	fclose(f);
}

/*
 * One pass over /proc/PID/maps: the P-state mapping, and (find_probes) the
 * first mapped file with mnsched USDT notes, the executable first.
 *
 * The probes are read from, and attached through, /proc/PID/exe or
 * /proc/PID/map_files/LO-HI: the very file the process maps, even when the
 * path now names another one (a program rebuilt while it runs) or none, or
 * lives in another mount namespace.
 */
static int scan_maps(struct mt_target *t, bool find_probes)
{
	char path[64], line[PATH_MAX + 128], exe[PATH_MAX];
	char seen[16][PATH_MAX];
	int nseen = 0;
	ssize_t n;
	FILE *f;

	if (find_probes) {
		snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (n > 0) {
			char ap[PATH_MAX];

			snprintf(ap, sizeof(ap), "/proc/%d/exe", t->pid);
			t->nr_probes = count_mnsched_notes(ap);
			if (t->nr_probes > 0) {
				snprintf(t->probe_file, sizeof(t->probe_file), "%s", exe);
				snprintf(t->attach_path, sizeof(t->attach_path), "%s", ap);
				find_probes = false;
			}
			snprintf(seen[nseen++], PATH_MAX, "%s", exe);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8], *name;
		int pos = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &pos) < 3 || !pos)
			continue;
		name = line + pos;
		if (!t->pstates_addr && perms[0] == 'r' &&
		    (strstr(name, "/memfd:mnsched-pstates") == name ||
		     strstr(name, "/dev/mnsched"))) {
			t->pstates_addr = lo;
			t->pstates_len = hi - lo;
			t->pstates_stride = 4096;
			t->nr_p = (int)(t->pstates_len / t->pstates_stride);
			if (t->nr_p > MT_MAX_P)
				t->nr_p = MT_MAX_P;
			t->kmod = strstr(name, "/dev/mnsched") != NULL;
		}
		if (find_probes && name[0] == '/' &&
		    strncmp(name, "/dev/", 5) && strncmp(name, "/memfd:", 7)) {
			bool dup = false;

			for (int i = 0; i < nseen; i++)
				if (!strcmp(seen[i], name))
					dup = true;
			if (!dup) {
				char ap[PATH_MAX];

				if (nseen < 16)
					snprintf(seen[nseen++], PATH_MAX, "%s", name);
				snprintf(ap, sizeof(ap), "/proc/%d/map_files/%lx-%lx",
					 t->pid, lo, hi);
				t->nr_probes = count_mnsched_notes(ap);
				if (t->nr_probes > 0) {
					snprintf(t->probe_file, sizeof(t->probe_file), "%s", name);
					snprintf(t->attach_path, sizeof(t->attach_path), "%s", ap);
					find_probes = false;
				}
			}
		}
	}
	fclose(f);
	return 0;
}

/* argv0 as execvp would find it, or NULL */
static char *find_in_path(const char *argv0, char *buf, size_t n)
{
	const char *path = getenv("PATH");

	if (strchr(argv0, '/'))
		return realpath(argv0, buf);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");
		char cand[PATH_MAX];

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)l, l ? path : ".", argv0);
		if (access(cand, X_OK) == 0)
			return realpath(cand, buf);
		path += l;
		if (*path == ':')
			path++;
	}
	(void)n;
	return NULL;
}

/* The libmnsched.so that exe will load (ldd), if it has the probes. */
static bool find_solib(const char *exe, char *out, size_t n)
{
	char cmd[PATH_MAX + 32], line[PATH_MAX + 64];
	bool found = false;
	FILE *f;

	if (strchr(exe, '\''))
		return false;
	snprintf(cmd, sizeof(cmd), "ldd '%s' 2>/dev/null", exe);
	f = popen(cmd, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "=> /"), *e;

		if (!strstr(line, "libmnsched") || !p)
			continue;
		p += 3;
		e = strchr(p, ' ');
		if (e)
			*e = 0;
		if (!found && count_mnsched_notes(p) > 0 && realpath(p, out)) {
			found = true;
			(void)n;
		}
	}
	pclose(f);
	return found;
}

int mt_target_spawn(struct mt_target *t, char **argv)
{
	char exe[PATH_MAX], lib[PATH_MAX];
	int go[2];
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->pidfd = t->gofd = -1;
	if (!find_in_path(argv[0], exe, sizeof(exe))) {
		mt_err("%s: command not found", argv[0]);
		return -1;
	}
	t->nr_probes = count_mnsched_notes(exe);
	if (t->nr_probes > 0) {
		snprintf(t->probe_file, sizeof(t->probe_file), "%s", exe);
	} else if (find_solib(exe, lib, sizeof(lib))) {
		t->nr_probes = count_mnsched_notes(lib);
		snprintf(t->probe_file, sizeof(t->probe_file), "%s", lib);
	} else {
		mt_err("%s is not an mnsched program: no USDT probes of provider "
		       "mnsched in it or in a libmnsched.so it loads", exe);
		return -1;
	}
	/* not mapped yet: uprobes attach to the file, and to the process
	 * once it maps it */
	snprintf(t->attach_path, sizeof(t->attach_path), "%s", t->probe_file);
	snprintf(t->comm, sizeof(t->comm), "%.15s", strrchr(exe, '/') + 1);
	if (pipe2(go, O_CLOEXEC)) {
		mt_err("pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		mt_err("fork: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		struct sigaction sa = { .sa_handler = SIG_DFL };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		close(go[1]);
		/* the tracer died or gave up: do not run untraced */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execv(exe, argv);
		fprintf(stderr, "%s: %s: %s\n", mt_prog, exe, strerror(errno));
		_exit(127);
	}
	close(go[0]);
	t->gofd = go[1];
	t->pid = pid;
	t->spawned = true;
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

void mt_target_release(struct mt_target *t)
{
	char c = 1;

	if (t->gofd < 0)
		return;
	if (write(t->gofd, &c, 1) != 1)
		mt_warn("cannot start PID %d: %s", t->pid, strerror(errno));
	close(t->gofd);
	t->gofd = -1;
}

int mt_target_reap(struct mt_target *t)
{
	int st = 0;

	if (!t->spawned)
		return 0;
	if (t->gofd >= 0) {		/* never released: it exits 127 */
		close(t->gofd);
		t->gofd = -1;
	}
	while (waitpid(t->pid, &st, 0) < 0 && errno == EINTR)
		;
	t->spawned = false;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int mt_target_find_pstates(struct mt_target *t)
{
	if (!t->pstates_addr)
		scan_maps(t, false);
	return t->pstates_addr ? 0 : -ENOENT;
}

int mt_target_open(struct mt_target *t, pid_t pid, bool need_counters)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = t->gofd = -1;
	if (kill(pid, 0) && errno == ESRCH) {
		mt_err("no process with PID %d", pid);
		return -1;
	}
	read_comm(t);
	r = scan_maps(t, true);
	if (r) {
		mt_err("cannot read /proc/%d/maps: %s", pid, strerror(-r));
		return -1;
	}
	if (t->nr_probes == 0) {
		mt_err("PID %d (%s) is not an mnsched program: no USDT probes of "
		       "provider mnsched in its executable or shared libraries "
		       "(it must link libmnsched.a or libmnsched.so)", pid, t->comm);
		return -1;
	}
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (need_counters) {
		/* mn_main creates the mapping: give a starting program a moment. */
		for (int i = 0; i < 20 && !t->pstates_addr; i++) {
			if (mt_target_find_pstates(t) == 0)
				break;
			usleep(50 * 1000);
		}
		if (!t->pstates_addr) {
			mt_err("PID %d (%s) has mnsched probes but no P counters "
			       "mapped (no \"/memfd:mnsched-pstates\" or /dev/mnsched "
			       "in /proc/%d/maps): has it called mn_main()?",
			       pid, t->comm, pid);
			return -1;
		}
	}
	return 0;
}

bool mt_target_alive(const struct mt_target *t)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = true;

	if (t->pidfd >= 0) {
		struct pollfd pfd = { .fd = t->pidfd, .events = POLLIN };

		return poll(&pfd, 1, 0) == 0;
	}
	/* No pidfd (old kernel): a zombie counts as gone. */
	snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] && p[2] == 'Z')
		alive = false;
	fclose(f);
	return alive;
}

void mt_target_close(struct mt_target *t)
{
	if (t->spawned) {
		if (t->gofd < 0)
			kill(t->pid, SIGTERM);	/* still running: we are leaving */
		mt_target_reap(t);
	}
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}

int mt_pstates_read(const struct mt_target *t, struct mnsched_pstate *out, int max)
{
	struct iovec local[MT_MAX_P], remote[MT_MAX_P];
	int n = t->nr_p < max ? t->nr_p : max;
	ssize_t got;

	if (!t->pstates_addr)
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		local[i].iov_base = &out[i];
		local[i].iov_len = sizeof(out[i]);
		remote[i].iov_base = (void *)(t->pstates_addr + (unsigned long)i * t->pstates_stride);
		remote[i].iov_len = sizeof(out[i]);
	}
	got = process_vm_readv(t->pid, local, (unsigned long)n, remote,
			       (unsigned long)n, 0);
	if (got < 0)
		return -errno;
	return (int)(got / (ssize_t)sizeof(out[0]));
}

/* ---- the runtime in the target (mn_debug_info) ------------------------ */

/* The virtual address (in the file) and file offset of symbol name. */
static int elf_sym(const char *path, const char *name, uint64_t *vaddr,
		   uint64_t *foff)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Elf_Scn *scn = NULL;
	size_t nph;
	Elf *e;

	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	while (!found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s) || !s.st_value)
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name)) {
				*vaddr = s.st_value;
				found = 1;
				break;
			}
		}
	}
	if (found && elf_getphdrnum(e, &nph) == 0) {
		found = 0;
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    *vaddr >= ph.p_vaddr && *vaddr < ph.p_vaddr + ph.p_filesz) {
				*foff = *vaddr - ph.p_vaddr + ph.p_offset;
				found = 1;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	return found ? 0 : -ENOENT;
}

/* Where file offset foff of the file with inode ino is mapped in pid. */
static uint64_t map_addr(pid_t pid, ino_t ino, const char *path, uint64_t foff)
{
	char mp[64], line[4096];
	uint64_t addr = 0;
	FILE *f;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", pid);
	f = fopen(mp, "re");
	if (!f)
		return 0;
	while (!addr && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, inode;
		char *name;
		int pos = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu %n", &lo, &hi, &off, &inode, &pos) < 4 || !pos)
			continue;
		name = line + pos;
		if ((inode != (unsigned long)ino || !ino) && strcmp(name, path))
			continue;
		if (foff >= off && foff < off + (hi - lo))
			addr = lo + (foff - off);
	}
	fclose(f);
	return addr;
}

static int read_target(pid_t pid, void *dst, uint64_t src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)src, n };

	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

int mt_runtime_info(const struct mt_target *t, struct mn_debug_info *d)
{
	static uint64_t vaddr, foff;
	static int looked;
	struct stat st = {};
	uint64_t addr;

	if (!looked) {
		int err = elf_sym(t->probe_file, MN_DEBUG_INFO_SYMBOL, &vaddr, &foff);

		if (err && t->attach_path[0])
			err = elf_sym(t->attach_path, MN_DEBUG_INFO_SYMBOL, &vaddr, &foff);
		if (err) {
			mt_err("%s has no symbol %s: a libmnsched older than "
			       "this tool, or stripped of its symbols", t->probe_file,
			       MN_DEBUG_INFO_SYMBOL);
			return -1;
		}
		looked = 1;
	}
	stat(t->probe_file, &st);
	addr = map_addr(t->pid, st.st_ino, t->probe_file, foff);
	if (!addr)
		return 1;		/* not mapped yet (-- COMMAND) */
	if (read_target(t->pid, d, addr, sizeof(*d)))
		return 1;
	if (memcmp(d->magic, "mnsched", 8) || d->version != MN_DEBUG_INFO_VERSION ||
	    d->size != sizeof(*d)) {
		mt_err("PID %d: mn_debug_info version %u (%u bytes), mnsched-prof "
		       "knows version %d (%zu bytes): use the tools of its "
		       "libmnsched", t->pid, d->version, d->size,
		       MN_DEBUG_INFO_VERSION, sizeof(*d));
		return -1;
	}
	return d->allm_addr ? 0 : 1;	/* 0 until mn_main has run */
}

/* ---- attaching ------------------------------------------------------ */

static struct bpf_link **links;
static int nlinks, caplinks;

void mt_keep_link(struct bpf_link *l)
{
	if (nlinks == caplinks) {
		int nc = caplinks ? 2 * caplinks : 32;
		struct bpf_link **nl = realloc(links, (size_t)nc * sizeof(*nl));

		if (!nl) {
			bpf_link__destroy(l);
			return;
		}
		links = nl;
		caplinks = nc;
	}
	links[nlinks++] = l;
}

int mt_attach_usdt(struct bpf_object *obj, struct bpf_program *prog,
		   const struct mt_target *t, const char *probe, bool required)
{
	struct bpf_link *l;
	int err;

	(void)obj;
	l = bpf_program__attach_usdt(prog, t->pid, t->attach_path, "mnsched",
				     probe, NULL);
	err = -errno;
	if (!l) {
		if (err == -ENOENT && !required) {
			if (mt_verbose)
				mt_warn("no probe mnsched:%s in %s: skipped",
					probe, t->probe_file);
			return 0;
		}
		mt_err("cannot attach to USDT mnsched:%s in %s (PID %d): %s%s",
		       probe, t->probe_file, t->pid, strerror(-err),
		       err == -ENOENT ? " (no such probe: an older libmnsched?)" : "");
		return err ? err : -EINVAL;
	}
	mt_keep_link(l);
	return 0;
}

void mt_detach_all(void)
{
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	free(links);
	links = NULL;
	nlinks = caplinks = 0;
}

/* ---- pinning -------------------------------------------------------- */

static char pin_dir[PATH_MAX];

const char *mt_pin_dir(const struct mt_target *t)
{
	snprintf(pin_dir, sizeof(pin_dir), MT_PIN_ROOT "/%d", t->pid);
	return pin_dir;
}

static int ensure_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int e = errno;

		mt_err("/sys/fs/bpf is not a BPF file system and mounting one "
		       "failed: %s", strerror(e));
		return -e;
	}
	return 0;
}

int mt_pin_maps(const struct mt_target *t, struct bpf_map **maps)
{
	const char *dir = mt_pin_dir(t);
	char path[PATH_MAX];
	int err;

	err = ensure_bpffs();
	if (err)
		return err;
	if ((mkdir(MT_PIN_ROOT, 0700) && errno != EEXIST) ||
	    (mkdir(dir, 0700) && errno != EEXIST)) {
		err = -errno;
		mt_err("cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	for (int i = 0; maps[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(maps[i]));
		/* A copy left by an earlier --pin run is replaced. */
		unlink(path);
		err = bpf_map__pin(maps[i], path);
		if (err) {
			mt_err("cannot pin map %s at %s: %s",
			       bpf_map__name(maps[i]), path, strerror(-err));
			return err;
		}
	}
	return 0;
}

void mt_unpin_maps(const struct mt_target *t, struct bpf_map **maps)
{
	const char *dir = mt_pin_dir(t);
	char path[PATH_MAX];

	for (int i = 0; maps[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(maps[i]));
		bpf_map__unpin(maps[i], path);
	}
	rmdir(dir);		/* only when empty: another tool may be pinned there */
	rmdir(MT_PIN_ROOT);
}

/* ---- names and histograms ------------------------------------------- */

/* The runtime's wait reasons, from the list it is built from
 * (user/src/probe_defs.h; selftests/mnsched/bpf_reasons.c checks the
 * library's strings against these). */
static const char *const waitreasons[] = {
#define MT_WAITREASON_STR(name, str) str,
	MN_WAITREASONS(MT_WAITREASON_STR)
#undef MT_WAITREASON_STR
};
_Static_assert(sizeof(waitreasons) / sizeof(waitreasons[0]) <= MT_LAT_WAIT_MAX,
	       "MT_LAT_WAIT_MAX (mnsched-common.h) below the number of wait reasons");
const unsigned int mt_nwaitreasons = sizeof(waitreasons) / sizeof(waitreasons[0]);

const char *mt_reason_name(unsigned int r)
{
	static char buf[32];

	if (r < mt_nwaitreasons)
		return waitreasons[r];
	switch (r) {
	case MT_LAT_CREATED: return "created";
	case MT_LAT_PREEMPTED: return "yield/preempted";
	case MT_LAT_SYSCALL: return "syscall (lost P)";
	case MT_LAT_UNKNOWN: return "unknown (park not seen)";
	}
	snprintf(buf, sizeof(buf), "reason %u", r);
	return buf;
}

static void fmt_ns(char *buf, size_t n, uint64_t v)
{
	snprintf(buf, n, "%llu", (unsigned long long)v);
}

void mt_print_hist(const struct mt_hist *h, const char *title)
{
	int first = -1, last = -1;
	uint64_t max = 0;
	char lo[24], hi[24];

	for (int i = 0; i < MT_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (h->slots[i] > max)
			max = h->slots[i];
	}
	printf("\n%s\n", title);
	if (first < 0) {
		printf("     (no samples)\n");
		return;
	}
	printf("%26s : %-10s %s\n", "nsecs", "count", "distribution");
	for (int i = first; i <= last; i++) {
		uint64_t l = i == 0 ? 0 : 1ull << i;
		uint64_t u = (2ull << i) - 1;
		int stars = (int)(h->slots[i] * 40 / max);
		char bar[41];

		memset(bar, '*', (size_t)stars);
		bar[stars] = 0;
		fmt_ns(lo, sizeof(lo), l);
		fmt_ns(hi, sizeof(hi), u);
		printf("%12s -> %-10s : %-10llu |%-40s|\n", lo, hi,
		       (unsigned long long)h->slots[i], bar);
	}
	printf("     count %llu, avg %llu ns, max %llu ns\n",
	       (unsigned long long)h->count,
	       (unsigned long long)(h->count ? h->sum_ns / h->count : 0),
	       (unsigned long long)h->max_ns);
}
