#!/usr/bin/env bash
# Starts a throwaway single-node Ceph cluster (1 monitor, 1 memstore OSD, no manager, no auth) and a
# radosgw S3 gateway on loopback, with every byte of state in one temporary folder.
# One monitor, one OSD on memstore, no auth, pool size 1 (see the settings below). Debian's radosgw is used because it enforces
# conditional writes (If-None-Match / If-Match on PUT); s3rver ignores them.
#
# Usage: start-rgw.sh [DIR]
#   DIR                     where all state goes (default: a fresh mktemp -d). Must be empty or absent.
# Environment (all optional):
#   RGW_PORT, MON_PORT      ports on 127.0.0.1 (default: free ports picked at random)
#   S3_ACCESS_KEY, S3_SECRET_KEY   keys of the S3 user that is created (defaults are test-only values)
#   CEPH_WAIT_SECONDS       how long each wait may take before giving up (default 60)
#
# On success prints the path of an env file (KEY=value lines, sourceable with `set -a; . FILE`) as the
# last line of stdout. Everything else goes to stderr. On failure prints the logs' tail, stops what it
# started and exits non-zero. Stop with stop-rgw.sh DIR.
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wait_s="${CEPH_WAIT_SECONDS:-60}"
access_key="${S3_ACCESS_KEY:-STAGEPUBLISHTESTKEY0}"
secret_key="${S3_SECRET_KEY:-stage-publish-test-secret-not-a-real-one}"

log() { printf '[ceph] %s\n' "$*" >&2; }

for tool in ceph-mon ceph-osd ceph monmaptool radosgw radosgw-admin node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "error: $tool is not installed. Run test/support/ceph/install.sh (Debian: apt-get install radosgw ceph-mon ceph-osd ceph-common)."
    exit 3
  fi
done

# Prints a free loopback port, or checks that the given one is free (exit 1 if not).
free_port() {
  node -e 'const s=require("net").createServer();s.on("error",()=>process.exit(1));s.listen(Number(process.argv[1]||0),"127.0.0.1",()=>{console.log(s.address().port);s.close()})' "${1:-0}"
}
mon_port="$(free_port "${MON_PORT:-0}")" || { log "error: port ${MON_PORT} (MON_PORT) is in use"; exit 2; }
rgw_port="$(free_port "${RGW_PORT:-0}")" || { log "error: port ${RGW_PORT} (RGW_PORT) is in use"; exit 2; }
while [[ "$rgw_port" == "$mon_port" ]]; do rgw_port="$(free_port 0)"; done

if [[ $# -ge 1 ]]; then
  dir="$1"
  mkdir -p "$dir"
  if [[ -n "$(ls -A "$dir")" ]]; then log "error: $dir is not empty"; exit 2; fi
  dir="$(cd "$dir" && pwd)"
else
  dir="$(mktemp -d "${TMPDIR:-/tmp}/stage-publish-ceph.XXXXXX")"
fi
# Marks the folder as ours, so stop-rgw.sh only ever deletes a folder this script made.
touch "$dir/.stage-publish-ceph"

fsid="$(cat /proc/sys/kernel/random/uuid)"
osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
conf="$dir/ceph.conf"
mkdir -p "$dir/run" "$dir/log" "$dir/mon/ceph-a" "$dir/rgw"

cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default pg autoscale mode = off
osd pool default pg num = 8
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
rgw data = $dir/rgw
# The temp folder may sit on a nearly full disk; that is not what these tests are about.
mon data avail warn = 1
mon data avail crit = 0
# The OSD must not send crush commands of its own while it starts: its first monitor command can race
# its monmap and go out with fsid 0, which the monitor refuses ("wrong fsid") and the OSD exits
# (seen on 16.2.15, about 1 start in 4). This script puts the OSD in the CRUSH map itself instead.
osd crush update on start = false
osd class update on start = false
# A single monitor has no one to batch with: commit map changes at once instead of once a second.
# radosgw creates its pools one by one at first start, each a map change (12 s -> 4 s on a 2-core machine).
paxos propose interval = 0.05
paxos min wait = 0.01

[client.rgw.a]
# tcp_nodelay: beast writes headers and body separately; with Nagle on, every response waits for the
# client's delayed ACK (~40 ms on loopback), which made each GET take ~45 ms instead of ~2 ms.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
EOF
export CEPH_CONF="$conf"

dump_logs() {
  log "---- tail of the ceph logs in $dir/log ----"
  for f in "$dir"/log/*; do
    [[ -f "$f" ]] || continue
    printf '==> %s <==\n' "$f" >&2
    tail -n 25 "$f" >&2 || true
  done
}
fail() {
  log "error: $*"
  dump_logs
  if [[ -z "${CEPH_KEEP_ON_FAILURE:-}" ]]; then
    "$here/stop-rgw.sh" "$dir" >&2 || true
  else
    log "kept $dir for inspection (CEPH_KEEP_ON_FAILURE is set); stop it with $here/stop-rgw.sh $dir"
  fi
  exit 1
}
trap 'fail "unexpected failure at line $LINENO"' ERR

# Polls "$@" every 0.25 s until it succeeds or wait_s seconds have passed. Exit code 99 from "$@"
# means "it can never succeed" (the daemon died): give up at once.
wait_for() {
  local what="$1"; shift
  local deadline=$((SECONDS + wait_s)) rc
  while :; do
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 99)); then trap - ERR; fail "gave up waiting for $what: the daemon exited"; fi
    if ((SECONDS >= deadline)); then trap - ERR; fail "timed out after ${wait_s}s waiting for $what"; fi
    sleep 0.25
  done
}

start_ts=$(date +%s.%N)
elapsed() { node -e 'console.log((Number(process.argv[2]) - Number(process.argv[1])).toFixed(1))' "$start_ts" "$(date +%s.%N)"; }
phase() { log "$1 after $(elapsed) s"; }
log "state in $dir (mon 127.0.0.1:$mon_port, rgw 127.0.0.1:$rgw_port)"

monmaptool --create --addv a "v1:127.0.0.1:$mon_port" --fsid "$fsid" "$dir/monmap" >/dev/null 2>&1
ceph-mon --mkfs -i a --monmap "$dir/monmap" -c "$conf" >"$dir/log/mkfs-mon.out" 2>&1 || fail "ceph-mon --mkfs failed: $(cat "$dir/log/mkfs-mon.out")"
ceph-mon -i a -c "$conf"
wait_for "the monitor to answer" ceph --connect-timeout 5 mon stat
phase "monitor up"

osd_id="$(ceph --connect-timeout 10 osd new "$osd_uuid")"
[[ "$osd_id" =~ ^[0-9]+$ ]] || fail "ceph osd new printed '$osd_id' instead of an OSD id"
crush_out="$(ceph --connect-timeout 10 osd crush add "osd.$osd_id" 1.0 root=default 2>&1)" || fail "ceph osd crush add osd.$osd_id failed: $crush_out"
mkdir -p "$dir/osd/ceph-$osd_id"
ceph-osd -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" -c "$conf" >"$dir/log/mkfs-osd.out" 2>&1 || fail "ceph-osd --mkfs failed: $(cat "$dir/log/mkfs-osd.out")"
ceph-osd -i "$osd_id" -c "$conf" 2>>"$dir/log/osd-stderr.out"

osd_up() { ceph --connect-timeout 5 osd stat 2>/dev/null | grep -q ' 1 up'; }
wait_for 'the OSD to be "1 up"' osd_up
phase 'OSD "1 up"'

radosgw -n client.rgw.a -c "$conf" 2>>"$dir/log/rgw-stderr.out"
endpoint="http://127.0.0.1:$rgw_port"
# 99 (see wait_for) once radosgw has written its pid file and that process is gone (port taken, bad config).
http_ok() {
  local pid
  if pid="$(cat "$dir/run/client.rgw.a.pid" 2>/dev/null)" && [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 99; fi
  node -e 'fetch(process.argv[1]).then(()=>process.exit(0),()=>process.exit(1))' "$endpoint"
}
wait_for "radosgw to answer HTTP on $endpoint" http_ok
phase "radosgw answers HTTP"

radosgw-admin -c "$conf" user create --uid=stage-publish-test --display-name=stage-publish-test \
  --access-key="$access_key" --secret-key="$secret_key" >"$dir/log/user-create.out" 2>&1 \
  || fail "radosgw-admin user create failed: $(tail -n 5 "$dir/log/user-create.out")"

cat >"$dir/env" <<EOF
STAGE_PUBLISH_TEST_S3_ENDPOINT=$endpoint
STAGE_PUBLISH_TEST_S3_DIR=$dir
AWS_ACCESS_KEY_ID=$access_key
AWS_SECRET_ACCESS_KEY=$secret_key
AWS_REGION=us-east-1
EOF
trap - ERR
log "radosgw ready at $endpoint in $(elapsed) s; env file: $dir/env"
echo "$dir/env"
