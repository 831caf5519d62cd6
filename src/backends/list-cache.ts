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
import type { RecordSummary } from './types.js'

const FORMAT = 'stage-publish list cache 2'
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

export interface ListCache {
  /** The remembered summary of record `id`, when the file `st` describes is the one it was read from. */
  hit(id: string, st: BigIntStats): RecordSummary | undefined
  /** Remembers what was read from record `id` (its identity taken before the read). */
  put(id: string, st: BigIntStats, summary: RecordSummary): void
  /** Record `id` is gone or is not a record: nothing of it is kept. */
  forget(id: string): void
  /**
   * `ids` (every record file listed) in the order the cache keeps them (newest first, as last listed), then any
   * it does not know: a listing read in this order is already (nearly) sorted, and sorting it costs one pass.
   */
  ordered(ids: string[]): string[]
  /** Writes the cache when it changed, newest first (`sorted`, then the rest of the records listed): only what this listing saw is kept. */
  save(sorted: ReadonlyArray<{ id: string }>): void
}

/** The cache of the backend at `root`, or one that remembers nothing (no cache directory, or `root` does not exist). */
export function openListCache(root: string, cacheDir: string | undefined): ListCache {
  let real: string
  try {
    if (!cacheDir) throw new Error('no cache directory')
    real = realpathSync(root)
  } catch {
    return { hit: () => undefined, put: () => undefined, forget: () => undefined, ordered: (ids) => ids, save: () => undefined }
  }
  const dir = cacheDir
  const file = path.join(dir, `list-${createHash('sha256').update(real).digest('hex').slice(0, 32)}.txt`)
  const loaded = loadCache(file, real)
  const source = loaded?.entries
  const racyFrom = loaded ? loaded.writtenNs - RACY_NS : 0n
  let trusted = source !== undefined
  // What this listing read again (id -> its new line), and the records it found gone or corrupt. Every other
  // record listed was answered from its line in `source`, checked then: the cache is written from these.
  const puts = new Map<string, string>()
  const forgotten = new Set<string>()
  let listed: string[] = []
  let dirty = false
  return {
    hit(id, st) {
      if (!trusted || !st.isFile() || st.ctimeNs >= racyFrom) return undefined
      const line = source?.get(id)
      if (line === undefined) return undefined
      const identity = identityOf(st)
      if (!line.startsWith(identity) || line.charCodeAt(identity.length) !== TAB) return undefined
      const summary = readLine(id, line)
      if (!summary) {
        // Not a line we wrote: nothing more of this file is believed (what was read of it passed every check).
        trusted = false
        dirty = true
      }
      return summary ?? undefined
    },
    put(id, st, summary) {
      puts.set(id, lineOf(identityOf(st), summary))
      dirty = true
    },
    forget(id) {
      forgotten.add(id)
      dirty = true
    },
    ordered(ids) {
      if (!source) return (listed = ids)
      const present = new Set(ids)
      const out: string[] = []
      for (const id of source.keys()) if (present.delete(id)) out.push(id)
      // Records the cache knows that are no longer listed: it changes.
      if (out.length !== source.size) dirty = true
      for (const id of present) out.push(id)
      return (listed = out)
    },
    save(sorted) {
      if (!dirty) return
      const lines = new Map<string, string>()
      const add = (id: string) => {
        if (lines.has(id) || forgotten.has(id)) return
        const line = puts.get(id) ?? source?.get(id)
        if (line !== undefined) lines.set(id, line)
      }
      for (const { id } of sorted) add(id)
      // Records the listing filtered out (another package, decided ones) are remembered too, after the others.
      for (const id of listed) add(id)
      saveCache(dir, file, real, lines)
    },
  }
}

const TAB = 9
const headerOf = (root: string): string => `${FORMAT}\n${JSON.stringify(root)}\n`
/** One record's line after its id: identity, then the summary's fields; an absent one is empty. */
const lineOf = (identity: string, s: RecordSummary): string =>
  [identity, s.packageName, s.version, s.tag, s.actor, s.createdAt, s.state, s.expiresAt ?? '', s.setId ?? ''].join('\t')

/** The cache file's entries and when it was written (its mtime, by the file system's clock), or null on any doubt. */
export function loadCache(file: string, root: string): { entries: Map<string, string>; writtenNs: bigint } | null {
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
const STATES: ReadonlySet<string> = new Set(['pending', 'approving', 'approved', 'rejected'])
/** Control characters but tab and line feed (the cache's separators), and what records refuse besides. */
const UNSAFE_IN_CACHE = /[^\P{Cc}\t\n]|[\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u
const ok = (v: string | undefined, max: number): v is string => v !== undefined && v !== '' && v.length <= max

/**
 * The lines of the cache text by record id, or null on any doubt. Fields are separated by tabs and records
 * by line feeds, which no field of a record can hold (the schema refuses every control character), so the
 * text needs no escaping and is checked in one pass: nothing in it may act on a terminal.
 */
export function parseCache(text: string, root: string): Map<string, string> | null {
  const header = headerOf(root)
  if (!text.startsWith(header) || !text.endsWith('\n')) return null
  const body = text.slice(header.length)
  // Printable ASCII, tab and line feed only (the usual case) needs no Unicode classes; anything else gets them.
  if (/[^\t\n\x20-\x7e]/.test(body) && UNSAFE_IN_CACHE.test(body)) return null
  const out = new Map<string, string>()
  if (body === '') return out
  const lines = body.split('\n')
  lines.pop()
  for (const line of lines) {
    // The id is the key a record file's name is looked up by (listIds let only UUIDs through): a wrong one is never found.
    const id = line.slice(0, 36)
    if (line.charCodeAt(36) !== TAB || out.has(id)) return null
    out.set(id, line.slice(37))
  }
  return out
}

/**
 * A line's summary, checked field by field when it is used: every field was checked by the record schema when
 * it was read from its record; here each is checked again for type, length and the state, and the release set
 * for being a UUID, without the schema's package-name and version rules (they are what makes reading a record
 * slow, and nobody else writes this file).
 */
function readLine(id: string, line: string): RecordSummary | null {
  const f = line.split('\t')
  if (f.length !== 9) return null
  const [, packageName, version, tag, actor, createdAt, state, expiresAt, setId] = f
  if (!ok(packageName, L.packageName) || !ok(version, L.version) || !ok(tag, L.tag) || !ok(actor, L.text) || !ok(createdAt, 64)) return null
  if (state === undefined || !STATES.has(state) || expiresAt === undefined || expiresAt.length > 64 || setId === undefined || (setId !== '' && !isUuid(setId))) return null
  const summary: RecordSummary = { id, packageName, version, tag, actor, createdAt, state: state as RecordSummary['state'] }
  if (expiresAt !== '') summary.expiresAt = expiresAt
  if (setId !== '') summary.setId = setId
  return summary
}

function saveCache(dir: string, file: string, root: string, lines: Map<string, string>): void {
  let text = headerOf(root)
  for (const [id, line] of lines) text += `${id}\t${line}\n`
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(tmp, text, { flag: 'wx', mode: 0o600 })
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
