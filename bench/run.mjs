#!/usr/bin/env node
/**
 * stage-publish next to npm, measured side by side in one run and reported as ratios (machines are
 * noisy; ratios of interleaved runs travel better than milliseconds).
 *
 *   npm run bench                  (builds, then runs this)
 *   node bench/run.mjs [--runs N] [--quick] [--only startup,footprint,npx,stage,approve,list] [--records 1000] [--json] [--out file] [--review]
 *
 *   startup  `stage-publish --version` and `--help` vs `npm --version` vs `node -e 0`; and which modules
 *            `--help`, `--version` and `list` load (none of pacote, libnpmpublish, @npmcli/arborist, @aws-sdk/*)
 *   footprint  what `npx stage-publish` installs: `npm pack` of this repository installed from the tarball into
 *            an empty folder (bytes on disk, packages), next to npm's own package packed the same way;
 *            fails above the budget (20 MB, 80 packages)
 *   npx      `npx --package <that tarball> stage-publish --version` with an empty npm cache (a fresh CI runner)
 *            vs `npx --package <npm's tarball> npm --version` alike; and with the cache warm
 *   stage    `stage-publish` (into a fresh file: backend, looking the version up on a local Verdaccio)
 *            vs `npm pack` of the same folder (a copy of commander, renamed)
 *   approve  `stage-publish approve <id> --yes --otp <code>` vs `npm publish --otp <code>` of an equivalent
 *            package (and of its packed tarball) to the same Verdaccio with 2FA; fresh user and code each time
 *   list     `stage-publish list` and `list --json` over 1,000 staged releases in a file: backend
 *   review   (only with --review) bench/review.mjs, the review engine on a 1,000-file package
 *
 * Each case runs as a separate process, the cases of a section interleaved round by round (in a rotating
 * order) so that a burst of load hits all of them alike; the first round is a warm-up and is discarded.
 * Prints a table and writes everything as JSON to <OS temp folder>/stage-publish-bench-latest.json (or
 * --out <file>; never into the repository); --json prints that JSON on stdout too (the table then goes
 * to stderr). Exits 1 when a command fails or the module check does.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { isHeavyPackage } from '../test/support/heavy-modules.mjs'
import { withBundledSources } from '../test/support/bundle-meta.mjs'
import { pendingRecord } from '../test/support/record-factory.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'stage-publish.js')
const NODE = process.execPath
/** The preload test/e2e/startup.test.ts uses: writes every module a process loaded to $RECORD_LOADS_FILE. */
const RECORD_LOADS = path.join(ROOT, 'test', 'support', 'hooks', 'record-loads.mjs')
const SAMPLE_PACKAGE = path.join(ROOT, 'node_modules', 'commander')
/** Packages `--help` must not load: they cost 100-200 ms each and only staging/approval need them. */

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    records: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    review: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
})
if (opt.help) {
  console.log('usage: node bench/run.mjs [--runs N] [--quick] [--only startup,footprint,npx,stage,approve,list] [--records 1000] [--json] [--out file] [--review]')
  process.exit(0)
}
const ALL_SECTIONS = ['startup', 'footprint', 'npx', 'stage', 'approve', 'list']
const SECTIONS = opt.only ? opt.only.split(',').map((s) => s.trim()) : ALL_SECTIONS
for (const s of SECTIONS) if (!ALL_SECTIONS.includes(s)) usage(`unknown section "${s}"`)
/** Timed runs per case (after one warm-up round). */
const runsFor = (section) => {
  if (opt.runs) return Math.max(1, Number(opt.runs))
  if (opt.quick) return 3
  return { startup: 15, npx: 5, stage: 9, approve: 7, list: 9 }[section]
}
const RECORDS = Number(opt.records)
if (!Number.isInteger(RECORDS) || RECORDS < 1) usage('--records must be a positive integer')

function usage(message) {
  console.error(`bench: ${message}`)
  process.exit(2)
}

// Human output goes to stderr when stdout carries the JSON. A closed pipe (`| head`) must not skip the cleanup.
const log = (text = '') => (opt.json ? process.stderr : process.stdout).write(`${text}\n`)
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)

// ---------------------------------------------------------------------------------------------------
// Temp folders, the registry, and cleanup (also on Ctrl-C)

const tmp = mkdtempSync(path.join(os.tmpdir(), 'stage-publish-bench-'))
let registry = null
let cleaned = false
async function cleanup() {
  if (cleaned) return
  cleaned = true
  await registry?.stop().catch(() => undefined)
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 })
}
for (const [signal, n] of Object.entries({ SIGINT: 2, SIGTERM: 15 })) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}; cleaning up\n`)
    cleanup().finally(() => process.exit(128 + n))
  })
}

/** An environment that shares nothing with yours: its own HOME, npm config and cache, no CI variables. */
function envWith(npmrc, extra = {}) {
  const env = {}
  for (const key of ['PATH', 'LANG', 'TZ', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key]
  return {
    ...env,
    HOME: path.join(tmp, 'home'),
    XDG_STATE_HOME: path.join(tmp, 'state'),
    NPM_CONFIG_USERCONFIG: npmrc,
    NPM_CONFIG_GLOBALCONFIG: path.join(tmp, 'global-npmrc'),
    NPM_CONFIG_CACHE: path.join(tmp, 'npm-cache'),
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    NPM_CONFIG_FUND: 'false',
    NPM_CONFIG_AUDIT: 'false',
    NO_COLOR: '1',
    ...extra,
  }
}
mkdirSync(path.join(tmp, 'home'))
const plainNpmrc = path.join(tmp, 'plain.npmrc')
writeFileSync(plainNpmrc, '')

// ---------------------------------------------------------------------------------------------------
// Measuring

class CommandFailed extends Error {}

/**
 * Runs a command to completion and returns its wall time in ms; throws with its output when it fails.
 * @param {string} label @param {string[]} argv @param {{ cwd?: string, env: NodeJS.ProcessEnv }} opts
 */
function timed(label, [cmd, ...args], { cwd = tmp, env }) {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 })
  const ms = performance.now() - t0
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')
    throw new CommandFailed(`${label} failed (${r.error?.message ?? `exit code ${r.status ?? r.signal}`}):\n${out}`)
  }
  return { ms, stdout: String(r.stdout) }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const summary = (xs) => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)), runs: xs.length, all: xs.map(round) })
const round = (x) => Math.round(x * 10) / 10

/**
 * Interleaved rounds: every round runs each case once, in an order that rotates from round to round.
 * `cases` maps a label to { prepare?(round) -> ctx (untimed), run(ctx) -> ms }. Round 0 is a warm-up.
 */
async function interleave(cases, runs) {
  const labels = Object.keys(cases)
  const times = Object.fromEntries(labels.map((l) => [l, []]))
  for (let r = 0; r <= runs; r++) {
    const order = labels.map((_, i) => labels[(i + r) % labels.length])
    for (const label of order) {
      const c = cases[label]
      const ctx = c.prepare ? await c.prepare(r) : undefined
      const ms = c.run(ctx)
      if (r > 0) times[label].push(ms)
    }
  }
  return Object.fromEntries(labels.map((l) => [l, summary(times[l])]))
}

const results = {
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    npm: spawnSync('npm', ['--version'], { encoding: 'utf8', env: envWith(plainNpmrc) }).stdout?.trim(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    loadavgAtStart: os.loadavg().map(round),
  },
  sections: {},
}
/** ratio rows for the table: [what, value, how it is computed] */
const ratioRows = []
const ratio = (a, b) => Math.round((a / b) * 100) / 100
let failures = 0

// ---------------------------------------------------------------------------------------------------
// a. start-up

async function startup() {
  const env = envWith(plainNpmrc)
  const emptyStore = `file:${path.join(tmp, 'empty-store')}`
  const cmds = {
    'node -e 0': [NODE, '-e', '0'],
    'npm --version': ['npm', '--version'],
    'stage-publish --version': [NODE, BIN, '--version'],
    'stage-publish --help': [NODE, BIN, '--help'],
    // `list`'s own start-up (its fast path, src/list-main.ts), with nothing to list.
    'stage-publish list (empty backend)': [NODE, BIN, 'list', '--backend', emptyStore],
  }
  const cases = Object.fromEntries(Object.entries(cmds).map(([label, argv]) => [label, { run: () => timed(label, argv, { env }).ms }]))
  const t = await interleave(cases, runsFor('startup'))
  const node = t['node -e 0'].median
  const npm = t['npm --version'].median
  const ratios = {
    'stage-publish --version / npm --version': ratio(t['stage-publish --version'].median, npm),
    'stage-publish --help / npm --version': ratio(t['stage-publish --help'].median, npm),
    'stage-publish --version / node -e 0': ratio(t['stage-publish --version'].median, node),
    'stage-publish list (empty backend) / stage-publish --version': ratio(t['stage-publish list (empty backend)'].median, t['stage-publish --version'].median),
    '(stage-publish --help - node -e 0) / (npm --version - node -e 0)': ratio(t['stage-publish --help'].median - node, npm - node),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['startup', k, v])

  // Which modules the cheap commands load, recorded by the preload test/e2e/startup.test.ts uses.
  const modules = {}
  for (const [label, args] of Object.entries({ '--help': ['--help'], '--version': ['--version'], list: ['list', '--backend', emptyStore] })) {
    const file = path.join(tmp, `modules${label.replace(/\W/g, '-')}.json`)
    timed(`stage-publish ${label} (recording modules)`, [NODE, '--import', pathToFileURL(RECORD_LOADS).href, BIN, ...args], {
      env: envWith(plainNpmrc, { RECORD_LOADS_FILE: file }),
    })
    // ES modules as file: URLs, CommonJS ones (require.cache) as paths: one list of paths.
    // A loaded chunk of the bundle counts as the sources esbuild put into it (test/support/bundle-meta.mjs).
    const all = JSON.parse(readFileSync(file, 'utf8'))
    const builtins = all.filter((u) => u.startsWith('node:')).length
    const loaded = all.filter((u) => !u.startsWith('node:'))
    const files = [...new Set(withBundledSources(loaded).map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u)))]
    const packages = {}
    for (const f of files) {
      const m = /[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)[/\\]/.exec(f)
      if (m) packages[m[1].replace('\\', '/')] = (packages[m[1].replace('\\', '/')] ?? 0) + 1
    }
    const heavy = Object.keys(packages).filter(isHeavyPackage)
    // The recording itself must have worked: the bin is always loaded (`--version` loads nothing else).
    const recorded = files.includes(BIN)
    const ok = recorded && heavy.length === 0
    if (!ok) failures++
    modules[label] = { ok, loadedFiles: loaded.length, builtins, sources: files.length - loaded.length, packages, heavy, recorded }
  }
  results.sections.startup = { commands: { ...cmds, 'stage-publish': 'node bin/stage-publish.js' }, times: t, ratios, modules }
}

// ---------------------------------------------------------------------------------------------------
// b. footprint and cold npx: what a fresh CI runner downloads and installs for `npx stage-publish`

/** Budget of issue 14: what `npx stage-publish` may install. */
const FOOTPRINT_BUDGET = { bytes: 20 * 1024 * 1024, packages: 80 }
let tarballs = null
/** This repository packed as it is published (dist/ as built), and npm's own package packed alike. */
function packedTarballs() {
  if (tarballs) return tarballs
  const dir = path.join(tmp, 'tarballs')
  mkdirSync(dir, { recursive: true })
  const env = envWith(plainNpmrc)
  const pack = (label, from) => {
    const r = timed(`npm pack ${label}`, ['npm', 'pack', '--json', '--ignore-scripts', '--pack-destination', dir, from], { cwd: dir, env })
    return path.join(dir, JSON.parse(r.stdout)[0].filename)
  }
  // npm bundles its dependencies: its tarball installs alone, like ours. Run by `npm run bench`, npm_execpath is npm itself.
  const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : null
  const npmRoot = npmCli ? path.dirname(path.dirname(npmCli)) : path.join(spawnSync('npm', ['root', '-g'], { encoding: 'utf8', env }).stdout.trim(), 'npm')
  tarballs = { ours: pack('stage-publish', ROOT), npm: pack('npm', npmRoot) }
  return tarballs
}

/** Bytes (as listed and as allocated on disk) and files under a folder, links not followed. */
function sizeOf(dir) {
  let bytes = 0
  let disk = 0
  let files = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const st = lstatSync(path.join(entry.parentPath ?? entry.path, entry.name))
    disk += st.blocks * 512
    if (st.isFile()) {
      bytes += st.size
      files++
    }
  }
  return { bytes, disk, files }
}

async function footprint() {
  const { ours, npm } = packedTarballs()
  const measure = (label, tgz) => {
    const app = path.join(tmp, 'footprint', label)
    mkdirSync(app, { recursive: true })
    writeFileSync(path.join(app, 'package.json'), '{"name":"footprint","version":"1.0.0","private":true}\n')
    const env = envWith(plainNpmrc, { NPM_CONFIG_CACHE: path.join(tmp, 'footprint', `${label}-cache`) })
    const install = timed(`npm install ${label}.tgz`, ['npm', 'install', '--ignore-scripts', tgz], { cwd: app, env })
    // npm's hidden lockfile lists every installed package, bundled ones included.
    const lock = JSON.parse(readFileSync(path.join(app, 'node_modules', '.package-lock.json'), 'utf8'))
    return { tarballBytes: statSync(tgz).size, packages: Object.keys(lock.packages).length, ...sizeOf(path.join(app, 'node_modules')), installMs: round(install.ms) }
  }
  const installed = { 'stage-publish': measure('stage-publish', ours), npm: measure('npm', npm) }
  const s = installed['stage-publish']
  const overBudget = s.disk > FOOTPRINT_BUDGET.bytes || s.packages > FOOTPRINT_BUDGET.packages
  if (overBudget) failures++
  const ratios = {
    'installed size on disk: stage-publish / npm': ratio(s.disk, installed.npm.disk),
    'installed packages: stage-publish / npm': ratio(s.packages, installed.npm.packages),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['footprint', k, v])
  results.sections.footprint = {
    commands: { pack: 'npm pack --ignore-scripts (this repository, dist/ as built; npm: its own folder)', install: 'npm install --ignore-scripts <tarball>   (in an empty folder, empty cache)' },
    budget: FOOTPRINT_BUDGET,
    ok: !overBudget,
    installed,
    ratios,
  }
}

async function npx() {
  const { ours, npm } = packedTarballs()
  const cwd = path.join(tmp, 'npx-cwd')
  mkdirSync(cwd, { recursive: true })
  let fresh = 0
  const npxCase = (tgz, bin, cache) => ({
    prepare: () => envWith(plainNpmrc, { NPM_CONFIG_CACHE: cache ?? path.join(tmp, 'npx-caches', `c${fresh++}`) }),
    run: (env) => timed(`npx ${bin}`, ['npx', '--yes', '--package', tgz, bin, '--version'], { cwd, env }).ms,
  })
  const t = await interleave(
    {
      'npx stage-publish (cold)': npxCase(ours, 'stage-publish'),
      'npx npm (cold)': npxCase(npm, 'npm'),
      'npx stage-publish (warm)': npxCase(ours, 'stage-publish', path.join(tmp, 'npx-caches', 'warm')),
    },
    runsFor('npx'),
  )
  const ratios = {
    'npx stage-publish --version / npx npm --version (empty cache)': ratio(t['npx stage-publish (cold)'].median, t['npx npm (cold)'].median),
    'npx stage-publish --version: empty cache / warm cache': ratio(t['npx stage-publish (cold)'].median, t['npx stage-publish (warm)'].median),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['npx', k, v])
  results.sections.npx = {
    commands: {
      'npx stage-publish (cold)': 'npx --yes --package <stage-publish tarball> stage-publish --version   (a new empty npm cache each time)',
      'npx npm (cold)': 'npx --yes --package <npm tarball> npm --version   (a new empty npm cache each time)',
      'npx stage-publish (warm)': 'the first, with one cache kept from run to run',
    },
    times: t,
    ratios,
  }
}

// ---------------------------------------------------------------------------------------------------
// A local Verdaccio (staging + 2FA) and a realistic sample package, for stage and approve

async function ensureRegistry() {
  if (registry) return registry
  const ensured = spawnSync(NODE, [path.join(ROOT, 'test', 'support', 'ensure-verdaccio.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (ensured.status !== 0) throw new CommandFailed('the test registry (Verdaccio) could not be installed; see above')
  const { startVerdaccio } = await import('../test/support/verdaccio-server.mjs')
  registry = await startVerdaccio()
  writeFileSync(path.join(tmp, 'registry.npmrc'), `registry=${registry.url}\n`)
  return registry
}

let packageCounter = 0
/** A copy of commander's folder (as installed: what npm would pack from it) under a new name. */
function samplePackage(name) {
  const dir = path.join(tmp, 'packages', `${name}-${packageCounter++}`)
  cpSync(SAMPLE_PACKAGE, dir, { recursive: true })
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ ...manifest, name, version: '1.0.0' }, null, 2)}\n`)
  return dir
}
const runId = randomBytes(3).toString('hex')

// ---------------------------------------------------------------------------------------------------
// c. staging vs npm pack

async function stage() {
  await ensureRegistry()
  const env = envWith(path.join(tmp, 'registry.npmrc'))
  const pkg = samplePackage(`bench-stage-${runId}`)
  const packs = path.join(tmp, 'packs')
  mkdirSync(packs, { recursive: true })
  let store = 0
  const t = await interleave(
    {
      // A fresh backend each time: the same version cannot be staged twice in one.
      'stage-publish': { run: () => timed('stage-publish', [NODE, BIN, '--backend', `file:${path.join(tmp, 'stores', `s${store++}`)}`], { cwd: pkg, env }).ms },
      'npm pack': { run: () => timed('npm pack', ['npm', 'pack', '--pack-destination', packs], { cwd: pkg, env }).ms },
      'npm pack --dry-run': { run: () => timed('npm pack --dry-run', ['npm', 'pack', '--dry-run'], { cwd: pkg, env }).ms },
    },
    runsFor('stage'),
  )
  const ratios = {
    'stage-publish / npm pack': ratio(t['stage-publish'].median, t['npm pack'].median),
    'stage-publish / npm pack --dry-run': ratio(t['stage-publish'].median, t['npm pack --dry-run'].median),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['stage', k, v])
  results.sections.stage = {
    package: 'a copy of node_modules/commander, renamed',
    commands: {
      'stage-publish': 'node bin/stage-publish.js --backend file:<fresh dir>   (in the package folder; npm config: registry=<local Verdaccio>)',
      'npm pack': 'npm pack --pack-destination <dir>   (same folder, same config)',
      'npm pack --dry-run': 'npm pack --dry-run',
    },
    times: t,
    ratios,
  }
}

// ---------------------------------------------------------------------------------------------------
// d. approval vs npm publish

async function approve() {
  const reg = await ensureRegistry()
  const stageEnv = envWith(path.join(tmp, 'registry.npmrc'))
  const store = path.join(tmp, 'approve-store')
  const backend = `file:${store}`
  /** A fresh 2FA user with their own npmrc: each timed command gets a user and a code never used before. */
  async function userEnv() {
    const user = await reg.createUser()
    const npmrc = await user.writeNpmrc(path.join(tmp, 'users', user.name))
    return { env: envWith(npmrc), otp: await user.otp() }
  }
  const t = await interleave(
    {
      'stage-publish approve': {
        async prepare(round) {
          const pkg = samplePackage(`bench-approve-${runId}-${round}`)
          const staged = timed('stage-publish (untimed set-up)', [NODE, BIN, '--json', '--backend', backend], { cwd: pkg, env: stageEnv })
          return { id: JSON.parse(staged.stdout).id, ...(await userEnv()) }
        },
        run: ({ id, env, otp }) => timed('stage-publish approve', [NODE, BIN, 'approve', id, '--yes', '--otp', otp, '--backend', backend], { env }).ms,
      },
      'npm publish': {
        async prepare(round) {
          return { pkg: samplePackage(`bench-publish-${runId}-${round}`), ...(await userEnv()) }
        },
        run: ({ pkg, env, otp }) => timed('npm publish', ['npm', 'publish', '--otp', otp], { cwd: pkg, env }).ms,
      },
      'npm publish <tarball>': {
        async prepare(round) {
          const pkg = samplePackage(`bench-tarball-${runId}-${round}`)
          const packed = timed('npm pack (untimed set-up)', ['npm', 'pack', '--json', '--pack-destination', pkg], { cwd: pkg, env: stageEnv })
          return { tgz: path.join(pkg, JSON.parse(packed.stdout)[0].filename), ...(await userEnv()) }
        },
        run: ({ tgz, env, otp }) => timed('npm publish <tarball>', ['npm', 'publish', tgz, '--otp', otp], { env }).ms,
      },
    },
    runsFor('approve'),
  )
  const ratios = {
    'stage-publish approve / npm publish': ratio(t['stage-publish approve'].median, t['npm publish'].median),
    'stage-publish approve / npm publish <tarball>': ratio(t['stage-publish approve'].median, t['npm publish <tarball>'].median),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['approve', k, v])
  results.sections.approve = {
    package: 'a copy of node_modules/commander, renamed; a fresh 2FA user and code per command',
    commands: {
      'stage-publish approve': 'node bin/stage-publish.js approve <id> --yes --otp <code> --backend file:<dir>   (staged beforehand, untimed)',
      'npm publish': 'npm publish --otp <code>   (in an equivalent package folder)',
      'npm publish <tarball>': 'npm publish <name>-1.0.0.tgz --otp <code>   (packed beforehand, untimed)',
    },
    times: t,
    ratios,
  }
}

// ---------------------------------------------------------------------------------------------------
// e. list over many staged releases

async function list() {
  const dir = path.join(tmp, 'list-store')
  const { createLocalBackend } = await import(pathToFileURL(path.join(ROOT, 'dist', 'backends', 'local.js')).href)
  const backend = createLocalBackend(dir)
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < RECORDS) {
        const i = next++
        const bytes = randomBytes(1024 + (i % 7) * 256)
        const res = await backend.createRelease(record(bytes, i), bytes)
        if (!res.created) throw new CommandFailed(`record ${i} was not created`)
      }
    }),
  )
  const setupMs = performance.now() - t0
  const env = envWith(plainNpmrc)
  const args = ['--backend', `file:${dir}`]
  const t = await interleave(
    {
      'stage-publish --version': { run: () => timed('stage-publish --version', [NODE, BIN, '--version'], { env }).ms },
      'stage-publish list': { run: () => timed('stage-publish list', [NODE, BIN, 'list', ...args], { env }).ms },
      'stage-publish list --json': { run: () => timed('stage-publish list --json', [NODE, BIN, 'list', '--json', ...args], { env }).ms },
    },
    runsFor('list'),
  )
  const check = timed('stage-publish list --json', [NODE, BIN, 'list', '--json', ...args], { env })
  const listed = JSON.parse(check.stdout).length
  if (listed !== RECORDS) throw new CommandFailed(`list --json showed ${listed} releases, not ${RECORDS}`)
  const base = t['stage-publish --version'].median
  const ratios = {
    [`stage-publish list (${RECORDS}) / stage-publish --version`]: ratio(t['stage-publish list'].median, base),
    [`stage-publish list --json (${RECORDS}) / stage-publish --version`]: ratio(t['stage-publish list --json'].median, base),
  }
  for (const [k, v] of Object.entries(ratios)) ratioRows.push(['list', k, v])
  const perRecordUs = round(((t['stage-publish list'].median - base) / RECORDS) * 1000)
  results.sections.list = {
    records: RECORDS,
    setupMs: round(setupMs),
    commands: {
      'stage-publish list': 'node bin/stage-publish.js list --backend file:<dir with the releases>',
      'stage-publish list --json': 'node bin/stage-publish.js list --json --backend file:<dir>',
    },
    times: t,
    ratios,
    perRecordMicroseconds: perRecordUs,
  }
  results.sections.listHistory = await (await import('./list-history.mjs')).listHistory({ runs: runsFor('list'), tmp, log, ratioRows }) // issue 14: 10,000 local; S3 history (bench/list-history.mjs)
}

/** A pending release that expires in a week, as CI would stage it. */
function record(bytes, i) {
  return pendingRecord(bytes, {
    packageName: `bench-pkg-${i % 25}`, version: `1.0.${i}`, unpackedSize: bytes.length * 3, fileCount: 3,
    files: [{ path: 'package.json', size: 400, mode: 0o644 }, { path: 'index.js', size: 2000, mode: 0o644 }, { path: 'README.md', size: 1200, mode: 0o644 }],
    createdAt: new Date(Date.now() - (RECORDS - i) * 1000).toISOString(), actor: 'ci-bot (github-actions)', git: { commit: 'a'.repeat(40), branch: 'main' },
  })
}

// ---------------------------------------------------------------------------------------------------
// Report

const fmtMs = (s) => `${s.median.toFixed(0).padStart(6)} ms  (${s.min.toFixed(0)}–${s.max.toFixed(0)}, n=${s.runs})`

function printReport() {
  const m = results.machine
  log(`stage-publish benchmarks — node ${m.node}, npm ${m.npm}, ${m.cpus}; load average ${m.loadavgAtStart[0]} at start, ${m.loadavgAtEnd[0]} at the end`)
  log('Medians of interleaved runs (min–max), each a separate process; ratios < 1 mean stage-publish is faster.')
  for (const [name, section] of Object.entries(results.sections)) {
    if (!section.times) continue
    log()
    const extra =
      name === 'list'
        ? ` (${section.records} staged releases, written in ${section.setupMs.toFixed(0)} ms; list costs ${section.perRecordMicroseconds} µs a release above start-up)`
        : section.package
          ? ` (${section.package})`
          : ''
    log(`${name}${extra}`)
    for (const [label, s] of Object.entries(section.times)) log(`  ${label.padEnd(28)} ${fmtMs(s)}`)
  }
  log()
  log('ratios (median / median, same run)')
  const width = Math.max(...ratioRows.map(([, what]) => what.length))
  for (const [section, what, value] of ratioRows) log(`  ${section.padEnd(8)} ${what.padEnd(width)}  ${value.toFixed(2)}×`)
  const fp = results.sections.footprint
  if (fp) {
    log()
    log(`footprint (installed from the packed tarball into an empty folder; budget ${fp.budget.bytes / 1024 / 1024} MB, ${fp.budget.packages} packages)`)
    for (const [label, f] of Object.entries(fp.installed)) {
      const mb = (x) => `${(x / 1024 / 1024).toFixed(1)} MB`
      log(`  ${label.padEnd(14)} ${mb(f.disk)} on disk (${mb(f.bytes)} in ${f.files} files), ${f.packages} package(s), tarball ${mb(f.tarballBytes)}`)
    }
    if (!fp.ok) log('  FAILED: stage-publish is over the budget')
  }
  const mods = results.sections.startup?.modules
  if (mods) {
    log()
    log('modules loaded (check: none of pacote, libnpmpublish, @npmcli/arborist, @aws-sdk/*)')
    for (const [label, r] of Object.entries(mods)) {
      const pkgs = Object.entries(r.packages).map(([p, n]) => `${p} (${n})`).join(', ')
      const verdict = r.ok ? 'ok' : !r.recorded ? 'FAILED: nothing recorded' : `FAILED: loads ${r.heavy.join(', ')}`
      log(`  stage-publish ${label.padEnd(10)} ${verdict}: ${r.loadedFiles} files (holding ${r.sources} bundled sources), ${r.builtins} Node builtins; packages: ${pkgs || 'none'}`)
    }
  }
  if (results.review) {
    log()
    log('review (bench/review.mjs)')
    log(results.review.replace(/^/gm, '  ').trimEnd())
  }
}

try {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new CommandFailed('dist/ is missing: run `npm run bench` (it builds first) or `npm run build`')
  const started = performance.now()
  for (const section of SECTIONS) {
    log(`… ${section}`)
    await { startup, footprint, npx, stage, approve, list }[section]()
  }
  if (opt.review) {
    log('… review')
    const reviewRuns = opt.runs ?? (opt.quick ? '3' : '9')
    results.review = timed('bench/review.mjs', [NODE, path.join(ROOT, 'bench', 'review.mjs'), reviewRuns], { cwd: ROOT, env: process.env }).stdout
  }
  results.totalSeconds = round((performance.now() - started) / 1000)
  results.machine.loadavgAtEnd = os.loadavg().map(round)
  printReport()
  const file = path.resolve(opt.out ?? path.join(os.tmpdir(), 'stage-publish-bench-latest.json'))
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  if (opt.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  log()
  log(`${failures ? `${failures} check(s) FAILED. ` : ''}Done in ${results.totalSeconds} s; results as JSON in ${file}`)
  if (failures) process.exitCode = 1
} catch (err) {
  process.exitCode = 1
  process.stderr.write(`bench failed: ${err instanceof CommandFailed ? err.message : err?.stack ?? err}\n`)
} finally {
  await cleanup()
}
