/**
 * Issue 4 against the real Verdaccio: a fixture package is published as 1.0.0 with the npm CLI,
 * then releases with crafted changes are staged and reviewed against it (view --json), diffed,
 * blocked by a policy, and pinned with --expect and --verify-local. Nothing here is faked: the
 * baseline is fetched by the CLI from the registry and the tarballs are the ones npm packs.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, publishedIntegrity, run, sandbox, uniqueName, type Sandbox } from '../support/cli.js'

let registry: TestRegistry
/** Publishes the baselines: a user without 2FA, so fixtures cost no one-time passwords. */
let publisher: TestUser

beforeAll(async () => {
  registry = await sharedRegistry()
  publisher = await registry.createUser({ tfa: false })
})

type Files = Record<string, string | Buffer>

const BASE_FILES: Files = {
  'index.js': "'use strict'\nconst { tidy } = require('./lib/util.js')\n\nmodule.exports = function greet(name) {\n  return tidy(`Hello, ${name}!`)\n}\n",
  'lib/util.js': 'exports.tidy = (text) => text.trim()\n',
  'bin/cli.js': "#!/usr/bin/env node\nconsole.log(require('../index.js')(process.argv[2] || 'world'))\n",
  'README.md': '# review fixture\n\nGreets people.\n',
}
const baseManifest = (name: string, version: string): Record<string, unknown> => ({
  name,
  version,
  description: 'a fixture for stage-publish reviews',
  main: 'index.js',
  bin: { greet: 'bin/cli.js' },
  license: 'MIT',
})

/** One long line of dense code, as a bundler writes it. */
const minified = (): string => {
  let out = '"use strict";'
  for (let i = 0; out.length < 6000; i++) out += `function a${i}(t,n){return t.map(r=>r*n+${i}).filter(Boolean)}`
  return `${out}\n`
}
/** The start of an ELF shared object, padded: what a prebuilt addon looks like to the review. */
const elf = (): Buffer => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(2040, 0)])

async function writePackage(dir: string, manifest: Record<string, unknown>, files: Files): Promise<string> {
  await fs.rm(dir, { recursive: true, force: true })
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true })
    await fs.writeFile(path.join(dir, file), content)
  }
  return dir
}

/** A sandbox with the fixture published as 1.0.0 by the npm CLI. */
async function published(base = 'review', manifestExtra: Record<string, unknown> = {}) {
  const sb = await sandbox()
  const name = uniqueName(base)
  const publisherRc = await publisher.writeNpmrc(path.join(sb.dir, 'publisher'), registry.url)
  const dir = await writePackage(path.join(sb.dir, 'v1.0.0'), { ...baseManifest(name, '1.0.0'), ...manifestExtra }, BASE_FILES)
  const pub = await run('npm', ['publish', '--registry', registry.url, '--ignore-scripts'], { cwd: dir, env: { ...sb.env, NPM_CONFIG_USERCONFIG: publisherRc } })
  expect(pub.code, pub.all).toBe(0)
  return { sb, name }
}

interface StagedJson {
  id: string
  integrity: string
  shasum: string
}

/** Writes a variant of the fixture and stages it; returns its id and digests. */
async function stageVariant(sb: Sandbox, name: string, version: string, edit: (m: Record<string, unknown>, files: Files) => void = () => {}, folder = `v${version}`) {
  const manifest = baseManifest(name, version)
  const files = { ...BASE_FILES }
  edit(manifest, files)
  const dir = await writePackage(path.join(sb.dir, folder), manifest, files)
  const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: dir })
  expect(r.code, r.all).toBe(0)
  // Reading the registry leaves nothing behind in the package (it once left ./no-store/, packed by the next staging).
  expect((await fs.readdir(dir)).sort()).toEqual(['package.json', ...new Set(Object.keys(files).map((f) => f.split('/')[0] as string))].sort())
  return { dir, ...parseJson<StagedJson>(r.stdout) }
}

interface ReviewJson {
  baseline: { version: string | null; reason: string }
  findings: Array<{ code: string; severity: string; args: Record<string, unknown> }>
  files: { added: Array<{ path: string }>; removed: Array<{ path: string }>; changed: Array<{ path: string }> }
}

async function viewReview(sb: Sandbox, id: string): Promise<ReviewJson> {
  const r = await sb.run(['view', id, '--json', '--backend', sb.backend])
  expect(r.code, r.all).toBe(0)
  const review = parseJson<{ review: ReviewJson | null }>(r.stdout).review
  expect(review, r.stderr).not.toBeNull()
  return review as ReviewJson
}
const codes = (review: ReviewJson): string[] => [...new Set(review.findings.map((f) => f.code))].sort()

async function approverFor(sb: Sandbox) {
  const approver = await registry.createUser()
  const npmrc = await approver.writeNpmrc(path.join(sb.dir, `approver-${approver.name}`), registry.url)
  return { approver, env: { NPM_CONFIG_USERCONFIG: npmrc } }
}

async function stateOf(sb: Sandbox, id: string): Promise<string> {
  return parseJson<{ state: string }>((await sb.run(['view', id, '--json', '--no-review', '--backend', sb.backend])).stdout).state
}

describe('review against the published version', () => {
  it('gives exactly the expected finding codes for each crafted change, and only info for an unchanged re-release', async () => {
    const { sb, name } = await published()
    const variants: Array<[string, (m: Record<string, unknown>, files: Files) => void, string[]]> = [
      ['1.0.1', (m) => void (m.scripts = { postinstall: 'node lib/util.js' }), ['INSTALL_SCRIPT_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH']],
      ['1.0.2', (m) => void (m.dependencies = { 'left-pad': '^1.3.0' }), ['DEPENDENCY_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH']],
      [
        '1.0.3',
        (m, f) => {
          m.bin = { greet: 'bin/run.js' }
          f['bin/run.js'] = "#!/usr/bin/env node\nrequire('../lib/util.js')\n"
        },
        ['BIN_CHANGED', 'FILES_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH'],
      ],
      ['1.0.4', (_m, f) => void (f['lib/addon.node'] = elf()), ['NATIVE_BINARY_ADDED', 'FILES_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH']],
      ['1.0.5', (_m, f) => void (f['lib/vendor.js'] = minified()), ['MINIFIED_CODE', 'FILES_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH']],
      ['1.0.6', (_m, f) => {
        delete f['lib/util.js']
      }, ['FILES_REMOVED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH']],
      ['3.0.0', () => {}, ['VERSION_JUMP', 'VERSION_MAJOR', 'FILES_CHANGED']],
      ['1.0.7', () => {}, ['FILES_CHANGED', 'VERSION_PATCH']],
    ]
    const staged = await Promise.all(variants.map(([version, edit]) => stageVariant(sb, name, version, edit)))
    const reviews = await Promise.all(staged.map((s) => viewReview(sb, s.id)))
    variants.forEach(([version, , expected], i) => {
      const review = reviews[i] as ReviewJson
      expect(review.baseline, version).toEqual({ version: '1.0.0', reason: 'tag' })
      expect(codes(review), version).toEqual([...expected].sort())
    })
    const byVersion = Object.fromEntries(variants.map(([v], i) => [v, reviews[i] as ReviewJson]))
    const arg = (v: string, code: string) => byVersion[v]?.findings.find((f) => f.code === code)?.args
    expect(arg('1.0.1', 'INSTALL_SCRIPT_ADDED')).toEqual({ script: 'postinstall', command: 'node lib/util.js' })
    expect(arg('1.0.2', 'DEPENDENCY_ADDED')).toEqual({ field: 'dependencies', name: 'left-pad', to: '^1.3.0' })
    expect(arg('1.0.3', 'BIN_CHANGED')).toEqual({ name: 'greet', from: 'bin/cli.js', to: 'bin/run.js' })
    expect(arg('1.0.4', 'NATIVE_BINARY_ADDED')).toEqual({ path: 'lib/addon.node', kind: 'node-addon' })
    expect(arg('1.0.5', 'MINIFIED_CODE')).toMatchObject({ path: 'lib/vendor.js' })
    expect(byVersion['1.0.6']?.files.removed).toEqual([{ path: 'lib/util.js', size: 0, previousSize: Buffer.byteLength(BASE_FILES['lib/util.js'] as string) }])
    expect(arg('3.0.0', 'VERSION_JUMP')).toEqual({ from: '1.0.0', to: '3.0.0', part: 'major', delta: 2 })
    // The unchanged re-release: nothing beyond info.
    expect(byVersion['1.0.7']?.findings.filter((f) => f.severity !== 'info')).toEqual([])
    expect(byVersion['1.0.7']?.files).toEqual({ added: [], removed: [], changed: [{ path: 'package.json', size: expect.any(Number), previousSize: expect.any(Number) }] })

    // People see it worded, after the record.
    const human = await sb.run(['view', staged[0]!.id, '--backend', sb.backend])
    expect(human.code, human.all).toBe(0)
    expect(human.stdout).toContain(`Review of ${name}@1.0.1 compared with 1.0.0 (what the target tag points to)`)
    expect(human.stdout).toMatch(/DANGER +New install script "postinstall" runs on every install: node lib\/util\.js \[INSTALL_SCRIPT_ADDED\]/)
    expect(human.stdout.indexOf('integrity:')).toBeLessThan(human.stdout.indexOf('Review of'))
  })

  it('reviews a package the registry has never seen as a first release', async () => {
    const sb = await sandbox()
    const name = uniqueName('review-first')
    const s = await stageVariant(sb, name, '0.1.0')
    const review = await viewReview(sb, s.id)
    expect(review.baseline).toEqual({ version: null, reason: 'first-release' })
    expect(codes(review)).toEqual(['FILES_ADDED', 'FIRST_RELEASE'])
  })

  it('view still shows the record, with a warning, when the registry cannot be reached', async () => {
    const { sb, name } = await published()
    const s = await stageVariant(sb, name, '1.0.1')
    const recordFile = path.join(sb.store, 'records', `${s.id}.json`)
    const record = parseJson<Record<string, unknown>>(await fs.readFile(recordFile, 'utf8'))
    await fs.writeFile(recordFile, JSON.stringify({ ...record, registry: 'http://127.0.0.1:9/' }))
    const human = await sb.run(['view', s.id, '--backend', sb.backend])
    expect(human.code, human.all).toBe(0)
    expect(human.stdout).toContain(`${name}@1.0.1`)
    expect(human.stdout).not.toContain('Review of')
    expect(human.stderr).toMatch(/warn no review against http:\/\/127\.0\.0\.1:9\/: EREGISTRYUNREACHABLE/)
    const json = await sb.run(['view', s.id, '--json', '--backend', sb.backend])
    expect(json.code, json.all).toBe(0)
    expect(parseJson<{ review: unknown; reviewError: { code: string } }>(json.stdout)).toMatchObject({ review: null, reviewError: { code: 'EREGISTRYUNREACHABLE' } })
  })
})

describe('diff', () => {
  it('shows unified diffs of changed files, added and removed ones, and summarises binaries', async () => {
    const { sb, name } = await published('review-diff')
    const s = await stageVariant(sb, name, '1.1.0', (m, f) => {
      m.description = 'a changed fixture'
      f['index.js'] = (BASE_FILES['index.js'] as string).replace('Hello', 'Goodbye')
      f['lib/addon.node'] = elf()
      delete f['README.md']
    })
    const r = await sb.run(['diff', s.id.slice(0, 8), '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain(`Diff of ${name}@1.1.0 against 1.0.0 (what the target tag points to)`)
    expect(r.stdout).toContain(
      [
        '--- a/index.js',
        '+++ b/index.js',
        '@@ -2,5 +2,5 @@',
        " const { tidy } = require('./lib/util.js')",
        ' ',
        ' module.exports = function greet(name) {',
        '-  return tidy(`Hello, ${name}!`)',
        '+  return tidy(`Goodbye, ${name}!`)',
        ' }',
      ].join('\n'),
    )
    expect(r.stdout).toContain('-  "version": "1.0.0",\n-  "description": "a fixture for stage-publish reviews",\n+  "version": "1.1.0",\n+  "description": "a changed fixture",')
    expect(r.stdout).toContain('Binary files /dev/null and b/lib/addon.node differ (added, 2.0 kB)')
    expect(r.stdout).toContain('--- a/README.md\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-# review fixture\n')
    // No escape sequences into a pipe, and no pager.
    expect(r.stdout).not.toContain('\u001b[')

    const one = await sb.run(['diff', s.id, 'index.js', '--backend', sb.backend])
    expect(one.code, one.all).toBe(0)
    expect(one.stdout).toContain('+++ b/index.js')
    expect(one.stdout).not.toContain('package.json')

    const json = await sb.run(['diff', s.id, '--json', '--backend', sb.backend])
    expect(json.code, json.all).toBe(0)
    const data = parseJson<{ baseline: unknown; files: Array<{ path: string; status: string; binary: boolean; diff?: string }> }>(json.stdout)
    expect(data.baseline).toEqual({ version: '1.0.0', reason: 'tag' })
    expect(data.files.map((f) => [f.path, f.status, f.binary])).toEqual([
      ['README.md', 'removed', false],
      ['index.js', 'changed', false],
      ['lib/addon.node', 'added', true],
      ['package.json', 'changed', false],
    ])
    expect(data.files.find((f) => f.path === 'index.js')?.diff).toContain('+  return tidy(`Goodbye, ${name}!`)\n')

    const missing = await sb.run(['diff', s.id, 'nope.js', '--backend', sb.backend])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('nope.js: no such file')
  })

  it('pages through $PAGER on a terminal', async () => {
    const { sb, name } = await published('review-pager')
    const s = await stageVariant(sb, name, '1.0.1')
    const result = await runInPty(process.execPath, [BIN, 'diff', s.id, '--backend', sb.backend], {
      cwd: sb.dir,
      env: { ...sb.env, PAGER: 'sed "s/^/PAGED: /"' },
      timeoutMs: 30_000,
    })
    expect(result.exitCode, result.text).toBe(0)
    expect(result.text).toContain('PAGED: +++ b/package.json')
  })
})

describe('policy', () => {
  it('blocks a danger finding with EPOLICY before any prompt; --allow <code> lets it through', async () => {
    const { sb, name } = await published('review-policy')
    const s = await stageVariant(sb, name, '1.0.1', (m) => void (m.scripts = { postinstall: 'node lib/util.js' }))
    // The approver's checkout carries the policy (package.json stagePublish.policy).
    const checkout = await writePackage(path.join(sb.dir, 'checkout'), { ...baseManifest(name, '1.0.1'), stagePublish: { policy: { refuse: 'danger' } } }, BASE_FILES)
    const { approver, env } = await approverFor(sb)

    const blocked = await sb.run(['approve', s.id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { cwd: checkout, env })
    expect(blocked.code, blocked.all).toBe(1)
    expect(blocked.stderr).toContain('EPOLICY')
    expect(blocked.stderr).toContain('INSTALL_SCRIPT_ADDED')
    expect(blocked.stderr).toContain('--allow INSTALL_SCRIPT_ADDED')
    // The review was shown; the confirmation summary never was.
    expect(blocked.stderr.indexOf('Review of')).toBeGreaterThan(-1)
    expect(blocked.stderr).not.toContain(`Approve ${name}@1.0.1?`)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBeNull()
    expect(await stateOf(sb, s.id)).toBe('pending')

    const typo = await sb.run(['approve', s.id, '--yes', '--otp', '123456', '--allow', 'INSTALL_SCRIPT_ADDDED', '--backend', sb.backend], { cwd: checkout, env })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('is not a review finding code')

    const allowed = await sb.run(['approve', s.id, '--yes', '--otp', await approver.otp(), '--allow', 'INSTALL_SCRIPT_ADDED', '--json', '--backend', sb.backend], { cwd: checkout, env })
    expect(allowed.code, allowed.all).toBe(0)
    const result = parseJson<{ state: string; review: ReviewJson; policy: unknown }>(allowed.stdout)
    expect(result.state).toBe('approved')
    expect(codes(result.review)).toContain('INSTALL_SCRIPT_ADDED')
    expect(result.policy).toEqual({ refuse: 'danger', blocked: [], allowed: ['INSTALL_SCRIPT_ADDED'] })
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBe(s.integrity)
  })

  it('shows the review in a terminal before the confirmation and the one-time password prompt', async () => {
    const { sb, name } = await published('review-tty')
    const s = await stageVariant(sb, name, '1.0.1', (m) => void (m.dependencies = { 'left-pad': '^1.3.0' }))
    const { approver, env } = await approverFor(sb)
    const otp = await approver.otp()
    const result = await runInPty(process.execPath, [BIN, 'approve', s.id, '--backend', sb.backend], {
      cwd: sb.dir,
      env: { ...sb.env, ...env },
      steps: [
        { waitFor: /Publish .+\?/, send: 'y' },
        { waitFor: /One-time password/, send: otp },
      ],
      timeoutMs: 60_000,
    })
    expect(result.exitCode, result.text).toBe(0)
    const review = result.text.indexOf(`Review of ${name}@1.0.1`)
    expect(review).toBeGreaterThan(-1)
    expect(result.text.indexOf('New dependency left-pad ^1.3.0')).toBeGreaterThan(review)
    expect(review).toBeLessThan(result.text.search(/Publish .+\?/))
    expect(review).toBeLessThan(result.text.search(/One-time password/))
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBe(s.integrity)
  })
})

describe('digest pinning', () => {
  /** A staged release, and the digests of the same package with one byte changed in one file. */
  async function stagedWithTwin() {
    const { sb, name } = await published('review-pin')
    const s = await stageVariant(sb, name, '1.0.1')
    const twinDir = await writePackage(path.join(sb.dir, 'twin'), baseManifest(name, '1.0.1'), {
      ...BASE_FILES,
      'lib/util.js': (BASE_FILES['lib/util.js'] as string).replace('trim', 'trin'),
    })
    const dry = await sb.run(['--dry-run', '--json', '--backend', `file:${path.join(sb.dir, 'twin-store')}`, '--registry', registry.url], { cwd: twinDir })
    expect(dry.code, dry.all).toBe(0)
    const twin = parseJson<StagedJson>(dry.stdout)
    expect(twin.integrity).not.toBe(s.integrity)
    return { sb, name, s, twin }
  }

  it('--expect refuses bytes that differ by one byte, by integrity or shasum, and publishes nothing', async () => {
    const { sb, name, s, twin } = await stagedWithTwin()
    const { approver, env } = await approverFor(sb)
    for (const digest of [twin.integrity, twin.shasum]) {
      const r = await sb.run(['approve', s.id, '--yes', '--otp', '000000', '--expect', digest, '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('EEXPECT')
      expect(r.stderr).toContain(s.integrity)
      expect(r.stderr).not.toContain('Review of')
    }
    const bad = await sb.run(['approve', s.id, '--yes', '--otp', '000000', '--expect', 'sha512-nope', '--backend', sb.backend], { env })
    expect(bad.code).toBe(2)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBeNull()
    expect(await stateOf(sb, s.id)).toBe('pending')

    const ok = await sb.run(['approve', s.id, '--yes', '--otp', await approver.otp(), '--expect', s.shasum.toUpperCase(), '--backend', sb.backend], { env })
    expect(ok.code, ok.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBe(s.integrity)
  })

  it('--verify-local refuses a checkout that differs by one byte in one file, and passes the same checkout', async () => {
    const { sb, name, s } = await stagedWithTwin()
    const { approver, env } = await approverFor(sb)
    const file = path.join(s.dir, 'lib', 'util.js')
    const original = await fs.readFile(file)
    const changed = Buffer.from(original)
    const offset = changed.indexOf('trim') + 3
    changed[offset] = 'n'.charCodeAt(0)
    await fs.writeFile(file, changed)

    const r = await sb.run(['approve', s.id, '--yes', '--otp', '000000', '--verify-local', s.dir, '--backend', sb.backend], { env })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('EEXPECT')
    expect(r.stderr).toContain('1 file differs')
    expect(r.stderr).toContain(`lib/util.js: same size, different bytes (first at byte ${offset})`)
    expect(r.stderr).not.toContain('index.js:')
    expect(r.stderr).not.toContain('Review of')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBeNull()
    expect(await stateOf(sb, s.id)).toBe('pending')

    // The default folder is the current one.
    await fs.writeFile(file, original)
    const ok = await sb.run(['approve', s.id, '--verify-local', '--expect', s.integrity, '--yes', '--otp', await approver.otp(), '--json', '--backend', sb.backend], { cwd: s.dir, env })
    expect(ok.code, ok.all).toBe(0)
    expect(parseJson<{ verified: unknown }>(ok.stdout).verified).toEqual({ expect: true, local: s.dir })
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBe(s.integrity)
  })
})
