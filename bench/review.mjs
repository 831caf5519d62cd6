/**
 * How long the review takes on a 1,000-file, 20 MB package (issue 4: "well under a second beyond
 * the download of the previous version"). Uses the built code: `npx tsc -p tsconfig.json` first.
 *
 *   node bench/review.mjs [runs]
 *
 * Prints the median of several runs for three cases: a typical release (a tenth of the files
 * changed), every file changed (every code file scanned, both sides where it matters), and a first
 * release (everything new). Each case is measured twice:
 *   - review only: reviewRelease on contents already in memory;
 *   - from bytes: what view/approve do once the previous version is downloaded: check the staged
 *     tarball's sha512, read (gunzip + untar) both tarballs with readTarball, then reviewRelease.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { create } from 'tar'
import { reviewRelease } from '../dist/core/review.js'
import { readTarball } from '../dist/npm/tarball.js'

const RUNS = Number(process.argv[2] ?? 9)
const FILES = 1000
const TOTAL = 20 * 1024 * 1024

/** Formatted code of about `bytes` bytes, different per seed. */
function code(seed, bytes) {
  const block = (i) =>
    `export function handler${seed}_${i}(request, options = {}) {\n` +
    `  const { timeout = ${i * 10}, retries = 3 } = options\n` +
    `  if (!request || typeof request.url !== 'string') {\n` +
    `    throw new TypeError('request.url must be a string (seed ${seed})')\n` +
    `  }\n` +
    `  return fetchWithRetry(request.url, { timeout, retries, label: 'h${i}' })\n` +
    `}\n\n`
  let out = ''
  for (let i = 0; out.length < bytes; i++) out += block(i)
  return out.slice(0, bytes)
}

/** One long line of dense code, like a minified bundle. */
function minified(seed, bytes) {
  let out = '"use strict";'
  for (let i = 0; out.length < bytes; i++) out += `function a${seed}_${i}(t,n){return t.map(r=>r*n+${i}).filter(Boolean)}`
  return out.slice(0, bytes)
}

const file = (path, text, mode = 0o644) => {
  const data = Buffer.from(text)
  return { path, size: data.length, mode, data }
}

function makePackage(version, variant) {
  const manifest = { name: 'bench-pkg', version, main: 'dist/index.js', dependencies: { a: '^1.0.0', b: '^2.0.0' } }
  const files = [file('package.json', JSON.stringify(manifest, null, 2))]
  const each = Math.ceil(TOTAL / FILES)
  for (let i = 0; i < FILES - 2; i++) {
    const seed = variant(i)
    if (seed === null) continue
    if (i % 10 === 0) files.push(file(`dist/chunk-${i}.min.js`, minified(seed, each)))
    else if (i % 10 === 1) files.push(file(`dist/types/mod-${i}.d.ts`, code(seed, each).replace(/export function/g, 'export declare function')))
    else if (i % 10 === 2) files.push(file(`dist/data/table-${i}.json`, JSON.stringify({ seed, rows: Array.from({ length: each / 4 }, (_, k) => k) }).slice(0, each)))
    else files.push(file(`dist/mod-${i}.js`, code(seed, each)))
  }
  files.push(file('dist/index.js', code(0, 2048)))
  return { manifest, files }
}

const previous = makePackage('1.4.2', (i) => i)
const cases = {
  'typical release (100 changed, 10 added, 10 removed)': makePackage('1.4.3', (i) =>
    i % 100 === 5 ? null : i % 10 === 3 ? i + 100000 : i),
  'every file changed': makePackage('1.4.3', (i) => i + 100000),
  'first release (everything new)': null,
}
// Ten added files for the typical case.
for (let i = 0; i < 10; i++) cases['typical release (100 changed, 10 added, 10 removed)'].files.push(file(`dist/new-${i}.js`, code(i, 20000)))

const unpacked = previous.files.reduce((n, f) => n + f.size, 0)
console.log(`previous: ${previous.files.length} files, ${(unpacked / 1024 / 1024).toFixed(1)} MiB unpacked; median of ${RUNS} runs each`)

/** A .tgz of the package, laid out as npm packs it (`package/...`). */
function tarball(pkg) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-review-'))
  try {
    for (const f of pkg.files) {
      const file = path.join(dir, 'package', f.path)
      mkdirSync(path.dirname(file), { recursive: true })
      writeFileSync(file, f.data, { mode: f.mode })
    }
    const out = path.join(dir, 'pkg.tgz')
    create({ gzip: true, portable: true, sync: true, cwd: dir, file: out }, ['package'])
    return readFileSync(out)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (times) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]
const fmt = (ms) => `${ms.toFixed(1)} ms`
const previousBytes = tarball(previous)

for (const [name, staged] of Object.entries(cases)) {
  const input = staged
    ? { previous, previousVersion: '1.4.2', staged, tag: 'latest', distTags: { latest: '1.4.2' } }
    : { previous: null, previousVersion: null, staged: previous, tag: 'latest' }
  const stagedBytes = staged ? tarball(staged) : previousBytes
  reviewRelease(input) // warm-up
  const pure = []
  const fromBytes = { verify: [], read: [], review: [], total: [] }
  let findings = 0
  for (let r = 0; r < RUNS; r++) {
    let t0 = performance.now()
    findings = reviewRelease(input).findings.length
    pure.push(performance.now() - t0)

    t0 = performance.now()
    createHash('sha512').update(stagedBytes).digest('base64')
    const t1 = performance.now()
    const [prev, now] = await Promise.all([input.previous ? readTarball(previousBytes) : null, readTarball(stagedBytes)])
    const t2 = performance.now()
    reviewRelease({ ...input, previous: prev, staged: now, packedSize: stagedBytes.length, previousPackedSize: previousBytes.length })
    const t3 = performance.now()
    fromBytes.verify.push(t1 - t0)
    fromBytes.read.push(t2 - t1)
    fromBytes.review.push(t3 - t2)
    fromBytes.total.push(t3 - t0)
  }
  const packed = `${(stagedBytes.length / 1024 / 1024).toFixed(1)} MiB packed`
  console.log(`${name}: ${findings} findings, ${packed}`)
  console.log(`  review only: median ${fmt(median(pure))} (min ${fmt(Math.min(...pure))}, max ${fmt(Math.max(...pure))})`)
  console.log(
    `  from bytes:  median ${fmt(median(fromBytes.total))} (min ${fmt(Math.min(...fromBytes.total))}, max ${fmt(Math.max(...fromBytes.total))})` +
      ` = sha512 ${fmt(median(fromBytes.verify))} + read ${input.previous ? 'both tarballs' : 'the tarball'} ${fmt(median(fromBytes.read))} + review ${fmt(median(fromBytes.review))}`,
  )
}
