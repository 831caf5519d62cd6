#!/usr/bin/env node
// Times `listRecords()` of the S3 backend over N staged releases in a fresh bucket.
//
//   npm run build && eval "$(sed 's/^/export /' $DIR/env)" && node bench/list-s3.mjs [--count 1000] [--runs 5] [--concurrency 32]
//
// Needs STAGE_PUBLISH_TEST_S3_ENDPOINT and AWS credentials (the env file test/support/ceph/start-rgw.sh
// writes). Each run opens a new backend (a new client and connections), as a `stage-publish list` would.
import { randomBytes, randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { pendingRecord } from '../test/support/record-factory.mjs'
import { inBatches, removeBucket } from './s3-helpers.mjs'

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    keep: { type: 'boolean', default: false },
  },
})
const count = Number(args.count)
const runs = Number(args.runs)
const concurrency = Number(args.concurrency)
const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
if (!endpoint) {
  console.error('STAGE_PUBLISH_TEST_S3_ENDPOINT is not set: start radosgw with test/support/ceph/start-rgw.sh and load its env file.')
  process.exit(2)
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// STAGE_PUBLISH_DIST: another build folder (a path), e.g. to compare two builds.
const dist = process.env.STAGE_PUBLISH_DIST ? pathToFileURL(`${process.env.STAGE_PUBLISH_DIST.replace(/\/$/, '')}/`) : new URL('../dist/', import.meta.url)
const { createS3Backend } = await import(new URL('backends/s3.js', dist).href)
const sdk = await import('@aws-sdk/client-s3')

const bucket = `stage-publish-bench-${randomUUID().slice(0, 8)}`
const prefix = 'bench'
const url = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true&region=us-east-1`
const admin = new sdk.S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED' })
await admin.send(new sdk.CreateBucketCommand({ Bucket: bucket }))

function record(bytes, i) {
  return pendingRecord(bytes, {
    packageName: `pkg-${i % 10}`, version: `1.0.${i}`, unpackedSize: bytes.length * 3, fileCount: 3,
    files: [{ path: 'package.json', size: 400, mode: 0o644 }, { path: 'index.js', size: 2000, mode: 0o644 }, { path: 'README.md', size: 1200, mode: 0o644 }],
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), git: { commit: 'a'.repeat(40), branch: 'main' },
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (t) => `${t.toFixed(0)} ms`

try {
  const stager = createS3Backend(url)
  let t = performance.now()
  await inBatches(Array.from({ length: count }, (_, i) => i), 32, async (i) => {
    const bytes = randomBytes(2048)
    const res = await stager.createRelease(record(bytes, i), bytes)
    if (!res.created) throw new Error('not created')
  })
  const stageMs = performance.now() - t
  console.log(`staged ${count} releases in ${ms(stageMs)} (${((count / stageMs) * 1000).toFixed(0)}/s, 32 at a time)`)

  const idTimes = []
  const listTimes = []
  const listCpu = []
  for (let r = 0; r < runs; r++) {
    const backend = createS3Backend(url, { concurrency })
    t = performance.now()
    const ids = await backend.listIds()
    idTimes.push(performance.now() - t)
    if (ids.length !== count) throw new Error(`listIds found ${ids.length}`)

    const fresh = createS3Backend(url, { concurrency })
    const cpu = process.cpuUsage()
    t = performance.now()
    const all = await fresh.listRecords()
    listTimes.push(performance.now() - t)
    const used = process.cpuUsage(cpu)
    listCpu.push((used.user + used.system) / 1000)
    if (all.length !== count) throw new Error(`listRecords found ${all.length}`)
  }
  const m = median(listTimes)
  console.log(`listIds (ListObjectsV2, 1000 keys a page): median ${ms(median(idTimes))} of ${runs} [${idTimes.map(ms).join(', ')}]`)
  console.log(`listRecords, concurrency ${concurrency}: median ${ms(m)} of ${runs} [${listTimes.map(ms).join(', ')}] = ${((count / m) * 1000).toFixed(0)} records/s; this process's CPU: median ${ms(median(listCpu))}`)
} finally {
  if (!args.keep) {
    await removeBucket(admin, sdk, bucket)
  }
  admin.destroy()
}
