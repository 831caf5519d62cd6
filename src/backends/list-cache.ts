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
 * It also remembers the records folder's own identity (device, inode, mtime and ctime) from before the
 * listing that last checked every file. The tool changes records only by adding, renaming and removing files
 * in that folder, each of which changes its mtime and ctime; while they are unchanged (and the cache is not
 * racy against them), `unchangedSince` answers the listing from the cache without a system call per record,
 * and the caller checks each record it shows against its file (`confirm`): a row on screen is always what its
 * file holds now. What that leaves out is a record rewritten in place (not by the tool) that is not shown: it
 * counts as it was until the folder next changes.
 *
 * Our own file, still read like a stranger's: never through a link, never from a FIFO, bounded, owned by us
 * and writable by nobody else, parsed strictly; on any doubt it is ignored (and written again). Writing it is
 * best effort (a read-only home only makes `list` slower), atomic (temp file and rename), so concurrent
 * listings each leave a whole file and the last one wins.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, writeFileSync, type BigIntStats } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isUuid, type StagedRecord } from '../core/record.js'
import { randomHex, sha256Hex } from './hashing.js'
import { RECORD_LIMITS } from '../core/record-schema.js'
import type { RecordSummary } from './types.js'

const FORMAT = 'stage-publish list cache 3'
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
/** What identifies one state of the records folder: adding, renaming or removing a file in it moves mtime and ctime. */
const folderIdentityOf = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`

export interface ListCache {
  /**
   * Every record as the cache knows it (its order, see `ordered`), when `folder` (the records folder's lstat)
   * is the folder the last complete listing saw, unchanged since, and changed long enough before the cache
   * was written; otherwise null. Nothing in it was checked against its file: see `confirm`.
   */
  unchangedSince(folder: BigIntStats): RecordSummary[] | null
  /** Whether `st` (an lstat of record `id`'s file, or undefined: gone) is the file the cache read `id` from. */
  confirm(id: string, st: BigIntStats | undefined): boolean
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
  /**
   * Writes the cache when it changed, newest first (`sorted`, then the rest of the records listed): only what
   * this listing saw is kept. `folder` is the records folder's lstat taken before the listing read its names
   * (undefined: there is none); it is remembered only when every record listed was read as one.
   */
  save(sorted: ReadonlyArray<{ id: string }>, folder: BigIntStats | undefined): void
}

/** The cache of the backend at `root`, or one that remembers nothing (no cache directory, or `root` does not exist). */
export function openListCache(root: string, cacheDir: string | undefined): ListCache {
  let real: string
  try {
    if (!cacheDir) throw new Error('no cache directory')
    real = realpathSync(root)
  } catch {
    return { unchangedSince: () => null, confirm: () => false, hit: () => undefined, put: () => undefined, forget: () => undefined, ordered: (ids) => ids, save: () => undefined }
  }
  const dir = cacheDir
  const file = path.join(dir, `list-${sha256Hex(real).slice(0, 32)}.txt`)
  const loaded = loadCache(file, real)
  const source = loaded?.entries
  const racyFrom = loaded ? loaded.writtenNs - RACY_NS : 0n
  /** The entry of `id` when `st` is the file it was read from (and not changed within a tick of the cache being written). */
  const entryFor = (id: string, st: BigIntStats): CacheEntry | undefined => {
    if (!st.isFile() || st.ctimeNs >= racyFrom) return undefined
    const entry = source?.get(id)
    return entry && entry.identity === identityOf(st) ? entry : undefined
  }
  // What this listing read again, and the records it found gone or corrupt. Every other record listed was
  // answered from its entry in `source`, checked then: the cache is written from these.
  const puts = new Map<string, CacheEntry>()
  const forgotten = new Set<string>()
  let listed: string[] = []
  let dirty = false
  return {
    unchangedSince(folder) {
      if (!source || !loaded?.folder || !folder.isDirectory() || folder.ctimeNs >= racyFrom || folderIdentityOf(folder) !== loaded.folder) return null
      const out: RecordSummary[] = []
      for (const entry of source.values()) out.push(entry.summary)
      return out
    },
    confirm(id, st) {
      return st !== undefined && entryFor(id, st) !== undefined
    },
    hit(id, st) {
      return entryFor(id, st)?.summary
    },
    put(id, st, summary) {
      puts.set(id, { identity: identityOf(st), summary })
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
    save(sorted, folder) {
      const folderLine = folder?.isDirectory() && forgotten.size === 0 ? folderIdentityOf(folder) : '-'
      // The folder changed, or changed within a tick of the cache being written: written again, so that the
      // next listing can trust it.
      if (folderLine !== (loaded?.folder ?? '-') || (folder && folder.ctimeNs >= racyFrom)) dirty = true
      if (!dirty) return
      const entries = new Map<string, CacheEntry>()
      const add = (id: string) => {
        if (entries.has(id) || forgotten.has(id)) return
        const entry = puts.get(id) ?? source?.get(id)
        if (entry !== undefined) entries.set(id, entry)
      }
      for (const { id } of sorted) add(id)
      // Records the listing filtered out (another package, decided ones) are remembered too, after the others.
      for (const id of listed) add(id)
      saveCache(dir, file, real, folderLine, entries)
    },
  }
}

/** What the cache remembers of one record file: the identity it was read at, and what was read. */
export interface CacheEntry {
  identity: string
  summary: RecordSummary
}

const TAB = 9
const headerOf = (root: string): string => `${FORMAT}\n${JSON.stringify(root)}\n`
/** The records folder's identity (folderIdentityOf) when the cache holds every record in it, or `-`. */
const FOLDER_LINE = /^folder (-|\d+:\d+:\d+:\d+)\n/
/** One record's line: its id, identity, then the summary's fields; an absent one is empty. */
const lineOf = (id: string, { identity, summary: s }: CacheEntry): string =>
  `${id}\t${identity}\t${s.packageName}\t${s.version}\t${s.tag}\t${s.actor}\t${s.createdAt}\t${s.state}\t${s.expiresAt ?? ''}\t${s.setId ?? ''}\n`

/**
 * The cache file's entries, the records folder it holds every record of (folderIdentityOf, if it does) and
 * when it was written (its mtime, by the file system's clock), or null on any doubt.
 */
export function loadCache(file: string, root: string): { entries: Map<string, CacheEntry>; folder: string | undefined; writtenNs: bigint } | null {
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
    const parsed = parseCache(buf.toString('utf8', 0, total), root)
    return parsed && { ...parsed, writtenNs: st.mtimeNs }
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
 * The cache text's entries by record id, or null on any doubt: one bad line and nothing of the file is
 * believed. Fields are separated by tabs and records by line feeds, which no field of a record can hold (the
 * schema refuses every control character), so the text needs no escaping and is checked in one pass: nothing
 * in it may act on a terminal. Read in one pass too, with indexOf rather than split: this runs on every `list`.
 */
export function parseCache(text: string, root: string): { entries: Map<string, CacheEntry>; folder: string | undefined } | null {
  const header = headerOf(root)
  if (!text.startsWith(header) || !text.endsWith('\n')) return null
  const folderLine = FOLDER_LINE.exec(text.slice(header.length, header.length + 128))
  if (!folderLine) return null
  const folder = folderLine[1] === '-' ? undefined : folderLine[1]
  const start = header.length + folderLine[0].length
  // Printable ASCII, tab and line feed only (the usual case) needs no Unicode classes; anything else gets them.
  const body = text.slice(start)
  if (/[^\t\n\x20-\x7e]/.test(body) && UNSAFE_IN_CACHE.test(body)) return null
  const entries = new Map<string, CacheEntry>()
  for (let at = start; at < text.length; ) {
    const end = text.indexOf('\n', at)
    const id = text.slice(at, at + 36)
    // A listing answered from the cache alone shows these ids: each must be one a record file can have.
    if (text.charCodeAt(at + 36) !== TAB || !isUuid(id) || entries.has(id)) return null
    const entry = readEntry(id, text, at + 37, end)
    if (!entry) return null
    entries.set(id, entry)
    at = end + 1
  }
  return { entries, folder }
}

/**
 * One line's entry (from `start` to `end`, after the id), checked field by field: every field was checked by the
 * record schema when it was read from its record; here each is checked again for type, length and the state,
 * and the release set for being a UUID, without the schema's package-name and version rules (they are what
 * makes reading a record slow, and nobody else writes this file).
 */
function readEntry(id: string, text: string, start: number, end: number): CacheEntry | null {
  // The identity and seven fields each end at a tab; the release set ends the line. (Locals, not an array:
  // this runs for every record on every listing.)
  let at = start
  const next = (): string | undefined => {
    const tab = text.indexOf('\t', at)
    if (tab === -1 || tab > end) return undefined
    const field = text.slice(at, tab)
    at = tab + 1
    return field
  }
  const identity = next()
  const packageName = next()
  const version = next()
  const tag = next()
  const actor = next()
  const createdAt = next()
  const state = next()
  const expiresAt = next()
  if (expiresAt === undefined) return null
  const setId = text.slice(at, end)
  if (!ok(identity, 128) || !ok(packageName, L.packageName) || !ok(version, L.version) || !ok(tag, L.tag) || !ok(actor, L.text) || !ok(createdAt, 64)) return null
  if (state === undefined || !STATES.has(state) || expiresAt.length > 64 || (setId !== '' && !isUuid(setId))) return null
  const summary: RecordSummary = { id, packageName, version, tag, actor, createdAt, state: state as RecordSummary['state'] }
  if (expiresAt !== '') summary.expiresAt = expiresAt
  if (setId !== '') summary.setId = setId
  return { identity, summary }
}

function saveCache(dir: string, file: string, root: string, folder: string, entries: Map<string, CacheEntry>): void {
  let text = `${headerOf(root)}folder ${folder}\n`
  for (const [id, entry] of entries) text += lineOf(id, entry)
  const tmp = `${file}.${process.pid}-${randomHex(6)}.tmp`
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
