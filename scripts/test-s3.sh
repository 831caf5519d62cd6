#!/usr/bin/env bash
# `npm run test:s3`: the S3 backend's tests against a real S3-compatible server with conditional
# writes. Installs Ceph if it is missing (Debian/Ubuntu, needs root or sudo), starts a throwaway
# single-node cluster + radosgw on loopback, runs the tests with its endpoint and keys in the
# environment, and stops it again whatever happens.
#
#   npm run test:s3                      the backend contract (test/contract) + test/e2e/s3*.test.ts
#   npm run test:s3 -- -t "concurrent"   extra arguments go to vitest
#   STAGE_PUBLISH_KEEP_RGW=1 npm run test:s3   leave the cluster running afterwards (prints how to stop it)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ceph="$root/test/support/ceph"

bash "$ceph/install.sh"
envfile="$(bash "$ceph/start-rgw.sh")"
dir="$(dirname "$envfile")"

stop() {
  if [[ -n "${STAGE_PUBLISH_KEEP_RGW:-}" ]]; then
    echo "[ceph] left running (STAGE_PUBLISH_KEEP_RGW); env file $envfile; stop with: bash $ceph/stop-rgw.sh $dir" >&2
  else
    bash "$ceph/stop-rgw.sh" "$dir"
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set -a
# shellcheck disable=SC1090
. "$envfile"
set +a

cd "$root"
# End-to-end tests that need S3 are named test/e2e/s3*.test.ts; the filter matches none until they exist.
npx vitest run test/contract test/e2e/s3 "$@"
