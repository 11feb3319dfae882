#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# debug-kernel.sh OUTDIR - build the debug kernel of the mnsched test VM
# (lockdep, KASAN, KFENCE, DEBUG_ATOMIC_SLEEP, full PREEMPT...: see
# tools/vm/debug.config) from Debian's linux-source-6.12, in OUTDIR.
#
# Prints two lines on stdout:
#   the bzImage to boot (tools/vm/run-vm.sh test <bzImage> ...)
#   the kernel build directory for `make -C <dir> M=<module dir> modules`
# Progress goes to stderr, the build's output to <build dir>/build.log
# (its tail is printed when the build fails).
#
# Idempotent.  The result is cached in OUTDIR/build-<key>, key = hash of
# (the source package version, debug.config, this script): a second run
# only prints the paths; a change to any of the three builds a new tree
# (an interrupted build resumes), and older build trees are removed once
# the new one is complete.
#
# The source: `apt-get download` + `dpkg -x` into OUTDIR (as
# tools/vm/fetch-kernel.sh does for the VM's kernel), not `apt-get install`:
# the tarball stays private to OUTDIR, needs no root, and a system upgrade of
# an installed package cannot change it under a cached build; the version is
# apt's candidate for linux-source-6.12, or MN_DEBUG_KSRC_VERSION.  The
# tarball is extracted once per version into OUTDIR/src-<version>; the .deb
# and the tarball are then deleted.
#
# Disk: a clean CI machine once ran out of space in the middle of this
# build (the whole tree, 1.5 GB, plus 1.4 GB of objects).  So:
#   - extraction leaves out what this configuration never compiles: the
#     sources of every driver directory but those named in $drivers (the
#     list of what the build's dependency files name; Kconfig files and
#     Makefiles are kept, kbuild descends everywhere), the other
#     architectures, Documentation, sound, perf and the selftests
#     (about 350 MB left of 1.5 GB).  A driver added to debug.config
#     whose directory is not in $drivers fails the build with "No rule to
#     make target drivers/<dir>/...": add the directory here;
#   - debug.config compresses the DWARF (DEBUG_INFO_COMPRESSED_ZLIB);
#   - once the kernel is built, its objects go (*.o, *.a, the .cmd files,
#     the intermediate vmlinux images): an external module needs only the
#     configuration, the generated headers, the host programs under
#     scripts/ and tools/objtool, Module.symvers and vmlinux (the BTF
#     base of the module's BTF).  The tree stays usable for
#     `make -C <dir> M=... modules`, not for rebuilding the kernel;
#   - the free space is checked before anything is fetched, and a
#     shortfall is named (MN_DEBUG_KERNEL_MB, the megabytes needed).
#
# The build: `make allnoconfig` with KCONFIG_ALLCONFIG=debug.config, a
# check that every option of debug.config has its value in the final
# .config (kconfig silently drops an option whose dependencies are
# missing), then `make bzImage modules_prepare` with all CPUs.  No in-tree
# modules are built, so Module.symvers is vmlinux.symvers (what `make
# modules` would produce with no module exporting anything).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
frag=$here/debug.config
self=$here/$(basename "$0")
pkg=linux-source-6.12
# The driver sources debug.config compiles (see "Disk" above).
drivers="acpi base char clocksource firmware input pci pnp rtc tty video net/loopback.c"

say() { echo "  DEBUGK  $*" >&2; }
die() { echo "debug-kernel: $*" >&2; exit 1; }

# Build tools (Debian packages); installed when missing and root.
tools="build-essential bc bison flex libelf-dev libssl-dev dwarves xz-utils"
missing=""
for p in $tools; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (apt-get install$missing)"
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends \
		-o APT::Keep-Downloaded-Packages=false $missing >/dev/null
fi

candidate() {
	apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'
}
ver=${MN_DEBUG_KSRC_VERSION:-$(candidate)}
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	say "apt-get update (no candidate for $pkg)"
	apt-get update -qq >&2 || true
	ver=$(candidate)
fi
case "$ver" in "" | "(none)") die "no version of $pkg in apt's lists" ;; esac

key=$({ echo "$ver"; cat "$frag" "$self"; } | sha256sum | cut -c1-16)
vdir=$(echo "$ver" | tr -c 'A-Za-z0-9.+\n-' '_')
src=$out/src-$vdir/$pkg
bld=$out/build-$key
img=$bld/arch/x86/boot/bzImage
log=$bld/build.log
done_stamp=$bld/.debug-kernel-done

# One run at a time per OUTDIR: a second one waits, then finds the cache.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	if ! flock -n 9; then
		say "waiting for another debug-kernel.sh in $out"
		flock 9
	fi
fi

if [ -f "$done_stamp" ] && [ -f "$img" ]; then
	echo "$img"
	echo "$bld"
	exit 0
fi

# Room for the build: the fetch, the extracted source and the objects
# peak at about 1.3 GB (measured with a du every 10 s), with a margin.
need=${MN_DEBUG_KERNEL_MB:-2000}
have=$(df -Pm "$out" | awk 'NR == 2 { print $4 }')
if [ "$have" -lt "$need" ]; then
	die "building the debug kernel needs about $need MB free in $out; $have MB are free (df -m $out)"
fi

# The source, extracted once per version.
if [ ! -f "$src/.debug-kernel-extracted" ]; then
	tmp=$out/fetch.tmp
	rm -rf "$tmp" "$src"
	mkdir -p "$tmp"
	# apt drops privileges to _apt when it can: a world-writable directory.
	chmod 777 "$tmp"
	say "fetching $pkg $ver (apt-get download)"
	if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); then
		apt-get update -qq >&2 || true
		(cd "$tmp" && apt-get download -q "$pkg=$ver" >&2)
	fi
	dpkg -x "$tmp"/"${pkg}"_*.deb "$tmp/root"
	say "extracting $pkg.tar.xz (what debug.config compiles)"
	mkdir -p "$out/src-$vdir"
	tarball=$tmp/root/usr/src/$pkg.tar.xz
	# Pass 1: everything but the sources of drivers/ and of the rest
	# nothing here builds (exclusion wildcards match across '/').
	set -- --exclude="$pkg/drivers/*.[chS]" \
		--exclude="$pkg/sound/*.[chS]" \
		--exclude="$pkg/Documentation/*/*" \
		--exclude="$pkg/tools/perf" --exclude="$pkg/tools/testing"
	for a in alpha arc arm arm64 csky hexagon loongarch m68k microblaze \
		 mips nios2 openrisc parisc powerpc riscv s390 sh sparc um xtensa; do
		# (Kconfig files stay: crypto/Kconfig sources every arch's.)
		set -- "$@" --exclude="$pkg/arch/$a/*.[chS]" \
			--exclude="$pkg/arch/$a/*.dts*"
	done
	tar -xJf "$tarball" -C "$out/src-$vdir" "$@"
	# Pass 2: the driver directories the build compiles.
	set --
	for d in $drivers; do
		set -- "$@" "$pkg/drivers/$d"
	done
	tar -xJf "$tarball" -C "$out/src-$vdir" "$@"
	rm -rf "$tmp"
	[ -f "$src/Makefile" ] || die "$src/Makefile missing after extraction"
	touch "$src/.debug-kernel-extracted"
fi

mkdir -p "$bld"
: >"$log"
start=$(date +%s)
{
	echo "debug-kernel: $pkg $ver key $key, $(nproc) CPUs"
	echo "debug-kernel: load at start:$(uptime | sed 's/.*load average://')"
} >>"$log"
kmake() {
	make -C "$src" O="$bld" "$@" >>"$log" 2>&1
}
fail() {
	echo "debug-kernel: $1 failed; the end of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}

say "configuring $pkg $ver (allnoconfig + $(basename "$frag"))"
kmake KCONFIG_ALLCONFIG="$frag" allnoconfig || fail "make allnoconfig"
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*}
	got=$(grep -E "^$opt=" "$bld/.config" || true)
	if [ "$got" != "$line" ]; then
		echo "debug-kernel: $line wanted, .config has: ${got:-# $opt is not set}" >&2
		bad=1
	fi
done <"$frag"
[ "$bad" = 0 ] || die "$(basename "$frag") is not what kconfig made of it (dependencies missing?)"

say "building bzImage and modules_prepare with -j$(nproc) (log: $log)"
kmake -j"$(nproc)" bzImage modules_prepare || fail "the build"
cp "$bld/vmlinux.symvers" "$bld/Module.symvers"
[ -f "$img" ] || fail "the build (no $img)"
secs=$(($(date +%s) - start))
{
	echo "debug-kernel: built in $secs s, bzImage $(wc -c <"$img") bytes"
	echo "debug-kernel: load at end:$(uptime | sed 's/.*load average://')"
} >>"$log"
say "built in $((secs / 60)) min $((secs % 60)) s: $img"
# The objects are not needed to build a module (see "Disk" above).
find "$bld" -type f \( -name '*.o' -o -name '*.a' -o -name '.*.cmd' \
	-o -name '.tmp_vmlinux*' \) -delete
echo "debug-kernel: $(du -sm "$bld" | cut -f1) MB left after removing the objects" >>"$log"
touch "$done_stamp"

# Older builds and sources of this directory.
for d in "$out"/build-* "$out"/src-*; do
	[ -d "$d" ] || continue
	[ "$d" = "$bld" ] || [ "$d" = "$out/src-$vdir" ] || rm -rf "$d"
done

echo "$img"
echo "$bld"
