/**
 * The hostile record corpus: an attacker with create rights writes a record straight into the backend,
 * next to a perfectly valid tarball that matches it (so if the record were believed, the release would
 * really publish). Each record is invalid in exactly one way and must be refused as ECORRUPT (or, for a
 * record too big to read, ETOOLARGE) by `view --json` and by `approve --yes --otp` with a real 2FA user,
 * skipped by `list --json`, with nothing published, nothing in the backend changed, and no raw control
 * character printed. A record that is a FIFO or a symlink is answered within 5 s. A record that claims a
 * release set which does not list it is ESETMISMATCH.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StagedRecord } from '../../src/core/record.js'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, sandbox, type Sandbox } from '../support/cli.js'
import { workspace } from '../support/workspace.js'
import { packageTgz } from '../support/tarball-builder.js'
import { ensureStore, publishedAmong, recordFor, reportedCodes, runInProcess, snapshotDir, unsafeCharIn, writeLocal } from '../support/hostile.js'
import { attack, expectListSurvives, expectRefused, type AttackResult, type HostileCase } from '../support/hostile-attack.js'
import { s3Battlefield, s3Enabled } from '../support/hostile-s3.js'

type Rec = StagedRecord & Record<string, unknown>

interface RecordCase {
  name: string
  expect: string | string[]
  /** The one thing wrong with the otherwise valid record. */
  edit?: (r: Rec) => unknown
  /** Or the record file's bytes, given the valid record's text. */
  text?: (valid: string) => string | Buffer
  /** Or what sits at records/<id>.json instead of a file. */
  place?: 'fifo' | 'passwd'
  /** The tarball's package.json says the same (so only the record's rules can refuse it). */
  pkg?: { name?: string; version?: string }
  s3?: boolean
}

/** What an attacker puts in a string to act on the approver's terminal or to lie on a line of its own. */
const PAYLOADS: Record<string, string> = {
  'ESC[2J': '\u001b[2J\u001b[Hrelease-bot',
  'OSC 0 title': '\u001b]0;approved by security-team\u0007release-bot',
  'OSC 8 link': '\u001b]8;;https://evil.example/\u001b\\release-bot\u001b]8;;\u001b\\',
  CR: 'mallory\rrelease-bot',
  'U+202E': 'release-bot\u202egpj.exe',
  newline: 'release-bot\nverified: yes (security-team)',
  NUL: 'release-bot\u0000mallory',
}

const now = () => new Date().toISOString()

/** Every free-text field of a record, each set the way it would be shown (rejected, approved and claimed records too). */
const FIELDS: Record<string, (r: Rec, v: string) => unknown> = {
  actor: (r, v) => ({ ...r, actor: v }),
  'git.branch': (r, v) => ({ ...r, git: { ...r.git, branch: v } }),
  'git.remote': (r, v) => ({ ...r, git: { ...r.git, remote: v } }),
  tag: (r, v) => ({ ...r, tag: v }),
  'ci.runUrl': (r, v) => ({ ...r, ci: { ...r.ci, runUrl: v } }),
  'ci.workflow': (r, v) => ({ ...r, ci: { ...r.ci, workflow: v } }),
  rejectReason: (r, v) => ({ ...r, state: 'rejected', rejectedAt: now(), rejectedBy: 'alice', rejectReason: v }),
  approvedBy: (r, v) => ({ ...r, state: 'approved', approvedAt: now(), approvedBy: v }),
  'claim.by': (r, v) => ({ ...r, state: 'approving', claim: { by: v, at: now() } }),
}

const BAD = 'ECORRUPT'

const CASES: RecordCase[] = [
  ...Object.entries(FIELDS).flatMap(([field, set]) =>
    Object.entries(PAYLOADS).map(([what, v]): RecordCase => ({
      name: `${field} with ${what}`,
      expect: BAD,
      edit: (r) => set(r, v),
      s3: (field === 'actor' && what === 'ESC[2J') || (field === 'tag' && what === 'U+202E') || (field === 'approvedBy' && what === 'OSC 8 link'),
    })),
  ),
  { name: 'ci.provider with ESC[2J', expect: BAD, edit: (r) => ({ ...r, ci: { ...r.ci, provider: PAYLOADS['ESC[2J'] } }) },
  { name: 'ci.ref with U+202E', expect: BAD, edit: (r) => ({ ...r, ci: { ...r.ci, ref: PAYLOADS['U+202E'] } }) },
  { name: 'rejectedBy with OSC 8 link', expect: BAD, edit: (r) => ({ ...r, state: 'rejected', rejectedAt: now(), rejectedBy: PAYLOADS['OSC 8 link'], rejectReason: 'no' }) },
  { name: 'git.commit not a hex digest', expect: BAD, edit: (r) => ({ ...r, git: { ...r.git, commit: 'HEAD\u001b[2J' } }) },

  { name: 'id not a UUID', expect: BAD, edit: (r) => ({ ...r, id: 'not-a-uuid' }) },
  { name: 'id differs from the file name', expect: BAD, edit: (r) => ({ ...r, id: randomUUID() }) },
  { name: 'version not semver (1.0)', expect: BAD, edit: (r) => ({ ...r, version: '1.0' }), pkg: { version: '1.0' } },
  { name: 'version with a newline', expect: BAD, edit: (r) => ({ ...r, version: '1.0.0\n' }), pkg: { version: '1.0.0\n' } },
  { name: 'package name ../x', expect: BAD, edit: (r) => ({ ...r, packageName: '../x' }), pkg: { name: '../x' } },
  { name: 'package name with a space', expect: BAD, edit: (r) => ({ ...r, packageName: `${r.packageName} x` }), pkg: { name: '{pkg} x' } },
  { name: 'package name with ESC', expect: BAD, edit: (r) => ({ ...r, packageName: `${r.packageName}\u001b[2J` }), pkg: { name: '{pkg}\u001b[2J' } },
  { name: 'tag that is a semver range', expect: BAD, s3: true, edit: (r) => ({ ...r, tag: '^1.0.0' }) },
  { name: 'registry http://user:pass@host/', expect: BAD, s3: true, edit: (r) => ({ ...r, registry: r.registry.replace('http://', 'http://user:pass@') }) },
  { name: 'registry http://host/?token=x', expect: BAD, edit: (r) => ({ ...r, registry: `${r.registry}?token=npm_secret` }) },
  { name: 'registry file:///etc', expect: BAD, edit: (r) => ({ ...r, registry: 'file:///etc/' }) },
  { name: 'registry javascript: URL', expect: BAD, edit: (r) => ({ ...r, registry: 'javascript:alert(1)' }) },
  { name: 'integrity not sha512 (a sha1 SRI)', expect: BAD, edit: (r) => ({ ...r, integrity: `sha1-${Buffer.from(r.shasum, 'hex').toString('base64')}` }) },
  { name: 'integrity sha512 of the wrong length', expect: BAD, edit: (r) => ({ ...r, integrity: 'sha512-AAAA' }) },
  { name: 'shasum not hex', expect: BAD, edit: (r) => ({ ...r, shasum: 'z'.repeat(40) }) },
  { name: 'size negative', expect: BAD, edit: (r) => ({ ...r, size: -1 }) },
  { name: 'size fractional', expect: BAD, edit: (r) => ({ ...r, size: 1.5 }) },
  { name: 'size huge (1e300)', expect: BAD, edit: (r) => ({ ...r, size: 1e300 }) },
  { name: 'size a string', expect: BAD, edit: (r) => ({ ...r, size: '100' }) },
  { name: 'unpackedSize negative', expect: BAD, edit: (r) => ({ ...r, unpackedSize: -5 }) },
  { name: 'fileCount fractional', expect: BAD, edit: (r) => ({ ...r, fileCount: 2.5 }) },
  { name: 'files with a ../ path', expect: BAD, edit: (r) => ({ ...r, files: [...(r.files ?? []), { path: '../../.ssh/id_rsa', size: 1, mode: 0o600 }] }) },
  { name: 'files with an ESC in a path', expect: BAD, edit: (r) => ({ ...r, files: [...(r.files ?? []), { path: 'a\u001b[2J.js', size: 1, mode: 0o644 }] }) },
  { name: 'bundled not an array', expect: BAD, edit: (r) => ({ ...r, bundled: 'left-pad' }) },
  { name: 'createdAt unparseable', expect: BAD, edit: (r) => ({ ...r, createdAt: 'yesterday' }) },
  { name: 'expiresAt unparseable (never expires)', expect: BAD, edit: (r) => ({ ...r, expiresAt: 'never' }) },
  { name: 'claim.at unparseable', expect: BAD, edit: (r) => ({ ...r, state: 'approving', claim: { by: 'alice', at: 'soon' } }) },
  { name: 'unknown state (with an ESC in it)', expect: BAD, edit: (r) => ({ ...r, state: 'published\u001b[31m' }) },
  { name: 'access not public/restricted', expect: BAD, edit: (r) => ({ ...r, access: 'secret' }) },
  { name: 'actorType unknown', expect: BAD, edit: (r) => ({ ...r, actorType: 'robot' }) },
  { name: 'setId not a UUID', expect: BAD, edit: (r) => ({ ...r, setId: '../../sets/x' }) },
  { name: 'setMembers with an ESC in a name', expect: BAD, edit: (r) => ({ ...r, setId: randomUUID(), setMembers: [{ name: `x\u001b[2J`, version: '1.0.0' }] }) },
  { name: 'schema 2', expect: BAD, edit: (r) => ({ ...r, schema: 2 }) },
  { name: 'not JSON', expect: BAD, s3: true, text: (t) => t.slice(0, -20) },
  { name: 'a JSON array', expect: BAD, text: (t) => `[${t}]` },
  { name: 'empty file', expect: BAD, text: () => '' },
  { name: 'a 20 MB record (over the 16 MiB a record may have)', expect: ['ETOOLARGE', 'ECORRUPT'], text: (t) => `${t.slice(0, -2)}${' '.repeat(20 << 20)}}\n` },
  { name: 'a symlink to /etc/passwd', expect: [BAD, 'ETOOLARGE', 'EBACKEND'], place: 'passwd' },
  { name: 'a FIFO', expect: [BAD, 'ETOOLARGE', 'EBACKEND'], place: 'fifo' },
]

let registry: TestRegistry
let sb: Sandbox
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`

interface Placed {
  c: RecordCase
  hostile: HostileCase
  id: string
  record: string | Buffer
  tarball: Buffer
}

function materialise(c: RecordCase, i: number): Placed {
  const pkg = `hostile-r${i}-${RUN}`
  const name = (c.pkg?.name ?? pkg).replace('{pkg}', pkg).replace('{PKG}', pkg.toUpperCase())
  const version = c.pkg?.version ?? '1.0.0'
  const tarball = packageTgz({ name, version })
  const valid = recordFor(tarball, { name, version }, registry.url) as Rec
  const text = `${JSON.stringify(valid, null, 2)}\n`
  const record = c.text ? c.text(text) : c.edit ? `${JSON.stringify(c.edit(valid), null, 2)}\n` : text
  return {
    c,
    id: valid.id,
    record,
    tarball,
    hostile: { name: c.name, expect: c.expect, id: valid.id, names: [name], ...(c.place && { spawned: { answerWithinMs: 5000 } }) },
  }
}

beforeAll(async () => {
  registry = await sharedRegistry()
  sb = await sandbox()
})

afterAll(async () => {
  await fs.rm(sb.dir, { recursive: true, force: true })
})

describe('hostile records in a local backend', () => {
  const inStore = CASES.filter((c) => !c.place)
  let placed: Placed[]
  let control: { id: string; name: string; integrity: string }
  let result: AttackResult

  beforeAll(async () => {
    const started = Date.now()
    placed = inStore.map(materialise)
    for (const p of placed) await writeLocal(sb.store, p.id, { record: p.record, tarball: p.tarball })
    // A valid release in the same store: list must still show it, and it must still approve.
    const name = `hostile-r-control-${RUN}`
    const bytes = packageTgz({ name, version: '1.0.0' })
    const valid = recordFor(bytes, { name, version: '1.0.0' }, registry.url)
    await writeLocal(sb.store, valid.id, { record: `${JSON.stringify(valid, null, 2)}\n`, tarball: bytes })
    control = { id: valid.id, name, integrity: valid.integrity as string }
    result = await attack(placed.map((p) => p.hostile), { registry, backend: sb.backend, snapshot: () => snapshotDir(sb.store), cwd: sb.dir, env: sb.env, dir: sb.dir })
    console.log(`hostile records (local): ${inStore.length} cases in ${Date.now() - started} ms`)
  }, 240_000)

  it('has at least 90 record cases, each with its own release id', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(90)
    expect(new Set(placed.map((p) => p.id)).size).toBe(placed.length)
  })

  it('list --json skips every hostile record, keeps the valid one, and prints nothing raw', () => {
    const ids = expectListSurvives(result).map((r) => r.id)
    expect(ids).toContain(control.id)
    for (const p of placed) expect(ids, p.c.name).not.toContain(p.id)
  })

  it.each(inStore.map((c) => [c.name, c] as const))('refuses: %s', (_name, c) => {
    expectRefused(placed.find((p) => p.c === c)?.hostile as HostileCase, result)
  })

  it('positive control: the valid release next to them is approved and published', async () => {
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'control-approver'), registry.url)
    const r = await runInProcess(['approve', control.id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { cwd: sb.dir, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code, r.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${control.name}@1.0.0`)).toBe(control.integrity)
  })
})

describe('records that are not files (each in a store of its own), answered within 5 s', () => {
  it.each(CASES.filter((c) => c.place).map((c) => [c.name, c] as const))('refuses: %s', async (_name, c) => {
    const own = await sandbox()
    try {
      const p = materialise(c, CASES.indexOf(c))
      await ensureStore(own.store)
      const file = path.join(own.store, 'records', `${p.id}.json`)
      if (c.place === 'fifo') execFileSync('mkfifo', ['-m', '600', file])
      else await fs.symlink('/etc/passwd', file)
      await writeLocal(own.store, p.id, { tarball: p.tarball })
      const result = await attack([p.hostile], { registry, backend: own.backend, snapshot: () => snapshotDir(own.store), cwd: own.dir, env: own.env, dir: own.dir, spawnList: true })
      expect(result.list.ms, 'list answered in').toBeLessThan(5000)
      expect(expectListSurvives(result).map((x) => x.id)).not.toContain(p.id)
      expectRefused(p.hostile, result)
    } finally {
      await fs.rm(own.dir, { recursive: true, force: true })
    }
  })
})

describe.skipIf(!s3Enabled)('hostile records in S3 (radosgw), a representative subset', () => {
  const subset = CASES.filter((c) => c.s3)
  let placed: Placed[]
  let result: AttackResult

  beforeAll(async () => {
    const field = await s3Battlefield(sb, registry)
    placed = subset.map((c) => materialise(c, CASES.indexOf(c) + 1000))
    for (const p of placed) await field.put(p.id, { record: p.record, tarball: p.tarball })
    result = await attack(placed.map((p) => p.hostile), field)
  }, 120_000)

  it('list --json skips them all, with clean output', () => {
    const ids = expectListSurvives(result).map((r) => r.id)
    for (const p of placed) expect(ids, p.c.name).not.toContain(p.id)
  })

  it.each(subset.map((c) => [c.name, c] as const))('refuses: %s', (_name, c) => {
    expectRefused(placed.find((p) => p.c === c)?.hostile as HostileCase, result)
  })
})

describe('a record that claims a release set which does not list it', () => {
  it('is ESETMISMATCH on its own and in the set, and is never published', async () => {
    const { sb: ws, root } = await workspace()
    const staged = await ws.run(['--workspaces', '--json', '--backend', ws.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const set = parseJson<{ setId: string; releases: Array<{ id: string }> }>(staged.stdout)
    const member = parseJson<StagedRecord>(await fs.readFile(path.join(ws.store, 'records', `${set.releases[0]?.id}.json`), 'utf8'))

    // The intruder: a valid package and a valid record, claiming the set and listing itself among its members.
    const name = `hostile-set-intruder-${RUN}`
    const bytes = packageTgz({ name, version: '1.0.0' })
    const intruder = recordFor(bytes, { name, version: '1.0.0' }, registry.url, {
      setId: set.setId,
      setMembers: [...(member.setMembers ?? []), { name, version: '1.0.0' }],
    })
    await writeLocal(ws.store, intruder.id, { record: `${JSON.stringify(intruder, null, 2)}\n`, tarball: bytes })
    const before = await snapshotDir(ws.store)

    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(ws.dir, 'approver'), registry.url)
    const env = { ...ws.env, NPM_CONFIG_USERCONFIG: npmrc }
    const alone = await runInProcess(['approve', intruder.id, '--yes', '--otp', approver.recoveryCodes[0] as string, '--backend', ws.backend], { cwd: ws.dir, env })
    expect(reportedCodes(alone), alone.all).toContain('ESETMISMATCH')
    expect(alone.code, alone.all).toBe(1)
    const view = await runInProcess(['view', intruder.id, '--json', '--backend', ws.backend], { cwd: ws.dir, env: ws.env })
    expect(reportedCodes(view), view.all).toContain('ESETMISMATCH')
    expect(await publishedAmong(registry, [name])).toEqual([])

    // The set is what its set object lists: approving it publishes exactly those members, never the intruder.
    const whole = await runInProcess(['approve', set.setId, '--yes', '--otp', approver.recoveryCodes[1] as string, '--json', '--backend', ws.backend], { cwd: ws.dir, env })
    // (One recovery code: Verdaccio refuses it for the second publish, so the run may stop there with EOTP.)
    const summary = JSON.parse(whole.stdout) as { order: Array<{ id: string }>; published: Array<{ id: string }> }
    expect(summary.order.map((m) => m.id).sort()).toEqual(set.releases.map((r) => r.id).sort())
    expect(summary.published.length).toBeGreaterThan(0)
    expect(whole.all).not.toContain(name)
    for (const r of [alone, view, whole]) expect(unsafeCharIn(r.all)).toBeNull()
    expect(await publishedAmong(registry, [name])).toEqual([])
    const after = await snapshotDir(ws.store)
    expect(after.get(`records/${intruder.id}.json`)).toBe(before.get(`records/${intruder.id}.json`))
    await fs.rm(ws.dir, { recursive: true, force: true })
  })
})
