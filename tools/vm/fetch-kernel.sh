#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh SERIES DIR - a Debian kernel and its headers for the test
# VM, without installing anything: apt-get download, then dpkg -x into
# DIR/root.  Prints one line: "KVER IMAGE KDIR" (the kernel release, the
# bzImage, and the headers directory to build modules against).
#
# SERIES is a kernel series ("6.1", "6.12"): the newest Debian 12 cloud
# kernel of that series, as Debian's meta-packages name it
# (linux-image-SERIES-cloud-amd64, else linux-image-cloud-amd64 when it
# points into the series).  A full release ("6.1.0-56-cloud-amd64") picks
# that kernel.  Idempotent: the .debs and the extracted tree are cached in
# DIR, keyed by the release; DIR/kver remembers what SERIES resolved to, so
# a tree keeps testing one kernel until `make vm-clean` (or rm DIR/kver).
#
# The headers come with the two packages they need (the -common tree and
# linux-kbuild, whose relative symlinks dpkg -x keeps); the one absolute
# path Debian writes (the Makefile's include of the -common tree) is
# rewritten to point into DIR.
set -eu
series=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

apt_try() {
	"$@" 2>/dev/null && return 0
	echo "  FETCH   apt-get update, then retry" >&2
	apt-get update -qq >&2 || true
	"$@"
}

# The image package a meta-package depends on.
meta_dep() {
	apt-cache depends "$1" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

resolve() {
	case "$series" in
	*-cloud-amd64) echo "$series"; return 0 ;;
	esac
	for meta in "linux-image-$series-cloud-amd64" linux-image-cloud-amd64; do
		img=$(meta_dep "$meta")
		case "$img" in
		"linux-image-$series".*) echo "${img#linux-image-}"; return 0 ;;
		esac
	done
	return 1
}

if [ -s "$dir/kver" ]; then
	kver=$(cat "$dir/kver")
else
	kver=$(resolve || { apt-get update -qq >&2 || true; resolve; }) || {
		echo "fetch-kernel: no Debian cloud kernel of series $series in the archive" >&2
		exit 1
	}
fi
root=$dir/root
img=$root/boot/vmlinuz-$kver
kdir=$root/usr/src/linux-headers-$kver
if [ -f "$img" ] && [ -f "$kdir/.mn-fixed" ]; then
	echo "$kver" >"$dir/kver"
	echo "$kver $img $kdir"
	exit 0
fi

# The packages: image, headers, and what the headers depend on from the
# same source (the -common headers, linux-kbuild), all at one version.
pkgs="linux-image-$kver linux-headers-$kver"
deps=$(apt-cache depends "linux-headers-$kver" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-(headers|kbuild)-/ { print $2 }')
[ -n "$deps" ] || {
	echo "fetch-kernel: no package linux-headers-$kver (apt-get update?)" >&2
	exit 1
}
ver=$(apt-cache show "linux-headers-$kver" | awk '/^Version:/ { print $2; exit }')
debs=$dir/debs
mkdir -p "$debs"
for p in $pkgs $deps; do
	ls "$debs/${p}_"*.deb >/dev/null 2>&1 && continue
	echo "  FETCH   $p (apt-get download)" >&2
	# apt drops privileges to _apt when it can; a root-only directory only
	# costs a warning, so download into a temporary world-writable one.
	tmp=$(mktemp -d)
	chmod 777 "$tmp"
	# linux-kbuild-6.1 carries no ABI number: take the headers' version.
	(cd "$tmp" && apt_try apt-get download -q "$p=$ver" >&2) ||
		(cd "$tmp" && apt_try apt-get download -q "$p" >&2)
	mv "$tmp"/*.deb "$debs"/
	rm -rf "$tmp"
done

rm -rf "$root.tmp"
for p in $pkgs $deps; do
	# shellcheck disable=SC2012 # Debian package file names
	deb=$(ls "$debs/${p}_"*.deb | tail -n 1)
	echo "  EXTRACT $(basename "$deb")" >&2
	dpkg -x "$deb" "$root.tmp"
done
mk=$root.tmp/usr/src/linux-headers-$kver/Makefile
if [ ! -f "$root.tmp/boot/vmlinuz-$kver" ] || [ ! -f "$mk" ]; then
	echo "fetch-kernel: vmlinuz-$kver or its headers missing from the packages" >&2
	exit 1
fi
# "include /usr/src/linux-headers-X-common/Makefile" -> into DIR/root.
sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"
touch "$root.tmp/usr/src/linux-headers-$kver/.mn-fixed"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$kver" >"$dir/kver"
echo "$kver $img $kdir"
