/**
 * The one suite every StagingBackend must pass (local directory, S3, a registry's staging API): what
 * src/backends/types.ts promises, checked against the real thing. Each test gets a fresh, empty
 * backend from `make`.
 *
 * Record stores (`CasStagingBackend`) get all of it. A registry that stages natively
 * (`NativeStagingBackend`, options.native) gets what applies to it — staging, reading records and
 * bytes, ids checked before any I/O, paging and filtering lists — plus its own contract: it assigns
 * ids, refuses a second staging of a version, and approve/reject remove the item (one winner).
 * What does not apply, and why: compare-and-set and etags (it has no states: the registry arbitrates),
 * deleteTarball (rejecting deletes the item), staging "with the same id" (it assigns ids), corrupt
 * records (nothing can put one there), and record equality (it keeps only npm's fields).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CasStagingBackend, StagingBackend, Versioned } from '../../src/backends/types.js'
import type { StagedRecord } from '../../src/core/record.js'
import { MAX_SET_BYTES, newSetObject, type SetObject } from '../../src/core/release-set.js'
import { pendingRecord } from './record-factory.mjs'

export interface ContractSubject {
  backend: StagingBackend
  cleanup(): Promise<void>
  /**
   * Puts bytes that are not a record where the record with this id lives (a hand-edited or damaged
   * backend). Without it the corrupt-record test is skipped.
   */
  corruptRecord?(id: string, text: string): Promise<void>
  /** Puts bytes where the release set object with this id lives. Without it the corrupt-set test is skipped. */
  corruptSet?(setId: string, text: string): Promise<void>
  /** Real package tarballs, for backends that read what they stage (a registry). Default: random bytes. */
  tarball?(name: string, version: string): Promise<Buffer>
  /** Pending markers (src/backends/pending-markers.ts), for a store declared with `markers: true`. */
  markers?: MarkerHooks
}

/** The tests' own hand on a store's pending markers: what a crash or an attacker with CI rights leaves. */
export interface MarkerHooks {
  /** Puts the marker of (name, id) now, as create-if-absent would, whether or not a record exists. */
  plant(name: string, id: string): Promise<void>
  /** Removes the marker of (name, id), as a crash before it was written would have left the store. */
  remove(name: string, id: string): Promise<void>
  /** The markers stored now, as `<name> <id>` strings, sorted. */
  list(): Promise<string[]>
  /** Makes the store look written by a version without markers: every marker and the layout object gone. */
  makeLegacy(): Promise<void>
  /** Another handle on the same store: its clock `aheadMs` ahead, trusting at most `maxMarkers` markers. */
  reopen(options: { aheadMs?: number; maxMarkers?: number }): CasStagingBackend
}

export interface ContractOptions {
  /** Records for the paging test: more than one page of the backend's listing. Default 260. */
  manyRecords?: number
  /** The backend is a registry's own staging API (a NativeStagingBackend). */
  native?: boolean
  /** The store keeps pending markers; its subject has `markers` (S3, memory). */
  markers?: boolean
}

/** Bytes that stand in for a tarball: random, so every release differs. */
export const fakeTarball = (size = 512): Buffer => randomBytes(size)

/** A valid pending record for `bytes` with git and CI origin and two files; `overrides` win. */
export const makeRecord = (bytes: Uint8Array, overrides: Partial<StagedRecord> = {}): StagedRecord =>
  pendingRecord(bytes, {
    packageName: 'contract-pkg',
    unpackedSize: 120 + bytes.byteLength * 3,
    fileCount: 2,
    files: [
      { path: 'package.json', size: 120, mode: 0o644 },
      { path: 'index.js', size: bytes.byteLength * 3, mode: 0o644 },
    ],
    git: { commit: 'a'.repeat(40), branch: 'main', dirty: false },
    ci: { provider: 'github-actions', runUrl: 'https://github.com/acme/lib/actions/runs/1' },
    ...overrides,
  })

/** A valid set object of `size` members (fresh ids, names and integrities). */
export function makeSet(size = 3, setId: string = randomUUID()): SetObject {
  return newSetObject(
    setId,
    new Date(),
    Array.from({ length: size }, (_, i) => ({ id: randomUUID(), packageName: `@contract/member-${i}`, version: `1.${i}.0`, integrity: `sha512-${createHash('sha512').update(randomBytes(16)).digest('base64')}` })),
  )
}

/** A record and its bytes, staged; fails the test if the backend did not create it. */
export async function stage(backend: StagingBackend, overrides: Partial<StagedRecord> = {}, bytes = fakeTarball()) {
  const record = makeRecord(bytes, overrides)
  const res = await backend.createRelease(record, bytes)
  if (!res.created) throw new Error(`createRelease refused ${record.id}: ${res.reason}`)
  return { record, bytes, etag: res.etag }
}

/** Runs fn over items, `limit` at a time (staging hundreds of records one by one is slow on S3). */
export async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i] as T, i)
      }
    }),
  )
  return out
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: unknown) => (err as { code?: string }).code)
/** Like codeOf, but a function that throws instead of returning a rejected promise is a failure of its own. */
const codeOfCall = (fn: () => Promise<unknown>) => {
  try {
    return codeOf(fn())
  } catch (err) {
    return Promise.resolve(`threw synchronously instead of rejecting: ${(err as { code?: string }).code}`)
  }
}

export function describeBackendContract(name: string, make: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const many = options.manyRecords ?? 260

  const native = Boolean(options.native)
  describe(`StagingBackend contract: ${name}`, () => {
    let subject: ContractSubject
    let backend: StagingBackend
    /** The same backend, typed as a record store: only in tests that skip native backends. */
    let cas: CasStagingBackend
    beforeEach(async () => {
      subject = await make()
      backend = subject.backend
      cas = backend as CasStagingBackend
      expect(Boolean(backend.native)).toBe(native)
    })
    afterEach(async () => {
      await subject?.cleanup()
    })
    /** Stages a release as this backend needs it (real tarballs where asked for); returns the id it got. */
    const stageIn = async (overrides: Partial<StagedRecord> = {}, size = 512) => {
      const pkg = overrides.packageName ?? 'contract-pkg'
      const version = overrides.version ?? '1.0.0'
      const bytes = subject.tarball ? await subject.tarball(pkg, version) : fakeTarball(size)
      const record = makeRecord(bytes, overrides)
      const res = await backend.createRelease(record, bytes)
      if (!res.created) throw new Error(`createRelease refused ${record.id}: ${res.reason}`)
      return { record, bytes, etag: res.etag, id: res.id }
    }
    // Cases that cannot apply to a kind of backend are not declared for it (rather than reported as skipped).
    const notDeclared = (() => undefined) as unknown as typeof it
    const casOnly = native ? notDeclared : it
    const nativeOnly = native ? it : notDeclared
    const withMarkers = options.markers ? it : notDeclared
    const hooks = () => subject.markers as MarkerHooks
    const idsOf = (list: Versioned[]) => list.map((v) => v.record.id)
    /** A first waiting listing: on a new S3 prefix it writes the layout object, after which markers are trusted. */
    const settle = () => cas.listRecords({ waiting: true })
    /** Moves a record by compare-and-set, failing the test when it does not move. */
    const decide = async (v: { record: StagedRecord; etag: string }, state: StagedRecord['state']) => {
      const res = await cas.updateRecord({ ...v.record, state, ...(state === 'approving' && { claim: { by: 'alice', at: new Date().toISOString() } }) }, v.etag)
      if (!res.updated) throw new Error(`updateRecord refused ${v.record.id}: ${res.reason}`)
      return { record: { ...v.record, state }, etag: res.etag }
    }

    it('describes itself without credentials', () => {
      expect(backend.kind).toMatch(/\S/)
      expect(backend.location).toMatch(/\S/)
      expect(backend.location).not.toMatch(/secret|:[^/@]*@/i)
    })

    nativeOnly('stages a release under an id it assigns: the record carries npm\'s fields, the bytes are identical', async () => {
      const { record, bytes, id } = await stageIn({ packageName: 'contract-pkg', version: '1.0.0', tag: 'next' })
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      expect(id).not.toBe(record.id)
      const got = await backend.getRecord(id)
      expect(got?.record).toMatchObject({ id, packageName: 'contract-pkg', version: '1.0.0', tag: 'next', shasum: record.shasum, state: 'pending' })
      expect(got?.record.integrity).toBeUndefined()
      expect(Buffer.compare(await backend.getTarball(id), bytes)).toBe(0)
      expect((await backend.listIds())).toEqual([id])
    })

    nativeOnly('refuses to stage a version twice, and keeps the first', async () => {
      const first = await stageIn({ version: '1.0.0' })
      const again = await codeOf(stageIn({ version: '1.0.0' }))
      expect(again).toBe('EALREADYSTAGED')
      expect(await backend.listIds()).toEqual([first.id])
      expect(Buffer.compare(await backend.getTarball(first.id), first.bytes)).toBe(0)
    })

    nativeOnly('approves natively: the item is gone, and a second approval (or a reject) finds nothing', async () => {
      const { id } = await stageIn({ version: '1.0.0' })
      const other = await stageIn({ version: '2.0.0' })
      const auth = { authType: 'legacy' as const }
      const results = await Promise.all([backend.native?.approve(id, auth), backend.native?.approve(id, auth)])
      expect(results.filter((r) => r?.ok)).toHaveLength(1)
      expect(results.filter((r) => !r?.ok).map((r) => (r && !r.ok ? r.reason : '')).every((reason) => reason === 'gone' || reason === 'exists')).toBe(true)
      expect(await backend.getRecord(id)).toBeNull()
      expect(await codeOf(backend.getTarball(id))).toBe('ENOTFOUND')
      expect(await backend.native?.reject(id, auth)).toMatchObject({ ok: false, reason: 'gone' })
      expect(await backend.native?.reject(other.id, auth)).toEqual({ ok: true })
      expect(await backend.listIds()).toEqual([])
    })

    casOnly('round-trips a release: record, etag and identical bytes', async () => {
      const bytes = fakeTarball(64 * 1024 + 7)
      const record = makeRecord(bytes)
      const res = await backend.createRelease(record, bytes)
      expect(res).toMatchObject({ created: true, id: record.id })
      const got = await backend.getRecord(record.id)
      expect(got?.record).toEqual(record)
      expect(got?.etag).toBe(res.created ? res.etag : 'n/a')
      const tarball = await backend.getTarball(record.id)
      expect(Buffer.isBuffer(tarball)).toBe(true)
      expect(Buffer.compare(tarball, bytes)).toBe(0)
    })

    casOnly('creates a record only once: a second staging with the same id changes nothing', async () => {
      const first = await stage(backend, { version: '1.0.0' })
      const otherBytes = fakeTarball(300)
      const again = await backend.createRelease(makeRecord(otherBytes, { id: first.record.id, version: '9.9.9' }), otherBytes)
      expect(again).toEqual({ created: false, reason: 'exists' })
      expect((await backend.getRecord(first.record.id))?.record).toEqual(first.record)
      expect((await backend.getRecord(first.record.id))?.etag).toBe(first.etag)
      expect(Buffer.compare(await backend.getTarball(first.record.id), first.bytes)).toBe(0)
    })

    it('returns null for an unknown record and ENOTFOUND for unknown bytes', async () => {
      await stageIn()
      expect(await backend.getRecord(randomUUID())).toBeNull()
      expect(await codeOf(backend.getTarball(randomUUID()))).toBe('ENOTFOUND')
    })

    it('refuses ids that are not UUIDs before any I/O, as a rejected promise', async () => {
      expect(await codeOfCall(() => backend.getRecord('../../etc/passwd'))).toBe('EINVALIDID')
      expect(await codeOfCall(() => backend.getTarball('x/../y'))).toBe('EINVALIDID')
      if (backend.native) {
        const native = backend.native
        expect(await codeOfCall(() => native.approve('../x', { authType: 'legacy' }))).toBe('EINVALIDID')
        expect(await codeOfCall(() => native.reject('x?y', { authType: 'legacy' }))).toBe('EINVALIDID')
        return
      }
      expect(await codeOfCall(() => cas.deleteTarball('../records/x'))).toBe('EINVALIDID')
      const bytes = fakeTarball()
      expect(await codeOfCall(() => backend.createRelease(makeRecord(bytes, { id: '../../x' }), bytes))).toBe('EINVALIDID')
      expect(await codeOfCall(() => cas.updateRecord(makeRecord(bytes, { id: '../../x' }), 'etag'))).toBe('EINVALIDID')
    })

    casOnly('updates by compare-and-set: the current etag wins and yields a new one, a stale one conflicts', async () => {
      const { record, etag } = await stage(backend)
      const rejected: StagedRecord = { ...record, state: 'rejected', rejectedAt: new Date().toISOString(), rejectedBy: 'alice' }
      const first = await cas.updateRecord(rejected, etag)
      expect(first.updated).toBe(true)
      const newEtag = first.updated ? first.etag : ''
      expect(newEtag).not.toBe(etag)
      const now = await backend.getRecord(record.id)
      expect(now).toEqual({ record: rejected, etag: newEtag })

      const stale = await cas.updateRecord({ ...record, state: 'approved', approvedBy: 'mallory' }, etag)
      expect(stale).toEqual({ updated: false, reason: 'conflict' })
      expect((await backend.getRecord(record.id))?.record).toEqual(rejected)
    })

    casOnly('reports an update of a record that does not exist as missing', async () => {
      const { etag } = await stage(backend)
      const ghost = makeRecord(fakeTarball())
      expect(await cas.updateRecord(ghost, etag)).toEqual({ updated: false, reason: 'missing' })
      expect(await backend.getRecord(ghost.id)).toBeNull()
    })

    casOnly('lets exactly one of 8 concurrent claims from the same etag win', async () => {
      const { record, etag } = await stage(backend)
      const at = new Date().toISOString()
      const claims = Array.from({ length: 8 }, (_, i): StagedRecord => ({ ...record, state: 'approving', claim: { by: `approver-${i}`, at } }))
      const results = await Promise.all(claims.map((c) => cas.updateRecord(c, etag)))
      const winners = results.flatMap((r, i) => (r.updated ? [i] : []))
      expect(winners).toHaveLength(1)
      for (const r of results) if (!r.updated) expect(r).toEqual({ updated: false, reason: 'conflict' })
      const stored = await backend.getRecord(record.id)
      expect(stored?.record.claim?.by).toBe(`approver-${winners[0]}`)
      expect(stored?.etag).toBe((results[winners[0] as number] as { etag: string }).etag)
    })

    it(`lists ${many} records across pages, newest first, filtered by package`, { timeout: 180_000 }, async () => {
      const base = Date.parse('2026-01-01T00:00:00Z')
      // Staged in a shuffled order, so "newest first" cannot come from insertion order (a registry
      // assigns createdAt itself: there it is the staging order, one at a time).
      const order = Array.from({ length: many }, (_, i) => i).sort(() => Math.random() - 0.5)
      const staged = await inBatches(order, native ? 1 : 16, (i) =>
        stageIn({ packageName: i % 3 === 0 ? 'pkg-b' : 'pkg-a', version: `1.0.${i}`, createdAt: new Date(base + i * 1000).toISOString() }, 32),
      )
      const ids = await backend.listIds()
      expect(ids).toHaveLength(many)
      expect(new Set(ids)).toEqual(new Set(staged.map((s) => s.id)))

      const all = await backend.listRecords()
      expect(all).toHaveLength(many)
      const times = all.map((v) => Date.parse(v.record.createdAt))
      expect(times).toEqual([...times].sort((a, b) => b - a))
      const byId = new Map(staged.map((s) => [s.id, s]))
      for (const v of all) {
        const s = byId.get(v.record.id)
        if (native) expect(v.record).toMatchObject({ packageName: s?.record.packageName, version: s?.record.version, shasum: s?.record.shasum })
        else expect(v).toEqual({ record: s?.record, etag: s?.etag })
      }

      const onlyB = await backend.listRecords({ packageName: 'pkg-b' })
      expect(onlyB.map((v) => v.record.id)).toEqual(all.filter((v) => v.record.packageName === 'pkg-b').map((v) => v.record.id))
      expect(onlyB).toHaveLength(Math.ceil(many / 3))
      expect(await backend.listRecords({ packageName: 'pkg-none' })).toEqual([])

      // Every one is waiting: the waiting listing pages through all of them too (S3: markers across pages).
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual(idsOf(all))
      // An etag from a listing is a real version: it can be used for compare-and-set.
      if (native) return
      const newest = all[0] as Versioned
      expect((await cas.updateRecord({ ...newest.record, state: 'rejected' }, newest.etag)).updated).toBe(true)
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual(idsOf(all).slice(1))
      expect(idsOf(await backend.listRecords({ waiting: true, packageName: 'pkg-b' }))).toEqual(idsOf(onlyB).filter((id) => id !== newest.record.id))
      expect(await backend.listRecords()).toHaveLength(many)
    })

    casOnly('lists only waiting records with `waiting` (pending, approving, expired), of exactly one package by name', async () => {
      const t = (s: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + s * 1000).toISOString()
      const a1 = await stage(backend, { packageName: 'pkg', createdAt: t(1) })
      const a2 = await stage(backend, { packageName: 'pkg', version: '2.0.0', createdAt: t(2) })
      const a3 = await stage(backend, { packageName: 'pkg', version: '3.0.0', createdAt: t(3), expiresAt: t(4) })
      const b1 = await stage(backend, { packageName: 'pkg-b', createdAt: t(5) })
      const s1 = await stage(backend, { packageName: '@scope/pkg', createdAt: t(6) })
      const s2 = await stage(backend, { packageName: '@scope/pkg-b', createdAt: t(7) })
      await decide(a1, 'approved')
      await decide(b1, 'rejected')
      await decide(a2, 'approving')
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([s2, s1, a3, a2].map((v) => v.record.id))
      // A name is not a prefix: pkg is not pkg-b, @scope/pkg is not @scope/pkg-b.
      expect(idsOf(await backend.listRecords({ waiting: true, packageName: 'pkg' }))).toEqual([a3, a2].map((v) => v.record.id))
      expect(idsOf(await backend.listRecords({ waiting: true, packageName: '@scope/pkg' }))).toEqual([s1.record.id])
      expect(await backend.listRecords({ waiting: true, packageName: 'pkg-b' })).toEqual([])
      expect(await backend.listRecords({ waiting: true, packageName: '@scope' })).toEqual([])
      // Without `waiting`: the whole history, as before.
      expect(idsOf(await backend.listRecords())).toEqual([s2, s1, b1, a3, a2, a1].map((v) => v.record.id))
      expect(idsOf(await backend.listRecords({ packageName: 'pkg' }))).toEqual([a3, a2, a1].map((v) => v.record.id))
      // What is listed is the record as stored now, with an etag that wins a compare-and-set.
      const claimed = (await backend.listRecords({ waiting: true, packageName: 'pkg' }))[1] as Versioned
      expect(claimed.record.state).toBe('approving')
      expect((await cas.updateRecord({ ...claimed.record, state: 'pending' }, claimed.etag)).updated).toBe(true)
    })

    casOnly('lists exactly the waiting releases while others stage and decide at the same time', { timeout: 120_000 }, async () => {
      const made = await inBatches(Array.from({ length: 24 }, (_, i) => i), 8, async (i) => {
        const v = await stage(backend, { packageName: `race-${i % 3}`, version: `1.0.${i}` })
        // Every third one decided as soon as it exists, while the others are still staging.
        if (i % 3 === 0) await decide(v, i % 2 ? 'rejected' : 'approved')
        else if (i % 3 === 1) await decide(v, 'approving')
        return v
      })
      const expected = made.filter((_, i) => i % 3 !== 0).map((v) => v.record.id).sort()
      const listings = await Promise.all([backend.listRecords({ waiting: true }), backend.listRecords({ waiting: true })])
      for (const l of listings) expect(idsOf(l).sort()).toEqual(expected)
      expect(idsOf(await backend.listRecords({ waiting: true, packageName: 'race-1' })).sort()).toEqual(made.filter((_, i) => i % 3 === 1).map((v) => v.record.id).sort())
    })

    withMarkers('writes a marker with the record, keeps it while approving, removes it once decided', async () => {
      const a = await stage(backend, { packageName: '@acme/lib' })
      const b = await stage(backend, { packageName: 'other' })
      expect(await hooks().list()).toEqual([`@acme/lib ${a.record.id}`, `other ${b.record.id}`])
      const claimed = await decide(a, 'approving')
      expect(await hooks().list()).toEqual([`@acme/lib ${a.record.id}`, `other ${b.record.id}`])
      await decide(claimed, 'approved')
      await decide(b, 'rejected')
      expect(await hooks().list()).toEqual([])
      expect(await backend.listRecords({ waiting: true })).toEqual([])
    })

    withMarkers('crash after the marker, before the record: nothing is listed; the marker is kept while young, removed once old', async () => {
      await settle()
      const id = randomUUID()
      await hooks().plant('lib', id)
      expect(await backend.listRecords({ waiting: true })).toEqual([])
      expect(await hooks().list()).toEqual([`lib ${id}`])
      // An hour later the staging is surely dead: the next listing removes its marker.
      expect(await hooks().reopen({ aheadMs: 2 * 60 * 60 * 1000 }).listRecords({ waiting: true })).toEqual([])
      expect(await hooks().list()).toEqual([])
      // A record that then appears (a staging that stalled for an hour) still gets its marker from its own staging.
      const late = await stage(backend, { id, packageName: 'lib' })
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([late.record.id])
    })

    withMarkers('crash after the decision, before the marker is removed: not listed, and the next listing removes the marker', async () => {
      await settle()
      const v = await stage(backend, { packageName: 'lib' })
      const kept = await stage(backend, { packageName: 'lib', version: '2.0.0' })
      await decide(v, 'approved')
      await hooks().plant('lib', v.record.id)
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([kept.record.id])
      expect(await hooks().list()).toEqual([`lib ${kept.record.id}`])
    })

    withMarkers('a planted marker proves nothing: only the record says what is waiting, and of which package', async () => {
      await settle()
      const real = await stage(backend, { packageName: 'good' })
      const decided = await decide(await stage(backend, { packageName: 'good', version: '2.0.0' }), 'rejected')
      const missing = randomUUID()
      await hooks().plant('evil', real.record.id)
      await hooks().plant('good', decided.record.id)
      await hooks().plant('good', missing)
      // Under the name it claims, a marker for another package's record lists nothing, and is removed.
      expect(await backend.listRecords({ waiting: true, packageName: 'evil' })).toEqual([])
      expect(await hooks().list()).toEqual([`good ${decided.record.id}`, `good ${missing}`, `good ${real.record.id}`].sort())
      await hooks().plant('evil', real.record.id)
      const listed = await backend.listRecords({ waiting: true })
      expect(listed).toEqual([{ record: real.record, etag: real.etag }])
      // Only the young marker without a record stays (a staging may be writing it), besides the real one.
      expect(await hooks().list()).toEqual([`good ${missing}`, `good ${real.record.id}`].sort())
    })

    withMarkers('a record found only through another package\'s marker gets its own', async () => {
      await settle()
      const v = await stage(backend, { packageName: 'good' })
      await hooks().remove('good', v.record.id)
      await hooks().plant('evil', v.record.id)
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([v.record.id])
      expect(await hooks().list()).toEqual([`good ${v.record.id}`])
    })

    withMarkers('reads a store from before markers: every record once, then gives the waiting ones their markers', async () => {
      const old = await stage(backend, { packageName: 'lib', createdAt: '2026-01-01T00:00:00.000Z' })
      const newer = await stage(backend, { packageName: 'lib', version: '2.0.0', createdAt: '2026-01-02T00:00:00.000Z' })
      const other = await stage(backend, { packageName: 'other', createdAt: '2026-01-03T00:00:00.000Z' })
      await decide(old, 'approved')
      await hooks().makeLegacy()
      expect(await hooks().list()).toEqual([])
      expect(idsOf(await backend.listRecords({ waiting: true, packageName: 'lib' }))).toEqual([newer.record.id])
      expect(await hooks().list()).toEqual([`lib ${newer.record.id}`, `other ${other.record.id}`])
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([other.record.id, newer.record.id])
      // From now on the markers are trusted and no other record is read: one staged without a marker
      // (by an older version, after the migration) is seen only by a listing of the whole history.
      await hooks().remove('lib', newer.record.id)
      expect(idsOf(await backend.listRecords({ waiting: true }))).toEqual([other.record.id])
      expect(idsOf(await backend.listRecords())).toEqual([other.record.id, newer.record.id, old.record.id])
    })

    withMarkers('a flood of markers is bounded: past the limit they are not used, every record is read instead, and it says so', async () => {
      const real = await stage(backend, { packageName: 'lib' })
      await inBatches(Array.from({ length: 8 }, () => randomUUID()), 8, (id) => hooks().plant('lib', id))
      const notices: string[] = []
      const limited = hooks().reopen({ maxMarkers: 5 })
      expect(idsOf(await limited.listRecords({ waiting: true, onNotice: (m) => notices.push(m) }))).toEqual([real.record.id])
      expect(notices).toHaveLength(1)
      expect(notices[0]).toMatch(/more than 5 pending markers/)
      expect(idsOf(await limited.listRecords({ waiting: true, packageName: 'lib' }))).toEqual([real.record.id])
      // Under the limit, the markers are used again.
      const lenient = hooks().reopen({ maxMarkers: 50 })
      const quiet: string[] = []
      expect(idsOf(await lenient.listRecords({ waiting: true, onNotice: (m) => quiet.push(m) }))).toEqual([real.record.id])
      expect(quiet).toEqual([])
    })

    it('lists nothing when nothing was staged', async () => {
      expect(await backend.listIds()).toEqual([])
      expect(await backend.listRecords()).toEqual([])
    })

    casOnly('reports a corrupt record through onCorrupt, skips it in lists, and getRecord throws ECORRUPT', async (ctx) => {
      if (!subject.corruptRecord) return ctx.skip()
      const good = await stage(backend, { createdAt: '2026-02-01T00:00:00.000Z' })
      const older = await stage(backend, { createdAt: '2026-01-01T00:00:00.000Z' })
      const bad = await stage(backend)
      await subject.corruptRecord(bad.record.id, '{"schema": 1, "id": "not a record"')
      const corrupt: Array<[string, Error]> = []
      const listed = await backend.listRecords({ onCorrupt: (id, err) => corrupt.push([id, err]) })
      expect(listed.map((v) => v.record.id)).toEqual([good.record.id, older.record.id])
      expect(corrupt.map(([id]) => id)).toEqual([bad.record.id])
      expect((corrupt[0]?.[1] as { code?: string }).code).toBe('ECORRUPT')
      expect(await codeOf(backend.getRecord(bad.record.id))).toBe('ECORRUPT')
      // The corrupt record's bytes are still there, untouched: nothing acts on a record it cannot read.
      expect(Buffer.compare(await backend.getTarball(bad.record.id), bad.bytes)).toBe(0)
    })

    casOnly('keeps a provenance bundle next to the bytes, readable by id; none is null', async () => {
      const bytes = fakeTarball()
      const bundle = Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', n: randomUUID() }))
      const record = makeRecord(bytes, { provenance: { integrity: `sha512-${createHash('sha512').update(bundle).digest('base64')}`, size: bundle.length } })
      expect((await backend.createRelease(record, bytes, undefined, bundle)).created).toBe(true)
      expect(Buffer.compare((await cas.getProvenance(record.id)) ?? Buffer.alloc(0), bundle)).toBe(0)
      expect((await backend.getRecord(record.id))?.record.provenance).toEqual(record.provenance)
      const plain = await stage(backend)
      expect(await cas.getProvenance(plain.record.id)).toBeNull()
      expect(await cas.getProvenance(randomUUID())).toBeNull()
      expect(await codeOf(cas.getProvenance('../records/x'))).toBe('EINVALIDID')
      // A second staging with the same id but another bundle changes nothing.
      const other = Buffer.from('{"other":true}')
      expect(await backend.createRelease(record, bytes, undefined, other)).toEqual({ created: false, reason: 'exists' })
      expect(Buffer.compare((await cas.getProvenance(record.id)) ?? Buffer.alloc(0), bundle)).toBe(0)
    })

    casOnly('deletes bytes (twice is fine) and keeps the record', async () => {
      const { record } = await stage(backend)
      await cas.deleteTarball(record.id)
      expect(await codeOf(backend.getTarball(record.id))).toBe('ENOTFOUND')
      await cas.deleteTarball(record.id)
      await cas.deleteTarball(randomUUID())
      expect((await backend.getRecord(record.id))?.record).toEqual(record)
    })

    casOnly('creates a release set once: a second create with its id reports exists and changes nothing', async () => {
      const set = makeSet(3)
      expect(await cas.createSet(set)).toEqual({ created: true })
      expect(await cas.getSet(set.setId)).toEqual(set)
      const other = makeSet(2, set.setId)
      expect(await cas.createSet(other)).toEqual({ created: false, reason: 'exists' })
      expect(await cas.getSet(set.setId)).toEqual(set)
      expect(await cas.listSetIds()).toEqual([set.setId])
    })

    casOnly('lets exactly one of 8 concurrent creates of one set win', async () => {
      const setId = randomUUID()
      const sets = Array.from({ length: 8 }, () => makeSet(2, setId))
      const results = await Promise.all(sets.map((s) => cas.createSet(s)))
      const winners = results.flatMap((r, i) => (r.created ? [i] : []))
      expect(winners).toHaveLength(1)
      for (const r of results) if (!r.created) expect(r).toEqual({ created: false, reason: 'exists' })
      expect(await cas.getSet(setId)).toEqual(sets[winners[0] as number])
    })

    casOnly('returns null for an unknown set; lists set ids across pages, apart from records', async () => {
      expect(await cas.listSetIds()).toEqual([])
      expect(await cas.getSet(randomUUID())).toBeNull()
      const { record } = await stage(backend, { setId: randomUUID() })
      const sets = await inBatches(Array.from({ length: 60 }, () => makeSet(2)), 16, async (set) => {
        expect(await cas.createSet(set)).toEqual({ created: true })
        return set.setId
      })
      expect((await cas.listSetIds()).sort()).toEqual([...sets].sort())
      expect(await backend.listIds()).toEqual([record.id])
      expect(await cas.getSet(record.id)).toBeNull()
    })

    casOnly('refuses set ids that are not UUIDs before any I/O, as a rejected promise', async () => {
      expect(await codeOfCall(() => cas.getSet('../records/x'))).toBe('EINVALIDID')
      expect(await codeOfCall(() => cas.createSet({ ...makeSet(2), setId: '../../x' }))).toBe('EINVALIDID')
    })

    casOnly('reports a corrupt set object as ECORRUPT and a huge one as ETOOLARGE', async (ctx) => {
      if (!subject.corruptSet) return ctx.skip()
      const set = makeSet(2)
      await subject.corruptSet(set.setId, '{"schema": 1, "setId": "not a set"')
      expect(await codeOf(cas.getSet(set.setId))).toBe('ECORRUPT')
      const listsAnother = makeSet(2)
      await subject.corruptSet(set.setId, JSON.stringify(listsAnother))
      expect(await codeOf(cas.getSet(set.setId))).toBe('ECORRUPT')
      await subject.corruptSet(set.setId, ' '.repeat(MAX_SET_BYTES + 1))
      expect(await codeOf(cas.getSet(set.setId))).toBe('ETOOLARGE')
    })

    casOnly('does not bring bytes back when a rejected release is staged again with its id', async () => {
      const { record } = await stage(backend)
      await cas.deleteTarball(record.id)
      const bytes = fakeTarball()
      expect(await backend.createRelease(makeRecord(bytes, { id: record.id }), bytes)).toEqual({ created: false, reason: 'exists' })
      expect(await codeOf(backend.getTarball(record.id))).toBe('ENOTFOUND')
    })

    casOnly('removes a record that does not parse: its bytes summarised unparsed, deleted, an audit entry created once', async (ctx) => {
      if (!subject.corruptRecord) return ctx.skip()
      const { record } = await stage(backend)
      const text = '{"schema": 1, "id": "not a record"'
      await subject.corruptRecord(record.id, text)
      expect(await cas.inspectRecord(record.id)).toEqual({ sha256: createHash('sha256').update(text).digest('hex'), size: Buffer.byteLength(text) })
      const name = `${record.id}-2026-12-02T14-00-00-000Z`
      expect(await cas.createAudit(name, '{"who": "me"}\n')).toBe(true)
      expect(await cas.createAudit(name, '{"who": "someone else"}\n')).toBe(false)
      expect(await codeOf(cas.createAudit('../records/x', '{}'))).toBe('EINVALIDID')
      await cas.deleteRecord(record.id)
      expect(await backend.getRecord(record.id)).toBeNull()
      expect(await cas.inspectRecord(record.id)).toBeNull()
      await cas.deleteRecord(record.id)
      expect(await codeOf(cas.deleteRecord('../x'))).toBe('EINVALIDID')
    })

    // ---- name@version reservations (record stores; a registry refuses a second staging itself) ----

    casOnly('reserves a name@version once: a second reservation is taken, and reading it names the first id', async () => {
      const [first, second] = [randomUUID(), randomUUID()]
      expect(await cas.getReservation('@acme/lib', '1.0.0')).toBeNull()
      expect(await cas.reserveVersion('@acme/lib', '1.0.0', first)).toEqual({ reserved: true })
      expect(await cas.reserveVersion('@acme/lib', '1.0.0', second)).toEqual({ reserved: false, reason: 'taken' })
      expect(await cas.getReservation('@acme/lib', '1.0.0')).toMatchObject({ id: first, etag: expect.stringMatching(/\S/) })
      // Other versions, and names that differ only in how they would be escaped, are other reservations.
      expect(await cas.reserveVersion('@acme/lib', '1.0.1', second)).toEqual({ reserved: true })
      expect(await cas.reserveVersion('@acme%2Flib', '1.0.0', second)).toEqual({ reserved: true })
      expect(await cas.reserveVersion('..', '1.0.0', second)).toEqual({ reserved: true })
      expect((await cas.getReservation('@acme/lib', '1.0.0'))?.id).toBe(first)
    })

    casOnly('lets exactly one of 8 concurrent reservations of a version win', async () => {
      const ids = Array.from({ length: 8 }, () => randomUUID())
      const results = await Promise.all(ids.map((id) => cas.reserveVersion('race-pkg', '2.0.0', id)))
      expect(results.filter((r) => r.reserved)).toHaveLength(1)
      expect((await cas.getReservation('race-pkg', '2.0.0'))?.id).toBe(ids[results.findIndex((r) => r.reserved)])
    })

    casOnly('replaces a reservation by compare-and-set: the etag read wins once, a stale one is taken', async () => {
      const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()]
      await cas.reserveVersion('cas-pkg', '1.0.0', first)
      const held = await cas.getReservation('cas-pkg', '1.0.0')
      expect(await cas.reserveVersion('cas-pkg', '1.0.0', second, held?.etag)).toEqual({ reserved: true })
      expect(await cas.reserveVersion('cas-pkg', '1.0.0', third, held?.etag)).toEqual({ reserved: false, reason: 'taken' })
      expect((await cas.getReservation('cas-pkg', '1.0.0'))?.id).toBe(second)
    })

    casOnly('releases a reservation only for the id it names', async () => {
      const [first, other] = [randomUUID(), randomUUID()]
      await cas.reserveVersion('free-pkg', '1.0.0', first)
      await cas.releaseVersion('free-pkg', '1.0.0', other)
      expect((await cas.getReservation('free-pkg', '1.0.0'))?.id).toBe(first)
      await cas.releaseVersion('free-pkg', '1.0.0', first)
      expect(await cas.getReservation('free-pkg', '1.0.0')).toBeNull()
      await cas.releaseVersion('free-pkg', '1.0.0', first)
      expect(await cas.reserveVersion('free-pkg', '1.0.0', other)).toEqual({ reserved: true })
    })
  })
}
