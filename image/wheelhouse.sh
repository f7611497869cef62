#!/usr/bin/env bash
# Build an offline wheelhouse for a target machine: the project's wheel plus binary wheels of every
# runtime dependency for that architecture and Python, downloaded on the build host (so nothing is
# compiled under qemu and the target needs no access to a package index).
#
#   image/wheelhouse.sh OUTDIR [ARCH [PYVER]]      ARCH: aarch64 (default) | x86_64; PYVER: 3.13 (default)
#
# The Raspberry Pi OS image (trixie) needs aarch64 / 3.13; CI's Debian 12 rootfs needs 3.11.
# Environment: PYTHON (a Python >= 3.11 with pip and packaging; default .venv/bin/python).
# pjsua2 has no wheel for aarch64 on PyPI: image/pjproject.sh builds it (see docs/appliance.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:?usage: wheelhouse.sh OUTDIR [ARCH [PYVER]]}
arch=${2:-aarch64}
pyver=${3:-3.13}
py=${PYTHON:-$repo/.venv/bin/python}
case "$arch" in
  aarch64|x86_64) ;;
  *) echo "wheelhouse: unsupported architecture $arch" >&2; exit 2 ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
tag=${pyver/./}

# The project's own wheel (pure Python), built from a copy so the work tree stays clean.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -a "$repo/pyproject.toml" "$repo/README.md" "$repo/firmware" "$repo/hal" "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
rm -f "$out"/cusax_deskphone-*.whl
"$py" -m pip wheel -q --no-deps -w "$out" "$src"

# Runtime requirements with markers evaluated for the TARGET (pip would evaluate them for this host).
reqs=$("$py" - "$repo/pyproject.toml" "$arch" "$pyver" <<'PY'
import sys, tomllib
from packaging.requirements import Requirement
path, arch, pyver = sys.argv[1:]
deps = tomllib.load(open(path, "rb"))["project"]["dependencies"]
env = {"platform_machine": arch, "python_version": pyver, "python_full_version": pyver + ".0",
       "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
for dep in deps:
    req = Requirement(dep)
    if req.marker is None or req.marker.evaluate(env):
        req.marker = None
        print(req)
PY
)
mapfile -t reqs <<<"$reqs"
platforms=()
for glibc in manylinux2014 manylinux_2_17 manylinux_2_28 manylinux_2_31 manylinux_2_34 manylinux_2_36; do
  platforms+=(--platform "${glibc}_${arch}")
done
"$py" -m pip download -q --dest "$out" --only-binary=:all: --python-version "$pyver" \
  --implementation cp --abi "cp$tag" --abi abi3 --abi none "${platforms[@]}" --platform any "${reqs[@]}"
echo "wheelhouse: $(ls "$out" | wc -l) wheels for $arch / Python $pyver in $out"
