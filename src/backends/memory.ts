/**
 * A record store in memory, for tests of the flows in-process: records, tarballs, set objects,
 * name@version reservations and audit entries live in Maps, with the contract's real semantics
 * (src/backends/types.ts, checked by test/support/backend-contract.ts):
 *  - create-if-absent and compare-and-set are decided in one synchronous step, so of several
 *    concurrent writers exactly one wins;
 *  - every write gets a new etag (a counter), even one that stores the same text again;
 *  - what is stored is text and bytes, parsed strictly on every read as the other stores do, so
 *    `raw` can put anything where a record or a set lives (a hostile or damaged backend).
 * Every operation yields to the event loop first, so concurrent callers interleave between calls
 * as they would against a file system or a bucket.
 * Waiting releases have pending markers as on S3 (./pending-markers.ts), with the same rules: `raw.markers`
 * holds them, `raw.migrated` says whether every waiting record has one (false: a store from before markers).
 */
import { createHash } from 'node:crypto'
import { StagePublishError } from '../errors.js'
import { checkId, checkSetId, isWaiting, newestFirst, parseRecord, serializeRecord, type StagedRecord } from '../core/record.js'
import { MAX_SET_BYTES, parseSetObject, serializeSetObject, type SetObject } from '../core/release-set.js'
import { LIMIT_ENV, MAX_RECORD_SIZE, tarballLimits } from '../core/limits.js'
import { PROVENANCE_LIMITS } from '../core/provenance.js'
import { tooLarge } from './bounded-read.js'
import { AUDIT_NAME_RE, parseReservation, serializeReservation } from './reservation.js'
import type { CasStagingBackend, CreateResult, CreateSetResult, ListOptions, Reservation, ReserveResult, UpdateResult, Versioned } from './types.js'
import { addMissingMarkers, floodNotice, MARKER_GRACE_MS, markerDir, markerPath, MAX_MARKERS, parseMarkerPath, waitingFromMarkers, type MarkerStore } from './pending-markers.js'

interface Stored {
  text: string
  etag: string
}

/** Direct access to what is stored, as someone with write access to the backend has it. For tests. */
export interface MemoryRaw {
  records: Map<string, Stored>
  tarballs: Map<string, Buffer>
  /** Provenance bundles by release id. */
  provenance: Map<string, Buffer>
  sets: Map<string, string>
  reservations: Map<string, Stored>
  audit: Map<string, string>
  /** Pending markers: `<%-encoded name>/<id>` (as under S3's pending/) → when it was written (ms). */
  markers: Map<string, number>
  /** Every waiting record has its marker (S3's layout.json). A new store starts migrated. */
  migrated: boolean
  /** Puts any text where the record with this id lives, under a new etag (returned). */
  writeRecord(id: string, text: string): string
}

export interface MemoryBackend extends CasStagingBackend {
  readonly raw: MemoryRaw
}

export interface MemoryOptions {
  /** The clock markers are aged by (ms). */
  now?: () => number
  /** Marker keys one listing trusts (pending-markers.ts MAX_MARKERS). */
  maxMarkers?: number
  /** Another handle on this store (another process, with its own clock and limits). */
  sharing?: MemoryBackend
}

export function createMemoryBackend(location = 'memory', options: MemoryOptions = {}): MemoryBackend {
  const shared = options.sharing?.raw
  const records = shared?.records ?? new Map<string, Stored>()
  const tarballs = shared?.tarballs ?? new Map<string, Buffer>()
  const sets = shared?.sets ?? new Map<string, string>()
  const reservations = shared?.reservations ?? new Map<string, Stored>()
  const audit = shared?.audit ?? new Map<string, string>()
  const markers = shared?.markers ?? new Map<string, number>()
  const provenance = shared?.provenance ?? new Map<string, Buffer>()
  const clock = options.now ?? Date.now
  const maxMarkers = Math.max(1, options.maxMarkers ?? MAX_MARKERS)
  // Etags stay unique across handles on one store: the counter is part of what is shared.
  const counter = shared ? (counters.get(shared) as { n: number }) : { n: 0 }
  const nextEtag = () => `m${++counter.n}`
  const put = (map: Map<string, Stored>, key: string, text: string): string => {
    const etag = nextEtag()
    map.set(key, { text, etag })
    return etag
  }
  // JSON of the pair: no escaping scheme to get wrong, '@acme/lib' and '@acme%2Flib' stay apart.
  const versionKey = (name: string, version: string) => JSON.stringify([name, version])

  const readRecord = (id: string): Versioned | null => {
    const stored = records.get(id)
    if (!stored) return null
    if (Buffer.byteLength(stored.text) > MAX_RECORD_SIZE) throw tooLarge({ maxBytes: MAX_RECORD_SIZE, what: `The record of staged release ${id}` }, Buffer.byteLength(stored.text))
    return { record: parseRecord(stored.text, id), etag: stored.etag }
  }

  const raw: MemoryRaw = shared ?? { records, tarballs, provenance, sets, reservations, audit, markers, migrated: true, writeRecord: (id: string, text: string) => put(records, checkId(id), text) }
  counters.set(raw, counter)
  const markerStore: MarkerStore = {
    read: async (id) => {
      await tick()
      return readRecord(id)
    },
    create: async (name, id) => {
      await tick()
      if (!markers.has(markerPath(name, id))) markers.set(markerPath(name, id), clock())
    },
    remove: async ({ name, id }) => {
      await tick()
      markers.delete(markerPath(name, id))
    },
    concurrency: 8,
    graceMs: MARKER_GRACE_MS,
  }

  /** Every record (of a package, waiting), as the other stores read them all. */
  const readEvery = (options: ListOptions & { onCorrupt?: (id: string, err: Error) => void }): Versioned[] => {
    const out: Versioned[] = []
    for (const id of records.keys()) {
      try {
        const v = readRecord(id)
        if (v && (!options.packageName || v.record.packageName === options.packageName) && (!options.waiting || isWaiting(v.record.state))) out.push(v)
      } catch (err) {
        if (options.onCorrupt && err instanceof StagePublishError && (err.code === 'ECORRUPT' || err.code === 'ETOOLARGE')) options.onCorrupt(id, err)
        else throw err
      }
    }
    return out.sort(newestFirst)
  }

  const backend = {
    kind: 'memory',
    location,
    raw,

    async createRelease(record: StagedRecord, bytes: Uint8Array, _contents?: unknown, bundle?: Uint8Array): Promise<CreateResult> {
      const id = checkId(record.id)
      await tick()
      if (records.has(id)) return { created: false, reason: 'exists' }
      // Bytes (and bundle) first, then the marker, then the record: a visible record never points at missing bytes, and a waiting one has its marker.
      tarballs.set(id, Buffer.from(bytes))
      if (bundle) provenance.set(id, Buffer.from(bundle))
      // In the same synchronous step: nothing may run between the exists check above and the record.
      if (isWaiting(record.state) && !markers.has(markerPath(record.packageName, id))) markers.set(markerPath(record.packageName, id), clock())
      return { created: true, id, etag: put(records, id, serializeRecord(record)) }
    },

    async getTarball(id: string): Promise<Buffer> {
      checkId(id)
      await tick()
      const bytes = tarballs.get(id)
      if (!bytes) {
        throw new StagePublishError('ENOTFOUND', `The tarball of staged release ${id} is missing from ${location}`, {
          hint: 'It was rejected, or the backend was changed by hand. Nothing can be published from it.',
        })
      }
      const { maxPackedSize } = tarballLimits(process.env)
      if (bytes.length > maxPackedSize) throw tooLarge({ maxBytes: maxPackedSize, what: `The staged tarball of ${id}`, limitEnv: LIMIT_ENV.maxPackedSize }, bytes.length)
      // A copy: a caller changing the buffer must not change what is stored.
      return Buffer.from(bytes)
    },

    async getProvenance(id: string): Promise<Buffer | null> {
      checkId(id)
      await tick()
      const bytes = provenance.get(id)
      if (!bytes) return null
      if (bytes.length > PROVENANCE_LIMITS.bundleBytes) throw tooLarge({ maxBytes: PROVENANCE_LIMITS.bundleBytes, what: `The provenance bundle of ${id}` }, bytes.length)
      return Buffer.from(bytes)
    },

    async deleteTarball(id: string): Promise<void> {
      checkId(id)
      await tick()
      tarballs.delete(id)
    },

    async getRecord(id: string): Promise<Versioned | null> {
      checkId(id)
      await tick()
      return readRecord(id)
    },

    async updateRecord(record: StagedRecord, etag: string): Promise<UpdateResult> {
      const id = checkId(record.id)
      await tick()
      const current = records.get(id)
      if (!current) return { updated: false, reason: 'missing' }
      if (current.etag !== etag) return { updated: false, reason: 'conflict' }
      const updated = put(records, id, serializeRecord(record))
      // Decided: its marker goes, after the record (a crash in between leaves a marker the next list removes).
      if (!isWaiting(record.state)) await markerStore.remove({ name: record.packageName, id })
      return { updated: true, etag: updated }
    },

    async listIds(): Promise<string[]> {
      await tick()
      return [...records.keys()]
    },

    async listRecords(options: ListOptions & { onCorrupt?: (id: string, err: Error) => void } = {}): Promise<Versioned[]> {
      await tick()
      if (!options.waiting) return readEvery(options)
      const under = options.packageName === undefined ? '' : markerDir(options.packageName)
      const found = [...markers].filter(([key]) => key.startsWith(under))
      if (found.length > maxMarkers) {
        options.onNotice?.(floodNotice(maxMarkers, `${location} pending/`))
        return readEvery(options)
      }
      const now = clock()
      const listed = found.flatMap(([key, at]) => {
        const parsed = parseMarkerPath(key)
        return parsed ? [{ ...parsed, ageMs: now - at }] : []
      })
      if (raw.migrated) return waitingFromMarkers(listed, markerStore, options)
      const all = readEvery({ ...(options.onCorrupt && { onCorrupt: options.onCorrupt }) })
      if (await addMissingMarkers(all, new Set(markers.keys()), markerStore)) raw.migrated = true
      return all.filter((v) => isWaiting(v.record.state) && (!options.packageName || v.record.packageName === options.packageName))
    },

    async createSet(set: SetObject): Promise<CreateSetResult> {
      const setId = checkSetId(set.setId)
      await tick()
      if (sets.has(setId)) return { created: false, reason: 'exists' }
      sets.set(setId, serializeSetObject(set))
      return { created: true }
    },

    async getSet(setId: string): Promise<SetObject | null> {
      checkSetId(setId)
      await tick()
      const text = sets.get(setId)
      if (text === undefined) return null
      if (Buffer.byteLength(text) > MAX_SET_BYTES) throw tooLarge({ maxBytes: MAX_SET_BYTES, what: `The release set ${setId}` }, Buffer.byteLength(text))
      return parseSetObject(text, setId)
    },

    async listSetIds(): Promise<string[]> {
      await tick()
      return [...sets.keys()]
    },

    async reserveVersion(name: string, version: string, id: string, replacing?: string): Promise<ReserveResult> {
      checkId(id)
      await tick()
      const key = versionKey(name, version)
      const held = reservations.get(key)
      if (replacing === undefined ? held : held?.etag !== replacing) return { reserved: false, reason: 'taken' }
      put(reservations, key, serializeReservation(name, version, id, new Date()))
      return { reserved: true }
    },

    async getReservation(name: string, version: string): Promise<Reservation | null> {
      await tick()
      const held = reservations.get(versionKey(name, version))
      return held ? { ...parseReservation(held.text), etag: held.etag } : null
    },

    async releaseVersion(name: string, version: string, id: string): Promise<void> {
      checkId(id)
      await tick()
      const key = versionKey(name, version)
      const held = reservations.get(key)
      if (held && parseReservation(held.text).id === id) reservations.delete(key)
    },

    async inspectRecord(id: string): Promise<{ sha256: string; size: number } | null> {
      checkId(id)
      await tick()
      const stored = records.get(id)
      return stored ? { sha256: createHash('sha256').update(stored.text).digest('hex'), size: Buffer.byteLength(stored.text) } : null
    },

    async deleteRecord(id: string): Promise<void> {
      checkId(id)
      await tick()
      records.delete(id)
    },

    async createAudit(name: string, text: string): Promise<boolean> {
      if (!AUDIT_NAME_RE.test(name)) throw new StagePublishError('EINVALIDID', `"${name.slice(0, 60)}" is not an audit entry name`)
      await tick()
      if (audit.has(name)) return false
      audit.set(name, text)
      return true
    },
  } satisfies MemoryBackend
  return backend
}

const counters = new WeakMap<MemoryRaw, { n: number }>()

/** Lets other callers run between two operations, as real I/O would. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

