/**
 * How long reviewRelease takes on a 1,000-file, 20 MB package (issue 4: "well under a second beyond
 * the download of the previous version"). Uses the built code: `npx tsc -p tsconfig.json` first.
 *
 *   node bench/review.mjs [runs]
 *
 * Prints the median of several runs for three cases: a typical release (a tenth of the files
 * changed), every file changed (every code file scanned, both sides where it matters), and a first
 * release (everything new).
 */
import { performance } from 'node:perf_hooks'
import { reviewRelease } from '../dist/core/review.js'

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

for (const [name, staged] of Object.entries(cases)) {
  const input = staged
    ? { previous, previousVersion: '1.4.2', staged, tag: 'latest', distTags: { latest: '1.4.2' } }
    : { previous: null, previousVersion: null, staged: previous, tag: 'latest' }
  reviewRelease(input) // warm-up
  const times = []
  let findings = 0
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    findings = reviewRelease(input).findings.length
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.log(`${name}: median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)}), ${findings} findings`)
}
