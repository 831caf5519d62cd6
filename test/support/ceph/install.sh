#!/usr/bin/env bash
# Installs Debian's Ceph packages for the S3 tests (about 15 s), only when radosgw is missing.
# Needs root (or sudo) and apt; CI machines start without them.
set -euo pipefail

if command -v radosgw >/dev/null 2>&1 && command -v ceph-mon >/dev/null 2>&1 \
  && command -v ceph-osd >/dev/null 2>&1 && command -v radosgw-admin >/dev/null 2>&1; then
  exit 0
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo env DEBIAN_FRONTEND=noninteractive); else
    echo "[ceph] radosgw is not installed and this is not root: install radosgw ceph-mon ceph-osd ceph-common with your package manager" >&2
    exit 3
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[ceph] radosgw is not installed and apt-get is missing: install radosgw ceph-mon ceph-osd ceph-common with your package manager" >&2
  exit 3
fi

echo "[ceph] installing radosgw ceph-mon ceph-osd ceph-common with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common
