#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh OUT.cpio.gz KO TESTLIST [FILE...]
# Build the test VM's initramfs: busybox-static, tools/vm/init as /init,
# KO as /lib/mnsched.ko, TESTLIST as /etc/mn-tests, and each FILE in
# /tests together with the shared libraries it needs (found with ldd).
# Run from the top of the tree.
set -eu
out=$1
ko=$2
list=$3
shift 3
stage=$(mktemp -d "${TMPDIR:-/tmp}/mn-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/etc" "$stage/tests"
bb=$(command -v busybox || echo /bin/busybox)
cp "$bb" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp tools/vm/init "$stage/init"
chmod 755 "$stage/init"
cp "$ko" "$stage/lib/mnsched.ko"
# Optional helper module next to it (tools/vm/vmhold).
hold=$(dirname "$ko")/../vmhold/mnsched_vmhold.ko
[ -f "$hold" ] && cp "$hold" "$stage/lib/mnsched_vmhold.ko"
cp "$list" "$stage/etc/mn-tests"
echo "root:x:0:0:root:/tmp:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"

copy_lib() {
	dst="$stage$1"
	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}

for f in "$@"; do
	cp -L "$f" "$stage/tests/"
	# Dynamic executables: copy every library ldd resolves, and the loader.
	if ldd "$f" >/dev/null 2>&1; then
		ldd "$f" | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' |
		while read -r lib; do
			copy_lib "$lib"
		done
	fi
done

# Libraries loaded with dlopen(), which ldd does not list: libdw, with
# which the runtime's dump symbolizes stacks (user/src/unwind.c), and
# libgcc_s, which glibc's pthread_exit loads to unwind the thread (a
# preempted thread that cannot get its priority back exits so, preempt.c).
for soname in libdw.so.1 libgcc_s.so.1; do
	so=$(ldconfig -p 2>/dev/null |
		awk -v n="$soname" '$1 == n && /x86-64/ { print $NF; exit }')
	[ -n "$so" ] || continue
	copy_lib "$so"
	ldd "$so" | awk '/=> \// { print $3 }' | while read -r lib; do
		copy_lib "$lib"
	done
done

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
