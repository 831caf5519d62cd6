/**
 * Pending markers: how a record store finds the releases still waiting without reading its whole
 * history (S3 `pending/<name>/<id>`, the memory backend's map). Shared by the stores so that the
 * trust rules are written once:
 *  - a marker is created (create-if-absent) before its record, and removed after the record's
 *    compare-and-set moved it out of pending/approving; a crash in between leaves a marker too many,
 *    never one too few (a waiting record always has its marker);
 *  - a marker proves nothing: it only says where to look. Every listed release is read from its
 *    record, and shown only when the record itself is waiting (and, for `list <pkg>`, of that package);
 *  - repairs are lazy and best-effort (a read-only identity lists without repairing): a marker whose
 *    record is decided, or names another package, is removed; a marker without a record is removed
 *    once older than MARKER_GRACE_MS (younger, it may be a staging between its marker and its record);
 *  - a flood is bounded: past `maxMarkers` keys the markers are not used at all and the store reads
 *    every record instead, as it did before markers existed.
 */
import { StagePublishError } from '../errors.js'
import { isUuid, isWaiting, newestFirst } from '../core/record.js'
import { packageNameRule } from '../core/field-rules.js'
import { pool } from './pool.js'
import type { ListOptions, Versioned } from './types.js'

/** A staging writes its marker, then its record, within seconds; an hour covers retries and slow links. */
export const MARKER_GRACE_MS = 60 * 60 * 1000
/** Marker keys a listing will look at before it stops trusting them and reads every record instead. */
export const MAX_MARKERS = 10_000

export interface Marker {
  name: string
  id: string
  /** Milliseconds since the marker was written (by the store's clock). */
  ageMs: number
}

/** `<%-encoded name>/<id>`: the part of a marker's key under `pending/`. `list <pkg>` lists `<%-encoded name>/`. */
export const markerPath = (name: string, id: string): string => `${markerDir(name)}${id}`
export const markerDir = (name: string): string => `${encodeURIComponent(name)}/`

/** A marker key (under `pending/`) as written by markerPath, or null: keys are untrusted, anything else is ignored. */
export function parseMarkerPath(path: string): { name: string; id: string } | null {
  const slash = path.lastIndexOf('/')
  const id = path.slice(slash + 1)
  if (slash < 1 || !isUuid(id)) return null
  let name: string
  try {
    name = decodeURIComponent(path.slice(0, slash))
  } catch {
    return null
  }
  // Only a package name npm accepts: a record's name always is one, and '..' or '' never become a path part.
  return markerDir(name) === path.slice(0, slash + 1) && !packageNameRule(name) ? { name, id } : null
}

export interface MarkerStore {
  /** The record, or null when there is none; ECORRUPT/ETOOLARGE when it is not one. */
  read(id: string): Promise<Versioned | null>
  /** Creates the marker if absent. Best-effort: failures are the caller's to swallow or not. */
  create(name: string, id: string): Promise<void>
  remove(marker: { name: string; id: string }): Promise<void>
  /** Reads at once. */
  concurrency: number
  graceMs: number
}

type Listing = ListOptions & { onCorrupt?: (id: string, err: Error) => void }

const quietly = (p: Promise<void>): Promise<void> => p.catch(() => undefined)

/**
 * The waiting records the markers point at, read from the records themselves, with lazy repair.
 * `markers` are those under `pending/` (or under the package's folder for `list <pkg>`).
 */
export async function waitingFromMarkers(markers: readonly Marker[], store: MarkerStore, options: Listing): Promise<Versioned[]> {
  const byId = new Map<string, Marker[]>()
  for (const m of markers) byId.set(m.id, [...(byId.get(m.id) ?? []), m])
  const out: Versioned[] = []
  await pool([...byId.keys()], store.concurrency, async (id) => {
    const own = byId.get(id) as Marker[]
    let v: Versioned | null
    try {
      v = await store.read(id)
    } catch (err) {
      if (options.onCorrupt && err instanceof StagePublishError && (err.code === 'ECORRUPT' || err.code === 'ETOOLARGE')) { options.onCorrupt(id, err); return }
      throw err
    }
    if (!v) {
      // No record: a staging between its marker and its record (young), or one that died there, or a planted marker.
      await Promise.all(own.filter((m) => m.ageMs >= store.graceMs).map((m) => quietly(store.remove(m))))
      return
    }
    const waiting = isWaiting(v.record.state)
    // A decided record's markers, and markers naming another package than the record's, are wrong: removed.
    await Promise.all(own.filter((m) => !waiting || m.name !== v.record.packageName).map((m) => quietly(store.remove(m))))
    if (!waiting) return
    // Found through a marker under another name only: give the record its own (create-if-absent).
    if (!own.some((m) => m.name === v.record.packageName)) await quietly(store.create(v.record.packageName, id))
    if (options.packageName && v.record.packageName !== options.packageName) return
    out.push(v)
  })
  return out.sort(newestFirst)
}

/**
 * A store written before markers existed: after reading every record (`all`), give each waiting
 * record its marker (those in `existing` have one), so the next listing can trust them. Best-effort.
 * Returns whether every marker was written (only then may the store mark its layout as migrated).
 */
export async function addMissingMarkers(all: readonly Versioned[], existing: ReadonlySet<string>, store: Pick<MarkerStore, 'create' | 'concurrency'>): Promise<boolean> {
  const missing = all.filter((v) => isWaiting(v.record.state) && !existing.has(markerPath(v.record.packageName, v.record.id)))
  let ok = true
  await pool(missing, store.concurrency, async (v) => {
    await store.create(v.record.packageName, v.record.id).catch(() => {
      ok = false
    })
  })
  return ok
}

export const floodNotice = (count: number, where: string): string =>
  `${where} holds more than ${count} pending markers (written by someone with staging rights, or left by crashes): they were not used, and every record was read instead. Remove the pending markers whose records are decided or missing.`
