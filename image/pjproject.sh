#!/usr/bin/env bash
# Build pjsua2 (pjproject's SWIG Python module) for the machine or chroot it runs in, with ALSA,
# Opus, libsrtp2 and OpenSSL 3 from Debian, and leave pjsua2.py + _pjsua2*.so in OUTDIR for
# image/install.sh (DESKPHONE_PJSUA2=OUTDIR). The Raspberry Pi image runs it inside a Debian
# trixie arm64 build chroot (image/build.sh); on a Pi itself it runs natively.
#
#   image/pjproject.sh OUTDIR                 fetch (or take) the tarball, verify, build, smoke-test
#   image/pjproject.sh --verify-only [FILE]   only fetch/verify the tarball (FILE: a local copy)
#
# Environment:
#   PJPROJECT_VERSION   default 2.15.1 (the version of PyPI's pjsua2-python that CI tests on x86_64)
#   PJPROJECT_SHA256    the tarball's SHA-256. Pinned below for 2.15.1; any other version needs it,
#                       and without a checksum the script refuses to build (fails closed).
#   PJPROJECT_TARBALL   a local copy of the release tarball (no download), e.g. from a mirror
#   PJPROJECT_CACHE     where downloads are kept (default ~/.cache/deskphone/pjproject)
#   JOBS                parallel make jobs (default: nproc)
# Needs: gcc g++ make pkg-config swig python3-dev python3-setuptools libasound2-dev libopus-dev
#        libsrtp2-dev libssl-dev, and curl for the download.
#
# The pinned checksum is the one Homebrew's pjproject formula and other public build recipes pin
# for https://github.com/pjsip/pjproject/archive/refs/tags/2.15.1.tar.gz; this project could not
# download the tarball itself to recompute it (no route to GitHub from its CI). A mismatch stops
# the build: GitHub's generated archives are stable in practice but not guaranteed; investigate
# before changing the pin.
set -euo pipefail

VERSION=${PJPROJECT_VERSION:-2.15.1}
PINNED_2_15_1=8f3bd99caf003f96ed8038b8a36031eb9d8cd9eaea1eaff7e01c2eef6bd55706
URL="https://github.com/pjsip/pjproject/archive/refs/tags/${VERSION}.tar.gz"

say() { echo "pjproject.sh: $*"; }
die() { echo "pjproject.sh: error: $*" >&2; exit 1; }

verify_only=0
if [ "${1:-}" = "--verify-only" ]; then
  verify_only=1
  shift
  [ -n "${1:-}" ] && PJPROJECT_TARBALL=$1
else
  out=${1:?usage: pjproject.sh OUTDIR | pjproject.sh --verify-only [TARBALL]}
fi

sha=${PJPROJECT_SHA256:-}
if [ -z "$sha" ]; then
  [ "$VERSION" = "2.15.1" ] || die "no checksum pinned for pjproject $VERSION: set PJPROJECT_SHA256 (refusing to build unverified source)"
  sha=$PINNED_2_15_1
fi
[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || die "PJPROJECT_SHA256 is not a SHA-256 hex digest: $sha"

# ---------------------------------------------------------------- fetch and verify
if [ -n "${PJPROJECT_TARBALL:-}" ]; then
  tarball=$PJPROJECT_TARBALL
  [ -f "$tarball" ] || die "PJPROJECT_TARBALL $tarball does not exist"
  say "using local tarball $tarball (no download)"
else
  cache=${PJPROJECT_CACHE:-$HOME/.cache/deskphone/pjproject}
  mkdir -p "$cache"
  tarball=$cache/pjproject-$VERSION.tar.gz
  if [ ! -f "$tarball" ]; then
    say "downloading $URL"
    curl -fL --retry 3 --connect-timeout 20 -o "$tarball.part" "$URL" || die "download failed: $URL (needs the internet)"
    mv "$tarball.part" "$tarball"
  fi
fi
actual=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$actual" != "$sha" ]; then
  die "checksum mismatch for $tarball: expected $sha, got $actual (download corrupt or upstream changed)"
fi
say "pjproject $VERSION verified (sha256 $sha)"
[ "$verify_only" = 1 ] && exit 0

# ---------------------------------------------------------------- build
for tool in gcc g++ make pkg-config swig python3; do
  command -v "$tool" >/dev/null || die "$tool missing (see the header for the build dependencies)"
done
for pc in alsa opus libsrtp2 openssl; do
  pkg-config --exists "$pc" || die "pkg-config cannot find $pc (install its -dev package)"
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
tar -xzf "$tarball" -C "$work"
src=$work/pjproject-$VERSION
cd "$src"

cat > pjlib/include/pj/config_site.h <<'EOF'
/* image/pjproject.sh: a desk phone, audio only. */
#define PJMEDIA_HAS_VIDEO 0
#define PJ_HAS_IPV6 1
#define PJMEDIA_HAS_SRTP 1
#define PJSUA_MAX_CALLS 8
#define PJSUA_MAX_ACC 4
#define PJMEDIA_AUDIO_DEV_HAS_ALSA 1
EOF

# Static libraries built with -fPIC: the Python module then needs only Debian's runtime libraries.
./configure --disable-shared CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC" \
  --with-ssl=/usr --with-opus=/usr --with-external-srtp \
  --disable-video --disable-v4l2 --disable-sdl --disable-ffmpeg --disable-openh264 --disable-libyuv \
  --disable-libwebrtc --disable-opencore-amr --disable-silk --disable-bcg729 >"$work/configure.log" 2>&1 \
  || { tail -40 "$work/configure.log"; die "configure failed"; }
# configure drops features silently when a library is not found: insist on each one.
grep -q -- "-lssl" build.mak || die "pjproject configured without SSL (TLS would not work)"
grep -q -- "-lopus" build.mak || die "pjproject configured without Opus"
grep -q -- "-lsrtp2" build.mak || die "pjproject configured without the external libsrtp2"
grep -q -- "-lasound" build.mak || die "pjproject configured without ALSA"

jobs=${JOBS:-$(nproc)}
make dep >"$work/make.log" 2>&1 && make -j"$jobs" >>"$work/make.log" 2>&1 \
  || { tail -60 "$work/make.log"; die "make failed"; }
say "libraries built in $(($(date +%s) - started)) s"
make -C pjsip-apps/src/swig/python >"$work/swig.log" 2>&1 || { tail -60 "$work/swig.log"; die "SWIG module failed"; }
module=$(find pjsip-apps/src/swig/python/build -name '_pjsua2*.so' | head -n 1)
[ -n "$module" ] || die "no _pjsua2*.so produced"
install -m 0644 pjsip-apps/src/swig/python/pjsua2.py "$out/pjsua2.py"
install -m 0755 "$module" "$out/"
strip --strip-unneeded "$out"/_pjsua2*.so || true

# ---------------------------------------------------------------- smoke test
PYTHONPATH=$out python3 - <<'EOF'
import pjsua2 as pj
ep = pj.Endpoint()
ep.libCreate()
ep.libInit(pj.EpConfig())
print("pjproject.sh: pjsua2", ep.libVersion().full, "imports and initialises")
ep.libDestroy()
EOF
if ldd "$out"/_pjsua2*.so | grep -q "not found"; then
  ldd "$out"/_pjsua2*.so
  die "the module needs libraries that are missing"
fi
say "done in $(($(date +%s) - started)) s: $(ls "$out") in $out ($(du -sh "$out" | cut -f1))"
