#!/bin/sh
# Install the Debian packages mnsched needs to build, test and benchmark.
# Idempotent and quiet when everything is present; apt-get update first
# when something is missing.  Called by make check, make demo, make bench.
set -e
PKGS="build-essential pkg-config clang llvm lld libelf-dev zlib1g-dev libdw-dev gdb python3
liburing-dev libbpf-dev bpftool bpftrace systemtap-sdt-dev
golang-go wrk
linux-source-6.1 dwarves gcc-12
qemu-system-x86 busybox-static cpio xz-utils kmod"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "mnsched: missing Debian packages:$missing" >&2
	echo "mnsched: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "mnsched: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
# The downloaded .debs go once installed: a CI machine's disk is not ours.
apt-get install -y -qq --no-install-recommends \
	-o APT::Keep-Downloaded-Packages=false $missing >/dev/null
