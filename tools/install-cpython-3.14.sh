#!/usr/bin/env bash
# Installs CPython 3.14 from Debian sid's binary packages into a prefix outside
# the repository, runnable on this (older) Debian, with gevent and uvloop.
#
#   tools/install-cpython-3.14.sh [PREFIX]
#
# PREFIX defaults to $BOOK_CPYTHON_314 or $HOME/.local/share/book/cpython-3.14.
# On success the last line of standard output is the bin directory that holds
# `python3.14`; put it on the PATH (it holds no `python3`,
# so the default python3 stays what it was).
#
# How: a private apt directory (its own sources list, state and cache; the
# system's apt is not touched) points at sid; `apt-get download` fetches the
# interpreter's packages and the libraries they need; `dpkg -x` unpacks them
# into the prefix; patchelf makes the interpreter use the unpacked glibc
# (--set-interpreter) and find the unpacked libraries by an RPATH (not a
# RUNPATH: an RPATH also applies to the libraries it loads, so `_ssl` finds
# sid's libssl). Then pip (bootstrapped with ensurepip) installs the bench's
# requirements (gevent, uvloop) into the interpreter's own site-packages.
#
# Idempotent: a prefix whose interpreter already runs and imports gevent and
# uvloop is left as it is. Needs apt-get, dpkg, patchelf and the network to
# deb.debian.org and PyPI.
set -euo pipefail

prefix="${1:-${BOOK_CPYTHON_314:-$HOME/.local/share/book/cpython-3.14}}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$prefix/bin"
arch_dir=usr/lib/x86_64-linux-gnu

die() { echo "install-cpython-3.14: $*" >&2; exit 1; }

rm -f "$bin/python3" # an earlier version of this script made one: it shadowed the default python3
if [ -x "$bin/python3.14" ] &&
    "$bin/python3.14" -c 'import ssl, gevent, uvloop, sys; assert sys.version_info[:2] == (3, 14)' 2>/dev/null; then
    echo "install-cpython-3.14: $("$bin/python3.14" -VV | head -1) already in $prefix" >&2
    echo "$bin"
    exit 0
fi

[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (Debian sid amd64 packages); this is $(uname -m)"
for tool in apt-get dpkg; do
    command -v "$tool" >/dev/null || die "needs $tool (a Debian or Ubuntu machine)"
done
command -v patchelf >/dev/null ||
    die "needs patchelf: apt-get install patchelf (as root), then run this again"

# The private apt directory: sid only, nothing from the system's lists.
apt_dir="$prefix/.apt"
mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,etc/preferences.d,debs}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "needs Debian's archive keyring at $keyring (package debian-archive-keyring)"
cat >"$apt_dir/etc/sources.list" <<SOURCES
deb [arch=amd64 signed-by=$keyring] http://deb.debian.org/debian sid main
SOURCES
touch "$apt_dir/status"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
    -o "Dir::State=$apt_dir"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures::=amd64"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)
echo "install-cpython-3.14: apt-get update (sid, private lists in $apt_dir)" >&2
apt-get "${apt_opts[@]}" update -qq || die "apt-get update against sid failed (network? keyring?)"

# The interpreter and every shared library it or its extension modules load.
packages=(
    python3.14 python3.14-minimal libpython3.14-minimal libpython3.14-stdlib
    libc6 libgcc-s1 libssl3t64 libffi8 libexpat1 zlib1g libbz2-1.0 liblzma5
    libzstd1 libmpdec4 libsqlite3-0 libuuid1 libncursesw6 libtinfo6
    libreadline8t64 libgdbm6t64 libdb5.3t64 libcrypt1 libnsl2 libtirpc3t64
    libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2
    libkeyutils1 libstdc++6 media-types tzdata
)
echo "install-cpython-3.14: apt-get download ${#packages[@]} packages" >&2
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}") ||
    die "apt-get download failed; a package may have been renamed in sid (see the message above)"

echo "install-cpython-3.14: unpacking into $prefix/root" >&2
rm -rf "$prefix/root"
mkdir -p "$prefix/root"
for deb in "$apt_dir"/debs/*.deb; do
    dpkg -x "$deb" "$prefix/root"
done

root="$prefix/root"
python="$root/usr/bin/python3.14"
[ -x "$python" ] || die "the packages hold no usr/bin/python3.14"
loader="$root/$arch_dir/ld-linux-x86-64.so.2"
[ -e "$loader" ] || loader="$root/lib64/ld-linux-x86-64.so.2"
[ -e "$loader" ] || die "sid's libc6 holds no ld-linux-x86-64.so.2"
loader="$(readlink -f "$loader")"
patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$root/$arch_dir" "$python"

# A bin directory with python3.14 alone. The interpreter finds its
# standard library from its own path (sys.prefix = $root/usr), so the names
# here is a symbolic link to it, not a copy.
mkdir -p "$bin"
ln -sfn "$python" "$bin/python3.14"
rm -f "$bin/python3"  # never shadow the python3 the book runs by default
"$bin/python3.14" -c 'import ssl, ctypes, sqlite3, decimal, lzma, bz2, zlib' ||
    die "the unpacked interpreter runs but cannot import its C modules (see above)"

# Debian's python3.14 ships without ensurepip's wheel (python3.14-venv), so
# use the pip of any other python3 on the machine to install into this one.
installer=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (22, 3))' 2>/dev/null; then
        installer="$(command -v "$candidate")"
        break
    fi
done
[ -n "$installer" ] || die "needs a python3 with pip 22.3 or newer (for pip --python) to install gevent and uvloop"
echo "install-cpython-3.14: pip install -r bench/python/requirements.txt (with $installer's pip)" >&2
PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore "$installer" -m pip --python "$bin/python3.14" \
    install --quiet --only-binary gevent,uvloop,greenlet -r "$here/bench/python/requirements.txt" ||
    die "pip could not install gevent and uvloop for 3.14"
"$bin/python3.14" -c 'import gevent, uvloop' || die "gevent or uvloop does not import on 3.14"

echo "install-cpython-3.14: $("$bin/python3.14" -VV | head -1) in $prefix" >&2
echo "$bin"
