#!/usr/bin/env bash
# Stops the cluster that start-rgw.sh started in DIR and deletes DIR. Idempotent: a folder that is
# already gone, or daemons that already exited, are fine.
#
# Usage: stop-rgw.sh DIR
set -euo pipefail

dir="${1:?usage: stop-rgw.sh DIR (the folder start-rgw.sh printed)}"
[[ -d "$dir" ]] || exit 0
if [[ ! -e "$dir/.stage-publish-ceph" ]]; then
  echo "[ceph] refusing to touch $dir: start-rgw.sh did not create it" >&2
  exit 2
fi
dir="$(cd "$dir" && pwd)"

# Only signals a pid whose command line names our ceph.conf's folder, so a recycled pid is never hit.
ours() {
  local pid="$1"
  local cmdline
  cmdline="$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$dir/ceph.conf"* ]]
}

pids=()
# radosgw first, then the OSD, then the monitor: the reverse of starting.
for f in "$dir"/run/client.rgw.*.pid "$dir"/run/osd.*.pid "$dir"/run/mon.*.pid; do
  [[ -f "$f" ]] || continue
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" ]] && ours "$pid" && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
done

for _ in $(seq 1 40); do
  alive=()
  for pid in "${pids[@]}"; do ours "$pid" && alive+=("$pid"); done
  ((${#alive[@]} == 0)) && break
  sleep 0.25
done
for pid in "${pids[@]}"; do ours "$pid" && kill -KILL "$pid" 2>/dev/null || true; done

rm -rf -- "$dir"
