/**
 * `list` against a long history (issue 14), called by bench/run.mjs's list section (one line there):
 *
 *   local  `stage-publish list` over 10,000 staged releases in a file: backend, vs `--version`
 *          (goal: ≤ 3×)
 *   s3     `stage-publish list` of a bucket with 10,000 decided releases and 5 pending ones on the
 *          test radosgw (STAGE_PUBLISH_TEST_S3_ENDPOINT and AWS_* from its env file; skipped without):
 *          wall time of the command (goal: ≤ 2 s), and, in-process, how many GETs a listing sends
 *          (goal: only the pending records). The first listing of the bucket (which has no
 *          layout.json yet, as one staged into by an older version) is timed once on its own.
 *
 * Also runnable alone (after `npm run build`): node bench/list-history.mjs [--runs N] [--records N] [--only local|s3]
 */
import { spawnSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { pendingRecord } from '../test/support/record-factory.mjs'
import { inBatches, removeBucket } from './s3-helpers.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'stage-publish.js')
const NODE = process.execPath
const dist = (file) => pathToFileURL(path.join(ROOT, 'dist', file)).href

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const round = (x) => Math.round(x * 10) / 10
const ratio = (a, b) => Math.round((a / b) * 100) / 100
const summary = (xs) => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)), runs: xs.length, all: xs.map(round) })

/** Wall time of one process; throws with its output when it fails. */
function timed(label, argv, env) {
  const t0 = performance.now()
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 })
  const ms = performance.now() - t0
  if (r.error || r.status !== 0) throw new Error(`${label} failed (${r.error?.message ?? `exit code ${r.status}`}):\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-10).join('\n')}`)
  return { ms, stdout: String(r.stdout) }
}

/** Interleaved rounds (rotating order), the first one a warm-up, as run.mjs does. */
function interleave(cases, runs) {
  const labels = Object.keys(cases)
  const times = Object.fromEntries(labels.map((l) => [l, []]))
  for (let r = 0; r <= runs; r++) {
    for (const label of labels.map((_, i) => labels[(i + r) % labels.length])) {
      const ms = cases[label]()
      if (r > 0) times[label].push(ms)
    }
  }
  return Object.fromEntries(labels.map((l) => [l, summary(times[l])]))
}

function record(bytes, i, count, overrides = {}) {
  return pendingRecord(bytes, {
    packageName: `bench-pkg-${i % 25}`, version: `1.0.${i}`, unpackedSize: bytes.length * 3, fileCount: 3,
    files: [{ path: 'package.json', size: 400, mode: 0o644 }, { path: 'index.js', size: 2000, mode: 0o644 }, { path: 'README.md', size: 1200, mode: 0o644 }],
    createdAt: new Date(Date.now() - (count - i) * 1000).toISOString(), actor: 'ci-bot (github-actions)', git: { commit: 'a'.repeat(40), branch: 'main' },
    ...overrides,
  })
}

/** A clean environment for the command (no npm config of yours), with the S3 variables when asked. */
function cleanEnv(tmp, extra = {}) {
  const env = { HOME: path.join(tmp, 'home'), NO_COLOR: '1', NPM_CONFIG_UPDATE_NOTIFIER: 'false', ...extra }
  for (const key of ['PATH', 'LANG', 'TZ', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key]
  return env
}

/** 10,000 (or `records`) pending releases in a file: backend, listed as a person would. */
export async function benchLocal({ records = 10_000, runs = 9, tmp }) {
  const { createLocalBackend } = await import(dist('backends/local.js'))
  const dir = path.join(tmp, 'list-local-history')
  const backend = createLocalBackend(dir)
  const t0 = performance.now()
  await inBatches(Array.from({ length: records }, (_, i) => i), 16, async (i) => {
    const bytes = randomBytes(1024)
    if (!(await backend.createRelease(record(bytes, i, records), bytes)).created) throw new Error(`record ${i} was not created`)
  })
  const setupMs = performance.now() - t0
  const env = cleanEnv(tmp)
  const args = ['--backend', `file:${dir}`]
  const times = interleave({
    'stage-publish --version': () => timed('--version', [NODE, BIN, '--version'], env).ms,
    'stage-publish list': () => timed('list', [NODE, BIN, 'list', ...args], env).ms,
    'stage-publish list --json': () => timed('list --json', [NODE, BIN, 'list', '--json', ...args], env).ms,
  }, runs)
  const listed = JSON.parse(timed('list --json', [NODE, BIN, 'list', '--json', ...args], env).stdout).length
  if (listed !== records) throw new Error(`list --json showed ${listed} releases, not ${records}`)
  const base = times['stage-publish --version'].median
  return {
    records, setupMs: round(setupMs), times,
    ratios: {
      [`local list (${records}) / --version`]: ratio(times['stage-publish list'].median, base),
      [`local list --json (${records}) / --version`]: ratio(times['stage-publish list --json'].median, base),
    },
  }
}

/** A bucket with `decided` decided releases and `pending` waiting ones on the test radosgw. */
export async function benchS3({ decided = 10_000, pending = 5, runs = 5, tmp }) {
  const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
  if (!endpoint) return { skipped: 'STAGE_PUBLISH_TEST_S3_ENDPOINT is not set (load /tmp/rgw-shared/env or run test/support/ceph/start-rgw.sh)' }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const sdk = await import('@aws-sdk/client-s3')
  const { createS3Backend } = await import(dist('backends/s3.js'))
  const bucket = `stage-publish-bench-${randomUUID().slice(0, 8)}`
  const url = `s3://${bucket}/npm?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true&region=us-east-1`
  const admin = new sdk.S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED' })
  await admin.send(new sdk.CreateBucketCommand({ Bucket: bucket }))
  try {
    // History as it stands after approvals: decided records, their markers long gone (written directly: 10,000
    // full stagings and approvals would take minutes and measure staging, not listing).
    const t0 = performance.now()
    await inBatches(Array.from({ length: decided }, (_, i) => i), 32, async (i) => {
      const bytes = randomBytes(64)
      const r = record(bytes, i, decided, i % 3 ? { state: 'approved', approvedBy: 'alice', approvedAt: new Date().toISOString() } : { state: 'rejected', rejectedBy: 'bob', rejectedAt: new Date().toISOString() })
      await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `npm/records/${r.id}.json`, Body: `${JSON.stringify(r, null, 2)}\n`, ContentType: 'application/json' }))
    })
    const stager = createS3Backend(url)
    for (let i = 0; i < pending; i++) {
      const bytes = randomBytes(2048)
      if (!(await stager.createRelease(record(bytes, decided + i, decided + pending), bytes)).created) throw new Error('not staged')
    }
    const setupMs = performance.now() - t0

    const gets = []
    const counting = () => createS3Backend(url, {
      onClient: (client) => client.middlewareStack.add((next, context) => async (a) => {
        if (context.commandName === 'GetObjectCommand') gets.push(a.input.Key)
        return next(a)
      }, { step: 'initialize', name: 'countGets' }),
    })
    // The bucket has no layout.json yet, as one an older version staged into: the first listing reads it whole.
    let t = performance.now()
    const first = await counting().listRecords({ waiting: true })
    const firstMs = performance.now() - t
    const firstGets = gets.length
    if (first.length !== pending) throw new Error(`the first listing found ${first.length}, not ${pending}`)
    gets.length = 0
    t = performance.now()
    const again = await counting().listRecords({ waiting: true })
    const inProcessMs = performance.now() - t
    if (again.length !== pending) throw new Error(`the listing found ${again.length}, not ${pending}`)
    const listGets = gets.length

    const env = cleanEnv(tmp, Object.fromEntries(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'].filter((k) => process.env[k]).map((k) => [k, process.env[k]])))
    const times = interleave({
      'stage-publish --version': () => timed('--version', [NODE, BIN, '--version'], env).ms,
      'stage-publish list (s3)': () => timed('list', [NODE, BIN, 'list', '--backend', url], env).ms,
    }, runs)
    const listed = JSON.parse(timed('list --json', [NODE, BIN, 'list', '--json', '--backend', url], env).stdout).length
    if (listed !== pending) throw new Error(`list --json showed ${listed}, not ${pending}`)
    return {
      decided, pending, setupMs: round(setupMs), times,
      firstListing: { ms: round(firstMs), gets: firstGets },
      listing: { inProcessMs: round(inProcessMs), gets: listGets },
      ratios: {
        [`s3 list (${decided} decided, ${pending} pending) / --version`]: ratio(times['stage-publish list (s3)'].median, times['stage-publish --version'].median),
      },
    }
  } finally {
    await removeBucket(admin, sdk, bucket)
    admin.destroy()
  }
}

/**
 * Both cases, for bench/run.mjs: logs their lines, adds their ratios to `ratioRows` (run.mjs's table)
 * and returns everything for the JSON.
 */
export async function listHistory({ runs, tmp, log = (line) => console.log(line), ratioRows = [] }) {
  const out = {}
  log('… list history: local, 10,000 releases')
  out.local = await benchLocal({ runs, tmp })
  log('… list history: s3, 10,000 decided releases and 5 pending')
  out.s3 = await benchS3({ runs: Math.min(runs, 5), tmp })
  for (const line of historyLines(out)) log(line)
  for (const [what, v] of Object.entries({ ...out.local.ratios, ...(out.s3.ratios ?? {}) })) ratioRows.push(['list', what, v])
  return out
}

/** The report lines of a listHistory result. */
export function historyLines(r) {
  const lines = []
  const ms = (s) => `${s.median.toFixed(0).padStart(6)} ms  (${s.min.toFixed(0)}–${s.max.toFixed(0)}, n=${s.runs})`
  lines.push(`list history, local (${r.local.records} pending releases, written in ${r.local.setupMs.toFixed(0)} ms)`)
  for (const [label, s] of Object.entries(r.local.times)) lines.push(`  ${label.padEnd(28)} ${ms(s)}`)
  if (r.s3.skipped) lines.push(`list history, s3: skipped: ${r.s3.skipped}`)
  else {
    lines.push(`list history, s3 (${r.s3.decided} decided + ${r.s3.pending} pending on radosgw)`)
    for (const [label, s] of Object.entries(r.s3.times)) lines.push(`  ${label.padEnd(28)} ${ms(s)}`)
    lines.push(`  listing in-process: ${r.s3.listing.inProcessMs.toFixed(0)} ms, ${r.s3.listing.gets} GETs (${r.s3.pending} pending records)`)
    lines.push(`  first listing of the bucket (no layout.json yet, reads every record): ${r.s3.firstListing.ms.toFixed(0)} ms, ${r.s3.firstListing.gets} GETs`)
  }
  for (const [what, v] of Object.entries({ ...r.local.ratios, ...(r.s3.ratios ?? {}) })) lines.push(`  ${what}: ${v.toFixed(2)}×`)
  return lines
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, only: { type: 'string' }, records: { type: 'string', default: '10000' } } })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stage-publish-list-history-'))
  try {
    const runs = Number(values.runs)
    const r = {
      local: values.only === 's3' ? null : await benchLocal({ runs, tmp, records: Number(values.records) }),
      s3: values.only === 'local' ? { skipped: '--only local' } : await benchS3({ runs, tmp, decided: Number(values.records) }),
    }
    if (r.local) for (const line of historyLines(r)) console.log(line)
    else console.log(JSON.stringify(r.s3, null, 2))
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
