#!/bin/bash -e
# pi-gen runs this on the build host with ROOTFS_DIR set: the phone's whole payload comes from the
# one script CI also runs (image/install.sh). image/build.sh exports DESKPHONE_WHEELS (aarch64 /
# Python 3.13 wheelhouse) and DESKPHONE_PJSUA2 (the module image/pjproject.sh built).
src=${DESKPHONE_SRC:?DESKPHONE_SRC: run pi-gen through image/build.sh}
DESKPHONE_WHEELS=${DESKPHONE_WHEELS:?} DESKPHONE_PJSUA2=${DESKPHONE_PJSUA2:-} \
	bash "${src}/image/install.sh" "${ROOTFS_DIR}"
