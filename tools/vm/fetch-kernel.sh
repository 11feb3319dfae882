#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh KVER DIR - put Debian's linux-image-KVER kernel in
# DIR/root/boot/vmlinuz-KVER without installing it: apt-get download, then
# dpkg -x.  Idempotent: the .deb and the extracted tree are cached in DIR.
# Prints the path of the kernel image.
set -eu
kver=$1
dir=$2
img=$dir/root/boot/vmlinuz-$kver
if [ -f "$img" ]; then
	echo "$img"
	exit 0
fi
mkdir -p "$dir"
pkg=linux-image-$kver
deb=$(ls "$dir"/"${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
if [ -z "$deb" ]; then
	echo "  FETCH   $pkg (apt-get download)" >&2
	# apt drops privileges to _apt when it can; a root-only directory only
	# costs a warning, so download into a temporary world-writable one.
	tmp=$(mktemp -d)
	chmod 777 "$tmp"
	if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
		echo "  FETCH   apt-get update, then retry" >&2
		apt-get update -qq >&2 || true
		(cd "$tmp" && apt-get download -q "$pkg" >&2)
	fi
	mv "$tmp"/"${pkg}"_*.deb "$dir"/
	rm -rf "$tmp"
	deb=$(ls "$dir"/"${pkg}"_*.deb | tail -n 1)
fi
echo "  EXTRACT $(basename "$deb")" >&2
rm -rf "$dir/root.tmp"
dpkg -x "$deb" "$dir/root.tmp"
rm -rf "$dir/root"
mv "$dir/root.tmp" "$dir/root"
[ -f "$img" ] || { echo "fetch-kernel: $img missing from $deb" >&2; exit 1; }
echo "$img"
