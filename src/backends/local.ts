/**
 * The embedded default: staged releases in a local directory.
 *
 *   <root>/tarballs/<id>.tgz   the bytes, written first
 *   <root>/provenance/<id>.sigstore   the Sigstore provenance bundle staged with them, if any, written with them
 *   <root>/records/<id>.json   the record, created with link(2), which fails if it exists
 *   <root>/versions/<name>@<version>.json   which release holds a name@version (see ./reservation.ts),
 *                              created with link(2) before the record
 *   <root>/audit/<id>-<time>.json   records removed by `reject --force` (they did not parse), created once
 *   <root>/locks/<id>          held for the few milliseconds of a compare-and-set
 *   <root>/sets/<setId>.json   a release set, created with link(2) before its member records, never changed
 *
 * Every write goes to a temp file that is fsynced and then renamed or linked into place, so a crash
 * never leaves a partial file under a final name, and a record never points at missing bytes.
 * Directories are 0700 and files 0600: staged releases are nobody else's business.
 */
import { constants, lstatSync, promises as fs, type BigIntStats } from 'node:fs'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { checkId, checkSetId, isUuid, isWaiting, newestFirst, parseRecord, serializeRecord, type StagedRecord } from '../core/record.js'
import { MAX_SET_BYTES, parseSetObject, serializeSetObject, type SetObject } from '../core/release-set.js'
import { LIMIT_ENV, MAX_RECORD_SIZE, tarballLimits } from '../core/limits.js'
import { PROVENANCE_LIMITS } from '../core/provenance.js'
import { randomHex, sha256, sha256Hex } from './hashing.js'
import { readRegularFile, readRegularFileSync, readRegularFileSyncWithStat } from './bounded-read.js'
import { openListCache, summaryOf } from './list-cache.js'
import type { CasStagingBackend, CreateResult, CreateSetResult, ListOptions, RecordSummary, Reservation, ReserveResult, SummaryListing, SummaryListOptions, UpdateResult, Versioned } from './types.js'
import { AUDIT_NAME_RE, parseReservation, reservationKey, serializeReservation } from './reservation.js'

const STALE_LOCK_MS = 30_000
const LOCK_WAIT_MS = 10_000

export interface LocalBackendOptions {
  /** Where `list` may keep its cache of record summaries (./list-cache.ts): the user's, never inside `root`. None: no cache. */
  listCacheDir?: string
}

export function createLocalBackend(root: string, options: LocalBackendOptions = {}): CasStagingBackend {
  const dirs = {
    records: path.join(root, 'records'),
    tarballs: path.join(root, 'tarballs'),
    provenance: path.join(root, 'provenance'),
    locks: path.join(root, 'locks'),
    tmp: path.join(root, 'tmp'),
    sets: path.join(root, 'sets'),
    versions: path.join(root, 'versions'),
    audit: path.join(root, 'audit'),
  }
  const recordPath = (id: string) => path.join(dirs.records, `${checkId(id)}.json`)
  const tarballPath = (id: string) => path.join(dirs.tarballs, `${checkId(id)}.tgz`)
  const provenancePath = (id: string) => path.join(dirs.provenance, `${checkId(id)}.sigstore`)
  const { listCacheDir } = options
  let ready: Promise<void> | undefined

  const ensureDirs = () =>
    (ready ??= (async () => {
      try {
        await fs.mkdir(root, { recursive: true, mode: 0o700 })
        for (const d of Object.values(dirs)) await fs.mkdir(d, { recursive: true, mode: 0o700 })
      } catch (err) {
        ready = undefined
        throw fsError(err, root)
      }
    })())

  /** Writes bytes to a fresh temp file in the same file system, fsynced, and returns its path. */
  async function writeTemp(bytes: Uint8Array | string): Promise<string> {
    await ensureDirs()
    const tmp = path.join(dirs.tmp, `${process.pid}-${randomHex(6)}`)
    const fh = await fs.open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
    return tmp
  }

  async function readRecordFile(id: string): Promise<Versioned | null> {
    const text = await readSmallFile(recordPath(id), MAX_RECORD_SIZE, `The record of staged release ${id}`, root)
    return text === null ? null : { record: parseRecord(text, id), etag: etagOf(text) }
  }

  async function withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    await ensureDirs()
    // A record's lock is its id; a reservation's is `v-<key>` (encoded: no '/', never '.' or '..').
    const lock = path.join(dirs.locks, id.startsWith('v-') ? id : checkId(id))
    const started = Date.now()
    for (;;) {
      try {
        await fs.mkdir(lock, { mode: 0o700 })
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, root)
        const stat = await fs.stat(lock).catch(() => null)
        // A lock is held for milliseconds; one this old was left by a process that died holding it.
        if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) {
          await fs.rm(lock, { recursive: true, force: true })
          continue
        }
        if (Date.now() - started > LOCK_WAIT_MS) {
          throw new StagePublishError('EBACKEND', `The staged release ${id} is locked by another process`, {
            hint: `If no other stage-publish is running, remove ${lock} and try again.`,
          })
        }
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20))
      }
    }
    try {
      return await fn()
    } finally {
      await fs.rm(lock, { recursive: true, force: true })
    }
  }

  // ---- name@version reservations ----
  const versionPath = (name: string, version: string) => path.join(dirs.versions, `${reservationKey(name, version)}.json`)
  const versionLock = (name: string, version: string) => `v-${reservationKey(name, version)}`

  const readText = (file: string): Promise<string | null> => readSmallFile(file, MAX_RECORD_SIZE, `The reservation ${path.basename(file)}`, root)

  /** link(2) a temp file into place: fails with EEXIST, atomically, when it is taken. */
  async function createOnce(file: string, text: string): Promise<boolean> {
    await ensureDirs()
    const tmp = await writeTemp(text)
    try {
      await fs.link(tmp, file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw fsError(err, root)
    } finally {
      await fs.rm(tmp, { force: true })
    }
    await syncDir(path.dirname(file))
    return true
  }

  const reservations = {
    async reserveVersion(name: string, version: string, id: string, replacing?: string): Promise<ReserveResult> {
      checkId(id)
      await ensureDirs()
      const file = versionPath(name, version)
      const text = serializeReservation(name, version, id, new Date())
      const taken = { reserved: false, reason: 'taken' } as const
      if (replacing === undefined) return (await createOnce(file, text)) ? { reserved: true } : taken
      return withLock(versionLock(name, version), async () => {
        const current = await readText(file)
        // Released meanwhile (its release was rejected): a plain create, which another staging may win.
        if (current === null) return (await createOnce(file, text)) ? { reserved: true } : taken
        if (etagOf(current) !== replacing) return taken
        const tmp = await writeTemp(text)
        try {
          await fs.rename(tmp, file)
        } catch (err) {
          await fs.rm(tmp, { force: true })
          throw fsError(err, root)
        }
        return { reserved: true }
      })
    },

    async getReservation(name: string, version: string): Promise<Reservation | null> {
      const text = await readText(versionPath(name, version))
      return text === null ? null : { ...parseReservation(text), etag: etagOf(text) }
    },

    async releaseVersion(name: string, version: string, id: string): Promise<void> {
      const file = versionPath(name, version)
      if (!(await exists(file))) return
      await withLock(versionLock(name, version), async () => {
        const text = await readText(file)
        if (text !== null && parseReservation(text).id === id) await fs.rm(file, { force: true })
      })
    },
  }

  // ---- removing records that do not parse (reject --force) ----
  const removal = {
    async inspectRecord(id: string): Promise<{ sha256: string; size: number } | null> {
      const file = recordPath(id)
      const hash = sha256()
      let size = 0
      let fh: fs.FileHandle
      try {
        // Not following links, not waiting on a FIFO: the folder is writable by whoever can stage.
        fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return null
        if (code === 'ELOOP') throw notAFile(file)
        throw fsError(err, root)
      }
      try {
        if (!(await fh.stat()).isFile()) throw notAFile(file)
        // Streamed: the bytes are not a record, and may be of any size.
        for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
          hash.update(chunk)
          size += chunk.byteLength
        }
      } catch (err) {
        throw fsError(err, root)
      } finally {
        await fh.close()
      }
      return { sha256: hash.digest('hex'), size }
    },

    async deleteRecord(id: string): Promise<void> {
      const file = recordPath(id)
      await withLock(checkId(id), () => fs.rm(file, { force: true })).catch((err: unknown) => {
        throw fsError(err, root)
      })
    },

    async createAudit(name: string, text: string): Promise<boolean> {
      if (!AUDIT_NAME_RE.test(name)) throw new StagePublishError('EINVALIDID', `"${name.slice(0, 60)}" is not an audit entry name`)
      return createOnce(path.join(dirs.audit, `${name}.json`), text)
    },
  }

  const backend = {
    ...reservations,
    ...removal,
    kind: 'file',
    location: root,

    async createRelease(record: StagedRecord, bytes: Uint8Array, _contents?: unknown, provenance?: Uint8Array): Promise<CreateResult> {
      const id = checkId(record.id)
      await ensureDirs()
      if (await exists(recordPath(id))) return { created: false, reason: 'exists' }
      try {
        const tmpTarball = await writeTemp(bytes)
        await fs.rename(tmpTarball, tarballPath(id))
        // The bundle, like the bytes, is in place before the record that names it.
        if (provenance) await fs.rename(await writeTemp(provenance), provenancePath(id))
        const text = serializeRecord(record)
        const tmpRecord = await writeTemp(text)
        try {
          await fs.link(tmpRecord, recordPath(id))
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { created: false, reason: 'exists' }
          throw err
        } finally {
          await fs.rm(tmpRecord, { force: true })
        }
        await syncDir(dirs.records)
        return { created: true, id, etag: etagOf(text) }
      } catch (err) {
        throw fsError(err, root)
      }
    },

    async getTarball(id: string): Promise<Buffer> {
      try {
        const { maxPackedSize } = tarballLimits(process.env)
        return await readRegularFile(tarballPath(id), { maxBytes: maxPackedSize, what: `The staged tarball of ${id}`, limitEnv: LIMIT_ENV.maxPackedSize })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new StagePublishError('ENOTFOUND', `The tarball of staged release ${id} is missing from ${root}`, {
            hint: 'It was rejected, or the backend was changed by hand. Nothing can be published from it.',
          })
        }
        throw fsError(err, root)
      }
    },

    async getProvenance(id: string): Promise<Buffer | null> {
      try {
        return await readRegularFile(provenancePath(id), { maxBytes: PROVENANCE_LIMITS.bundleBytes, what: `The provenance bundle of ${id}` })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw fsError(err, root)
      }
    },

    async deleteTarball(id: string): Promise<void> {
      await fs.rm(tarballPath(id), { force: true }).catch((err: unknown) => {
        throw fsError(err, root)
      })
    },

    getRecord: async (id: string) => readRecordFile(checkId(id)),

    async updateRecord(record: StagedRecord, etag: string): Promise<UpdateResult> {
      const id = checkId(record.id)
      return withLock(id, async () => {
        const current = await readRecordFile(id)
        if (!current) return { updated: false, reason: 'missing' }
        if (current.etag !== etag) return { updated: false, reason: 'conflict' }
        const text = serializeRecord(record)
        const tmp = await writeTemp(text)
        try {
          await fs.rename(tmp, recordPath(id))
        } catch (err) {
          await fs.rm(tmp, { force: true })
          throw fsError(err, root)
        }
        return { updated: true, etag: etagOf(text) }
      })
    },

    async listIds(): Promise<string[]> {
      let names: string[]
      try {
        names = await fs.readdir(dirs.records)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw fsError(err, root)
      }
      return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter(isUuid)
    },

    async listRecords(options: ListOptions & { onCorrupt?: (id: string, err: Error) => void } = {}) {
      const ids = await backend.listIds()
      const out: Versioned[] = []
      // One after another, without the thread pool: a few system calls per small file (see
      // readRegularFileSync). 10,000 records through fs.promises cost seconds, most of it round trips.
      // listIds let only UUIDs through: no path check or path.join per record (10,000 of them add up).
      const prefix = `${dirs.records}${path.sep}`
      for (const id of ids) {
        try {
          const text = readSmallFileSync(`${prefix}${id}.json`, MAX_RECORD_SIZE, `The record of staged release ${id}`, root)
          if (text === null) continue
          const v = { record: parseRecord(text, id), etag: etagOf(text) }
          if (options.packageName && v.record.packageName !== options.packageName) continue
          if (options.waiting && !isWaiting(v.record.state)) continue
          out.push(v)
        } catch (err) {
          if (options.onCorrupt && err instanceof StagePublishError && (err.code === 'ECORRUPT' || err.code === 'ETOOLARGE')) options.onCorrupt(id, err)
          else throw err
        }
      }
      return out.sort(newestFirst)
    },

    /**
     * listRecords for `list`'s table, through the listing cache: while the records folder is the one the cache
     * last saw whole, from the cache alone (the caller confirms what it shows); otherwise a record file whose
     * identity (lstat) is the one remembered is not read again, and every other one is read and parsed
     * strictly, as listRecords does.
     */
    async listSummaries(options: SummaryListOptions = {}): Promise<SummaryListing> {
      const cache = openListCache(root, listCacheDir)
      const { packageName, waiting } = options
      const wanted = (s: RecordSummary) => !(packageName && s.packageName !== packageName) && !(waiting && !isWaiting(s.state))
      const prefix = `${dirs.records}${path.sep}`
      // Before the names are read: a file added or removed while they are, changes it after this. (A folder that
      // cannot be looked at is not trusted; reading its names below says what is wrong.)
      let folder: BigIntStats | undefined
      try {
        folder = lstatSync(dirs.records, LSTAT)
      } catch {
        folder = undefined
      }
      const known = !options.checkEvery && folder ? cache.unchangedSince(folder) : null
      if (known) {
        return {
          summaries: known.filter(wanted).sort(newestFirstFast),
          confirm: (ids) => ids.every((id) => cache.confirm(id, lstatSync(`${prefix}${checkId(id)}.json`, LSTAT))),
        }
      }
      const ids = cache.ordered(await backend.listIds())
      const out: RecordSummary[] = []
      for (const id of ids) {
        const file = `${prefix}${id}.json`
        try {
          const st = lstatSync(file, LSTAT)
          let summary = st && cache.hit(id, st)
          if (!summary) {
            const read = st && readSmallFileWithStat(file, MAX_RECORD_SIZE, `The record of staged release ${id}`, root)
            if (!read) {
              cache.forget(id)
              continue
            }
            summary = summaryOf(parseRecord(read.text, id))
            cache.put(id, read.stat, summary)
          }
          if (wanted(summary)) out.push(summary)
        } catch (err) {
          cache.forget(id)
          if (options.onCorrupt && err instanceof StagePublishError && (err.code === 'ECORRUPT' || err.code === 'ETOOLARGE')) options.onCorrupt(id, err)
          else throw fsError(err, root)
        }
      }
      // newestFirst's order with a plain comparison (ISO times of one form sort the same, many times faster than
      // localeCompare), of records read in the cache's order: already sorted but for what changed.
      out.sort(newestFirstFast)
      cache.save(out, folder)
      return { summaries: out }
    },

    ...localSets(root, dirs.sets, writeTemp),
  } satisfies CasStagingBackend
  return backend
}

/** Release set objects (core/release-set.ts): created once with link(2), read strictly, listed by name. */
function localSets(root: string, dir: string, writeTemp: (bytes: string) => Promise<string>): Pick<CasStagingBackend, 'createSet' | 'getSet' | 'listSetIds'> {
  const setPath = (setId: string) => path.join(dir, `${checkSetId(setId)}.json`)
  return {
    async createSet(set: SetObject): Promise<CreateSetResult> {
      const target = setPath(set.setId)
      const tmp = await writeTemp(serializeSetObject(set))
      try {
        await fs.link(tmp, target)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { created: false, reason: 'exists' }
        throw fsError(err, root)
      } finally {
        await fs.rm(tmp, { force: true })
      }
      await syncDir(dir)
      return { created: true }
    },

    async getSet(setId: string): Promise<SetObject | null> {
      const text = await readSmallFile(setPath(setId), MAX_SET_BYTES, `The release set ${setId}`, root)
      return text === null ? null : parseSetObject(text, setId)
    },

    async listSetIds(): Promise<string[]> {
      let names: string[]
      try {
        names = await fs.readdir(dir)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw fsError(err, root)
      }
      return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter(isUuid)
    },
  }
}

/** readSmallFile, read synchronously (readRegularFileSync): for listings of many records. */
function readSmallFileSync(file: string, maxBytes: number, what: string, root: string): string | null {
  try {
    return readRegularFileSync(file, { maxBytes, what }).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw fsError(err, root)
  }
}

/** readSmallFileSync, and the file's identity before the read (for the listing cache). */
function readSmallFileWithStat(file: string, maxBytes: number, what: string, root: string): { text: string; stat: import('node:fs').BigIntStats } | null {
  try {
    const { bytes, stat } = readRegularFileSyncWithStat(file, { maxBytes, what })
    return { text: bytes.toString('utf8'), stat }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw fsError(err, root)
  }
}

/**
 * A small file anyone who can write the folder may have put there (a record, a set, a reservation):
 * bounded, never through a link, never waiting on a FIFO (readRegularFile); null when absent.
 */
async function readSmallFile(file: string, maxBytes: number, what: string, root: string): Promise<string | null> {
  try {
    return (await readRegularFile(file, { maxBytes, what })).toString('utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw fsError(err, root)
  }
}

const newestFirstFast = (a: RecordSummary, b: RecordSummary): number => {
  const x = a.createdAt
  const y = b.createdAt
  if (x !== y) return x < y ? 1 : -1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** lstat for the listing cache: nanosecond times, and no exception (a cost per record) when a record just went away. */
const LSTAT = { bigint: true, throwIfNoEntry: false } as const

const etagOf = (text: string): string => sha256Hex(text).slice(0, 32)

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p)
    return true
  } catch {
    return false
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fs.open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Not every file system lets a directory be fsynced; the rename is still atomic.
  }
}

const notAFile = (file: string) =>
  new StagePublishError('ECORRUPT', `${file} is not a regular file`, { hint: 'Nothing was changed. Inspect it and remove it by hand.' })

function fsError(err: unknown, root: string): Error {
  if (err instanceof StagePublishError) return err
  const e = err as NodeJS.ErrnoException
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new StagePublishError('EACCESSDENIED', `No permission to use the staging directory ${root}`, {
      hint: 'Check the owner and mode of the directory (it should be yours, mode 0700), or choose another with --backend file:<dir>.',
      cause: err,
    })
  }
  return new StagePublishError('EBACKEND', `The staging directory ${root} could not be used: ${e.message}`, {
    hint: 'Check that the disk is writable and has space, or choose another directory with --backend file:<dir>.',
    cause: err,
  })
}
