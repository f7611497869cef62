#!/usr/bin/env bash
# Build the flashable Raspberry Pi OS Lite (arm64, trixie) image with the desk phone installed.
#
#   sudo image/build.sh [WORKDIR]          (default WORKDIR: ./image-build, kept for re-runs)
#
# Needs the internet (GitHub for pi-gen and the pjproject tarball; the Raspberry Pi OS and Debian
# archives; PyPI), root, ~15 GB of disk, and on an x86_64 host qemu-user-static + binfmt-support
# (pi-gen's own dependencies are listed in its README: coreutils quilt parted debootstrap zerofree
# zip dosfstools libarchive-tools libcap2-bin grep rsync xz-utils file git curl bc gpg pigz
# arch-test). CI does not run this script (no internet there); it runs the same install.sh into a
# Debian arm64 root file system instead (tests/appliance). Steps:
#   1. wheelhouse: the project's wheel and its dependencies for aarch64 / Python 3.13;
#   2. pjsua2: a throwaway Debian trixie arm64 chroot with the build dependencies runs
#      image/pjproject.sh (pinned, checksum-verified pjproject release);
#   3. pi-gen (PI_GEN_REF, default branch "arm64") builds stage0-2 (Raspberry Pi OS Lite) and
#      image/pi-gen/stage-deskphone, which calls image/install.sh on the image's root.
# Environment: PI_GEN_REF (a branch, tag or commit of RPi-Distro/pi-gen; pin a commit for
# reproducible images), PI_GEN_CONFIG (extra lines for pi-gen's config), FIRST_USER_NAME/PASS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
work=$(mkdir -p "${1:-$repo/image-build}" && cd "${1:-$repo/image-build}" && pwd)
pi_gen_ref=${PI_GEN_REF:-arm64}
first_pass=${FIRST_USER_PASS:-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')}
started=$(date +%s)
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (pi-gen needs it)" >&2; exit 1; }
step() { echo "build.sh: [$(($(date +%s) - started)) s] $*"; }

# ---------------------------------------------------------------- 1. wheelhouse
step "wheelhouse (aarch64, Python 3.13)"
rm -rf "$work/wheels"
py=${PYTHON:-$repo/.venv/bin/python}  # needs pip and packaging (bash .ci/setup makes .venv)
[ -x "$py" ] || py=python3
PYTHON=$py bash "$here/wheelhouse.sh" "$work/wheels" aarch64 3.13

# ---------------------------------------------------------------- 2. pjsua2 for aarch64
if [ ! -f "$work/pjsua2/pjsua2.py" ]; then
  step "pjsua2: fetching and verifying the pjproject tarball on the host"
  PJPROJECT_CACHE="$work/cache" bash "$here/pjproject.sh" --verify-only
  tarball=$(ls "$work"/cache/pjproject-*.tar.gz | head -n 1)
  step "pjsua2: arm64 build chroot (Debian trixie)"
  rm -rf "$work/buildroot"
  mmdebstrap --arch=arm64 --variant=buildd \
    --include=pkg-config,swig,python3-dev,python3-setuptools,libasound2-dev,libopus-dev,libsrtp2-dev,libssl-dev,ca-certificates \
    trixie "$work/buildroot" http://deb.debian.org/debian
  install -m 0755 "$here/pjproject.sh" "$work/buildroot/usr/local/bin/pjproject.sh"
  cp "$tarball" "$work/buildroot/tmp/"
  mount -t proc proc "$work/buildroot/proc"
  trap 'umount "$work/buildroot/proc" 2>/dev/null || true' EXIT
  step "pjsua2: building under qemu-user (the slow part)"
  chroot "$work/buildroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PJPROJECT_TARBALL="/tmp/$(basename "$tarball")" bash /usr/local/bin/pjproject.sh /tmp/pjsua2-out
  umount "$work/buildroot/proc"
  trap - EXIT
  rm -rf "$work/pjsua2" && cp -a "$work/buildroot/tmp/pjsua2-out" "$work/pjsua2"
fi

# ---------------------------------------------------------------- 3. pi-gen
step "pi-gen ($pi_gen_ref)"
if [ ! -d "$work/pi-gen/.git" ]; then
  git clone --depth 1 --branch "$pi_gen_ref" https://github.com/RPi-Distro/pi-gen "$work/pi-gen"
fi
rm -rf "$work/pi-gen/stage-deskphone"
cp -a "$here/pi-gen/stage-deskphone" "$work/pi-gen/stage-deskphone"
touch "$work/pi-gen/stage2/SKIP_IMAGES"   # only our stage exports an image
cat > "$work/pi-gen/config" <<CFG
IMG_NAME=deskphone
RELEASE=trixie
TARGET_HOSTNAME=deskphone
FIRST_USER_NAME=${FIRST_USER_NAME:-phoneadmin}
FIRST_USER_PASS=$first_pass
DISABLE_FIRST_BOOT_USER_RENAME=1
ENABLE_SSH=0
LOCALE_DEFAULT=C.UTF-8
DEPLOY_COMPRESSION=xz
STAGE_LIST="stage0 stage1 stage2 stage-deskphone"
${PI_GEN_CONFIG:-}
CFG
export DESKPHONE_SRC=$repo DESKPHONE_WHEELS=$work/wheels DESKPHONE_PJSUA2=$work/pjsua2
(cd "$work/pi-gen" && ./build.sh -c config)
image=$(ls -t "$work"/pi-gen/deploy/*deskphone*.img.xz | head -n 1)
[ -n "${FIRST_USER_PASS:-}" ] || step "login (console only, SSH is off): ${FIRST_USER_NAME:-phoneadmin} / $first_pass"
step "done: $image ($(du -h "$image" | cut -f1) compressed, $(xz --robot -l "$image" | awk '/^totals/ {printf "%.0f MiB", $5/1048576}') raw)"
