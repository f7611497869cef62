#!/usr/bin/env bash
# The desk phone's whole payload, installed into a root file system: the one script that both the
# Raspberry Pi OS image (image/pi-gen/stage-deskphone) and CI (tests/appliance, Debian rootfs made
# with mmdebstrap, booted with systemd-nspawn) run.
#
#   image/install.sh ROOT
#
# Environment:
#   DESKPHONE_WHEELS   required: a wheelhouse for ROOT's architecture and Python (image/wheelhouse.sh):
#                      the project's wheel and its dependencies, installed offline into /opt/deskphone.
#   DESKPHONE_PJSUA2   optional: a directory with pjsua2.py and _pjsua2*.so (image/pjproject.sh) to
#                      put into the venv. Without it (and without the PyPI wheel, x86_64 only) the
#                      phone runs with "SIP module missing" on its screen.
#   DESKPHONE_CONFIG   optional: the config.toml to install (default: an empty [provisioning]
#                      section: the phone shows "Not provisioned" until the boot partition's
#                      deskphone-provisioning.toml names its server; docs/provisioning.md).
#
# What it does (idempotent; runs ROOT's own python3 through chroot, so under qemu-user for a
# foreign architecture):
#   - system user `deskphone` (home /var/lib/deskphone, no login) in the groups gpio i2c spi audio
#     (created when missing) + udev rules giving those groups the GPIO/I2C/SPI device nodes;
#   - venv /opt/deskphone (--system-site-packages: Debian's python3-rpi-lgpio/alsaaudio on the Pi);
#   - /etc/deskphone/config.toml (0600 deskphone) unless one exists, /var/lib/deskphone (0700);
#   - the systemd units in /usr/lib/systemd/system, enabled; a journald size cap;
#   - with ROOT/boot/firmware (Raspberry Pi OS): config.txt settings (I2C at 400 kHz, SPI, the
#     audio overlay choice), i2c-dev loaded at boot, fsck.repair=yes, and a README on the boot
#     partition explaining deskphone-provisioning.toml and deskphone.toml.
set -euo pipefail

root=${1:?usage: install.sh ROOT}
root=$(cd "$root" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
wheels=${DESKPHONE_WHEELS:?DESKPHONE_WHEELS must name a wheelhouse (image/wheelhouse.sh)}
prefix=/opt/deskphone
user=deskphone
groups=(gpio i2c spi audio)

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

[ -x "$root/usr/bin/python3" ] || die "$root has no /usr/bin/python3 (install python3 and python3-venv)"
[ -f "$root/etc/passwd" ] || die "$root/etc/passwd missing: not a root file system"
ls "$wheels"/cusax_deskphone-*.whl >/dev/null 2>&1 || die "no cusax_deskphone wheel in $wheels"

# ---------------------------------------------------------------- pseudo file systems for chroot
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
  rm -rf "$root/tmp/deskphone-wheels" "$root/tmp/deskphone-pip"
}
trap cleanup EXIT
if [ ! -e "$root/proc/self" ]; then
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
fi
if [ ! -e "$root/dev/null" ] || [ ! -c "$root/dev/null" ]; then
  mount --bind /dev "$root/dev" && mounted+=("$root/dev")
fi
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }

# ---------------------------------------------------------------- user and groups
has_group() { grep -q "^$1:" "$root/etc/group"; }
for g in "${groups[@]}"; do
  has_group "$g" || { groupadd --root "$root" --system "$g"; say "group $g created"; }
done
has_group "$user" || groupadd --root "$root" --system "$user"
if ! grep -q "^$user:" "$root/etc/passwd"; then
  useradd --root "$root" --system --gid "$user" --groups "$(IFS=,; echo "${groups[*]}")" \
    --home-dir /var/lib/deskphone --no-create-home --shell /usr/sbin/nologin \
    --comment "CUSAX desk phone" "$user"
  say "user $user created"
else
  usermod --root "$root" --append --groups "$(IFS=,; echo "${groups[*]}")" "$user"
fi
install -d -m 0755 "$root/etc/udev/rules.d"
cat > "$root/etc/udev/rules.d/60-deskphone.rules" <<'EOF'
# image/install.sh: the phone's user reaches these through its groups (Raspberry Pi OS has the same).
SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"
SUBSYSTEM=="i2c-dev", GROUP="i2c", MODE="0660"
SUBSYSTEM=="spidev", GROUP="spi", MODE="0660"
EOF

# ---------------------------------------------------------------- venv with the wheels
started=$(date +%s)
rm -rf "$root/tmp/deskphone-wheels"
install -d -m 0755 "$root/tmp/deskphone-wheels"
cp "$wheels"/*.whl "$root/tmp/deskphone-wheels/"
# No pip inside the venv (an appliance does not install packages at run time): pip runs from
# ROOT's own pip wheel (python3-venv depends on python3-pip-whl). Bytecode is compiled once with
# all cores afterwards (much faster under qemu than pip's one-file-at-a-time compile), so the
# phone starts without compiling and a read-only /opt stays read-only.
if [ ! -x "$root$prefix/bin/python" ]; then
  in_root /usr/bin/python3 -m venv --without-pip --system-site-packages "$prefix"
fi
pip_wheel=$(ls "$root"/usr/share/python-wheels/pip-*.whl 2>/dev/null | sort -V | tail -n 1)
[ -n "$pip_wheel" ] || die "no pip wheel in $root/usr/share/python-wheels (install python3-venv)"
rm -rf "$root/tmp/deskphone-pip"
python3 -m zipfile -e "$pip_wheel" "$root/tmp/deskphone-pip"  # unpacked: its bytecode is cached between runs
project_wheel=/tmp/deskphone-wheels/$(basename "$(ls "$wheels"/cusax_deskphone-*.whl | sort -V | tail -n 1)")
pip_install() {
  in_root PYTHONPATH=/tmp/deskphone-pip "$prefix/bin/python" -m pip install --quiet --no-index --no-cache-dir \
    --disable-pip-version-check --no-compile --find-links /tmp/deskphone-wheels "$@"
}
if ls "$root$prefix"/lib/python3*/site-packages/cusax_deskphone-*.dist-info >/dev/null 2>&1; then
  pip_install --force-reinstall --no-deps "$project_wheel"   # replace an installed build, same version or not
fi
pip_install "$project_wheel"                                 # with its dependencies
in_root "$prefix/bin/python" -m compileall -q -j 0 "$prefix/lib" >/dev/null
say "venv $prefix ready in $(($(date +%s) - started)) s"

if [ -n "${DESKPHONE_PJSUA2:-}" ]; then
  site=$(in_root "$prefix/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  ls "$DESKPHONE_PJSUA2"/_pjsua2*.so >/dev/null 2>&1 || die "no _pjsua2*.so in $DESKPHONE_PJSUA2"
  install -m 0644 "$DESKPHONE_PJSUA2"/pjsua2.py "$root$site/"
  install -m 0755 "$DESKPHONE_PJSUA2"/_pjsua2*.so "$root$site/"
  say "pjsua2 from $DESKPHONE_PJSUA2 installed into $site"
fi
if in_root "$prefix/bin/python" -c 'import pjsua2' 2>/dev/null; then
  say "pjsua2: importable"
else
  say "pjsua2: NOT importable in $prefix: the phone will show 'SIP module missing' (see docs/appliance.md)"
fi

# ---------------------------------------------------------------- config and state
install -d -m 0755 -o 0 -g 0 "$root/etc/deskphone"
install -d -m 0700 "$root/var/lib/deskphone"
in_root chown "$user:$user" /var/lib/deskphone
if [ ! -f "$root/etc/deskphone/config.toml" ]; then
  if [ -n "${DESKPHONE_CONFIG:-}" ]; then
    install -m 0600 "$DESKPHONE_CONFIG" "$root/etc/deskphone/config.toml"
  else
    cat > "$root/etc/deskphone/config.toml" <<'EOF'
# Written by image/install.sh. The phone starts, shows "Not provisioned" and fetches its profile
# from the URL in the boot partition's deskphone-provisioning.toml (docs/provisioning.md). Or put
# a complete configuration in the boot partition's deskphone.toml: it replaces this file at the
# next boot (deskphone-firstboot.service). Every key: firmware/config.py; check a file with
# `deskphone check-config FILE`.
[provisioning]

[hardware]
backend = "rpi"
EOF
  fi
  chmod 0600 "$root/etc/deskphone/config.toml"
  in_root chown "$user:$user" /etc/deskphone/config.toml
fi

# ---------------------------------------------------------------- units
install -d -m 0755 "$root$prefix/libexec" "$root/usr/lib/systemd/system" "$root/usr/share/doc/deskphone"
install -m 0755 "$repo/systemd/deskphone-firstboot" "$root$prefix/libexec/deskphone-firstboot"
for unit in deskphone.service deskphone-firstboot.service deskphone-retry.timer; do
  install -m 0644 "$repo/systemd/$unit" "$root/usr/lib/systemd/system/$unit"
done
systemctl --root="$root" --quiet enable deskphone.service deskphone-firstboot.service deskphone-retry.timer
for doc in appliance.md hardware.md; do
  [ -f "$repo/docs/$doc" ] && install -m 0644 "$repo/docs/$doc" "$root/usr/share/doc/deskphone/$doc"
done
install -d -m 0755 "$root/etc/systemd/journald.conf.d"
cat > "$root/etc/systemd/journald.conf.d/deskphone.conf" <<'EOF'
# image/install.sh: keep the journal small on an SD card; it survives reboots for post-mortems.
[Journal]
SystemMaxUse=32M
RuntimeMaxUse=16M
EOF

# ---------------------------------------------------------------- Raspberry Pi boot partition
boot="$root/boot/firmware"
if [ -d "$boot" ]; then
  begin="# --- deskphone (image/install.sh) ---"
  end="# --- end deskphone ---"
  touch "$boot/config.txt"
  sed -i "\%^$begin\$%,\%^$end\$%d" "$boot/config.txt"
  cat >> "$boot/config.txt" <<EOF
$begin
[all]
# OLED on I2C: a full SSD1306 frame takes ~23 ms at 400 kHz (~92 ms at the default 100 kHz).
dtparam=i2c_arm=on,i2c_arm_baudrate=400000
# OLED on SPI (hardware.display.bus = "spi"): ~1 ms a frame at 8 MHz.
dtparam=spi=on
# Sound: a USB sound card needs nothing here. For an I2S card, enable its overlay (one line) and set
# audio.card in config.toml to the card's name (aplay -l):
#dtoverlay=hifiberry-dac
#dtoverlay=googlevoicehat-soundcard
#dtoverlay=wm8960-soundcard
$end
EOF
  install -d -m 0755 "$root/etc/modules-load.d"
  echo i2c-dev > "$root/etc/modules-load.d/deskphone.conf"
  if [ -f "$boot/cmdline.txt" ] && ! grep -q 'fsck.repair=' "$boot/cmdline.txt"; then
    sed -i '1 s/$/ fsck.repair=yes/' "$boot/cmdline.txt"
  fi
  cat > "$boot/deskphone-README.txt" <<'EOF'
CUSAX desk phone: files you can put on this partition from any computer before a boot.

deskphone-provisioning.toml   where the phone fetches its settings, for example:
                                  url = "https://prov.example.org/p/{mac}.json"
                              (keys: the [provisioning] section in docs/provisioning.md). The phone
                              reads it at every start; it stays here.
deskphone.toml                a complete phone configuration (docs/appliance.md). At the next boot
                              it is checked, moved into the phone (/etc/deskphone/config.toml) and
                              deleted from here, as it holds passwords. A wrong file is deleted
                              too and deskphone.toml.rejected tells why; the phone keeps its
                              previous settings.
EOF
  say "boot partition: config.txt (I2C 400 kHz, SPI, audio overlay choice), README"
fi
say "done: $(du -sh "$root$prefix" | cut -f1) in $prefix"
