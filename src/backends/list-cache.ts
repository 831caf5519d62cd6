/**
 * The local backend's listing cache: `list` over 10,000 records without reading and checking 10,000 files.
 *
 * Kept by the approver OUTSIDE the backend folder (the user's cache directory, one file per backend named
 * by a hash of the backend's real path), so whoever can write the backend cannot write it. For each record
 * file it remembers the file's identity when it was read (device, inode, size, mtime and ctime in
 * nanoseconds) and what the strict schema read from it for the table (RecordSummary). A record whose
 * identity is unchanged is not read again; any change reads it again: a rewrite, a rename over it, a new
 * file on a reused inode, even one that restores size and mtime (ctime moves with every change and cannot
 * be set back). Only `list`'s table uses it: approve, view, reject and --json read the records.
 *
 * Our own file, still read like a stranger's: never through a link, never from a FIFO, bounded, owned by us
 * and writable by nobody else, parsed strictly; on any doubt it is ignored (and written again). Writing it is
 * best effort (a read-only home only makes `list` slower), atomic (temp file and rename), so concurrent
 * listings each leave a whole file and the last one wins.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, writeFileSync, type BigIntStats } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isUuid, type StagedRecord } from '../core/record.js'
import { RECORD_LIMITS } from '../core/record-schema.js'
import { hasUnsafeChar } from '../core/text.js'
import type { RecordSummary } from './types.js'

const FORMAT = 'stage-publish list cache 1'
/** 10,000 records make about 2.5 MB; a cache larger than this is not one we wrote. */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024
/**
 * A file changed within this long before the cache was written may have changed again within the same
 * timestamp tick (file systems keep coarse clocks): it is read again until the cache is younger than that
 * ("racy git", git's Documentation/technical/racy-git.txt).
 */
const RACY_NS = 2_000_000_000n

/** The user's cache directory for stage-publish: XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%, or ~/.cache. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'stage-publish')
  const home = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir()
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'stage-publish')
  if (platform === 'win32' && env.LOCALAPPDATA && path.isAbsolute(env.LOCALAPPDATA)) return path.join(env.LOCALAPPDATA, 'stage-publish', 'Cache')
  return path.join(home, '.cache', 'stage-publish')
}

/** The fields of a record the table needs, and only those. */
export function summaryOf(record: StagedRecord): RecordSummary {
  const s: RecordSummary = { id: record.id, packageName: record.packageName, version: record.version, tag: record.tag, actor: record.actor, createdAt: record.createdAt, state: record.state }
  if (record.expiresAt !== undefined) s.expiresAt = record.expiresAt
  if (record.setId !== undefined) s.setId = record.setId
  return s
}

/** What identifies one version of a file: any change to it changes at least its ctime. */
export const identityOf = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`

interface Entry {
  identity: string
  summary: RecordSummary
}

export interface ListCache {
  /** The remembered summary of record `id`, when the file `st` describes is the one it was read from. */
  hit(id: string, st: BigIntStats): RecordSummary | undefined
  /** Remembers what was read from record `id` (its identity taken before the read). */
  put(id: string, st: BigIntStats, summary: RecordSummary): void
  /** Writes the cache when it changed: only the records seen by this listing are kept. */
  save(): void
}

/** The cache of the backend at `root`, or one that remembers nothing (no cache directory, or `root` does not exist). */
export function openListCache(root: string, cacheDir: string | undefined): ListCache {
  let real: string
  try {
    if (!cacheDir) throw new Error('no cache directory')
    real = realpathSync(root)
  } catch {
    return { hit: () => undefined, put: () => undefined, save: () => undefined }
  }
  const dir = cacheDir
  const file = path.join(dir, `list-${createHash('sha256').update(real).digest('hex').slice(0, 32)}.json`)
  const loaded = loadCache(file, real)
  const next = new Map<string, Entry>()
  let dirty = false
  return {
    hit(id, st) {
      const entry = loaded?.entries.get(id)
      if (!loaded || !entry || !st.isFile() || entry.identity !== identityOf(st) || st.ctimeNs >= loaded.writtenNs - RACY_NS) return undefined
      next.set(id, entry)
      return entry.summary
    },
    put(id, st, summary) {
      next.set(id, { identity: identityOf(st), summary })
      dirty = true
    },
    save() {
      if (!dirty && next.size === (loaded?.entries.size ?? 0)) return
      saveCache(dir, file, real, next)
    },
  }
}

/** The cache file's entries and when it was written (its mtime, by the file system's clock), or null on any doubt. */
export function loadCache(file: string, root: string): { entries: Map<string, Entry>; writtenNs: bigint } | null {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  } catch {
    return null
  }
  try {
    const st = fstatSync(fd, { bigint: true })
    // Ours and nobody else's to change: a regular file, owned by us, not writable by group or others, bounded.
    if (!st.isFile() || st.size > BigInt(MAX_CACHE_BYTES)) return null
    if (process.getuid && st.uid !== BigInt(process.getuid())) return null
    if ((st.mode & 0o022n) !== 0n) return null
    const size = Number(st.size)
    const buf = Buffer.allocUnsafe(size + 1)
    let total = 0
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null)
      if (n === 0) break
      total += n
      // It grew while read: not the file fstat described.
      if (total > size) return null
    }
    if (total !== size) return null
    const entries = parseCache(buf.toString('utf8', 0, total), root)
    return entries && { entries, writtenNs: st.mtimeNs }
  } catch {
    return null
  } finally {
    closeSync(fd)
  }
}

const L = RECORD_LIMITS
const STATES: ReadonlySet<unknown> = new Set(['pending', 'approving', 'approved', 'rejected'])
const str = (v: unknown, max: number): v is string => typeof v === 'string' && v !== '' && v.length <= max
const optStr = (v: unknown, max: number): boolean => v === null || str(v, max)

/**
 * The entries of the cache text, or null on any doubt. Every field was checked by the record schema when
 * it was read from its record; here each is checked again for what protects the terminal and the listing
 * (type, length, no control or invisible character, the state, UUIDs), without the schema's package-name
 * and version rules (they are what makes reading a record slow, and nobody else writes this file).
 */
export function parseCache(text: string, root: string): Map<string, Entry> | null {
  // We write no control or invisible character (records hold none): one pass over the whole text. Without a
  // backslash no JSON string holds an escape, so the strings are these very characters; with one, each is checked.
  if (hasUnsafeChar(text)) return null
  const escaped = text.includes('\\')
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null
  const { format, root: cachedRoot, entries } = data as Record<string, unknown>
  if (format !== FORMAT || cachedRoot !== root || !Array.isArray(entries)) return null
  const out = new Map<string, Entry>()
  for (const e of entries as unknown[]) {
    if (!Array.isArray(e) || e.length !== 10) return null
    const [id, identity, packageName, version, tag, actor, createdAt, state, expiresAt, setId] = e as unknown[]
    // The id is the key a record file's name is looked up by (listIds let only UUIDs through), and the identity
    // is compared with a fresh lstat: a wrong one is never found or never matches, so types and lengths suffice.
    if (!str(id, 36) || out.has(id) || !str(identity, 128)) return null
    if (!str(packageName, L.packageName) || !str(version, L.version) || !str(tag, L.tag) || !str(actor, L.text) || !str(createdAt, 64)) return null
    if (!STATES.has(state) || !optStr(expiresAt, 64) || !(setId === null || (str(setId, 36) && isUuid(setId)))) return null
    if (escaped && [packageName, version, tag, actor, createdAt, expiresAt].some((s) => typeof s === 'string' && hasUnsafeChar(s))) return null
    const summary: RecordSummary = { id, packageName, version, tag, actor, createdAt, state: state as RecordSummary['state'] }
    if (expiresAt !== null) summary.expiresAt = expiresAt as string
    if (setId !== null) summary.setId = setId
    out.set(id, { identity, summary })
  }
  return out
}

function saveCache(dir: string, file: string, root: string, entries: Map<string, Entry>): void {
  const rows = [...entries].map(([id, { identity, summary: s }]) => [id, identity, s.packageName, s.version, s.tag, s.actor, s.createdAt, s.state, s.expiresAt ?? null, s.setId ?? null])
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, root, entries: rows }), { flag: 'wx', mode: 0o600 })
    // rename(2) replaces whatever is at `file` (a link, a FIFO) without following or opening it.
    renameSync(tmp, file)
  } catch {
    try {
      rmSync(tmp, { force: true })
    } catch {
      // Nothing was written (the cache directory is not one): there is nothing to clean up.
    }
  }
}
