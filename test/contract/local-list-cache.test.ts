/**
 * The local backend's listing cache (src/backends/list-cache.ts): kept outside the backend, it spares `list`
 * reading unchanged records, and never shows anything but what the records hold now.
 */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalBackend } from '../../src/backends/local.js'
import { loadCache, summaryOf } from '../../src/backends/list-cache.js'
import type { CasStagingBackend, RecordSummary, SummaryListing, SummaryListOptions } from '../../src/backends/types.js'
import { serializeRecord } from '../../src/core/record.js'
import { stage } from '../support/backend-contract.js'

let dir: string
let root: string
let cacheDir: string
let backend: CasStagingBackend

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-list-cache-'))
  root = path.join(dir, 'store')
  cacheDir = path.join(dir, 'cache')
  backend = createLocalBackend(root, { listCacheDir: cacheDir })
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const cacheFile = async (): Promise<string> => {
  const names = (await fs.readdir(cacheDir)).filter((n) => n.endsWith('.txt'))
  expect(names).toHaveLength(1)
  return path.join(cacheDir, names[0] as string)
}
const recordFile = (id: string) => path.join(root, 'records', `${id}.json`)
/** listSummaries as it answers: from the cache alone (with `confirm`) when the records folder is unchanged. */
const listing = async (options: SummaryListOptions = {}): Promise<SummaryListing> => (backend.listSummaries as NonNullable<CasStagingBackend['listSummaries']>)(options)
/** A listing as `list` makes it when it shows every row: confirmed against the files, or checked whole. */
async function list(options: SummaryListOptions = {}): Promise<RecordSummary[]> {
  const first = await listing(options)
  if (!first.confirm || first.confirm(first.summaries.map((s) => s.id))) return first.summaries
  const again = await listing({ ...options, checkEvery: true })
  expect(again.confirm).toBeUndefined()
  return again.summaries
}

/**
 * A cache entry is trusted only once the cache is older than the entry's change by a couple of seconds (coarse
 * file-system clocks); tests make it so by dating the cache file ahead, as if it had been written later.
 */
async function ageCache(): Promise<void> {
  const later = new Date(Date.now() + 60_000)
  await fs.utimes(await cacheFile(), later, later)
}

/** The cache as written, with every record's line changed by `edit` (its fields, id first): what a listing that used it would show. */
async function plantInCache(edit: (fields: string[]) => void): Promise<string> {
  const file = await cacheFile()
  const [header1, header2, header3, ...lines] = (await fs.readFile(file, 'utf8')).split('\n')
  const edited = lines.map((line) => {
    if (line === '') return line
    const fields = line.split('\t')
    edit(fields)
    return fields.join('\t')
  })
  const text = [header1, header2, header3, ...edited].join('\n')
  await fs.writeFile(file, text)
  await ageCache()
  return text
}
const TAG = 4

describe('local listing cache', () => {
  it('lists what listRecords lists, kept outside the backend folder, 0600 in a 0700 directory', async () => {
    const a = await stage(backend, { packageName: 'a', createdAt: '2026-01-01T00:00:00.000Z' })
    const b = await stage(backend, { packageName: 'b', createdAt: '2026-01-02T00:00:00.000Z', state: 'approved', approvedAt: '2026-01-03T00:00:00.000Z', approvedBy: 'alice' })
    const before = await fs.readdir(root, { recursive: true })
    const expected = (await backend.listRecords()).map((v) => summaryOf(v.record))
    expect(expected.map((s) => s.id)).toEqual([b.record.id, a.record.id])
    expect(await list()).toEqual(expected)
    // From the cache this time: the same.
    await ageCache()
    expect(await list()).toEqual(expected)
    expect(await list({ waiting: true })).toEqual([summaryOf(a.record)])
    expect(await list({ packageName: 'b' })).toEqual([summaryOf(b.record)])
    expect(await fs.readdir(root, { recursive: true })).toEqual(before)
    expect((await fs.stat(cacheDir)).mode & 0o777).toBe(0o700)
    expect((await fs.stat(await cacheFile())).mode & 0o777).toBe(0o600)
  })

  it('answers an unchanged record from the cache (it is not read again)', async () => {
    await stage(backend, { tag: 'latest' })
    await list()
    // Only a listing that used the cache can show what the cache says: the mechanism is in use.
    await plantInCache((row) => (row[TAG] = 'cached'))
    expect((await list()).map((s) => s.tag)).toEqual(['cached'])
  })

  it('does not trust what it cached of a record changed just before the cache was written (coarse clocks)', async () => {
    await stage(backend, { tag: 'latest' })
    await list()
    const file = await cacheFile()
    const { mtime } = await fs.stat(file)
    await plantInCache((row) => (row[TAG] = 'cached'))
    // Back to when it was written: the record changed within a tick of that, so a second change could hide in it.
    await fs.utimes(file, mtime, mtime)
    expect((await list()).map((s) => s.tag)).toEqual(['latest'])
  })

  it('reads a record again when it changed, even at the same size with its mtime put back (ctime)', async () => {
    const { record } = await stage(backend, { version: '1.0.0' })
    const file = recordFile(record.id)
    // Times a whole millisecond, so utimes can put them back exactly (mtimeNs and all).
    const atime = new Date('2026-01-01T00:00:00.000Z')
    const mtime = new Date('2026-01-02T00:00:00.000Z')
    await fs.utimes(file, atime, mtime)
    const { size, mtimeNs } = await fs.stat(file, { bigint: true })
    await list()
    await ageCache()
    await new Promise((r) => setTimeout(r, 30))
    const changed = serializeRecord({ ...record, version: '6.6.6' })
    expect(BigInt(Buffer.byteLength(changed))).toBe(size)
    // In place (same inode), same size, and the times set back: only ctime tells.
    const fh = await fs.open(file, 'r+')
    await fh.write(changed, 0)
    await fh.close()
    await fs.utimes(file, atime, mtime)
    const after = await fs.stat(file, { bigint: true })
    expect([after.size, after.mtimeNs]).toEqual([size, mtimeNs])
    expect((await list()).map((s) => s.version)).toEqual(['6.6.6'])
  })

  it('reads a record again when another file took its place', async () => {
    const { record } = await stage(backend, { tag: 'latest' })
    await list()
    await ageCache()
    const tmp = path.join(dir, 'replacement.json')
    await fs.writeFile(tmp, serializeRecord({ ...record, tag: 'beta' }))
    await fs.rename(tmp, recordFile(record.id))
    expect((await list()).map((s) => s.tag)).toEqual(['beta'])
  })

  it('drops a deleted record, and notices one that became corrupt', async () => {
    const gone = await stage(backend)
    const bad = await stage(backend)
    const kept = await stage(backend)
    await list()
    await ageCache()
    await fs.rm(recordFile(gone.record.id))
    await fs.writeFile(recordFile(bad.record.id), '{"schema":1,"id":"not this"}')
    const corrupt: string[] = []
    expect((await list({ onCorrupt: (id) => corrupt.push(id) })).map((s) => s.id)).toEqual([kept.record.id])
    expect(corrupt).toEqual([bad.record.id])
    // The cache forgot the deleted record.
    const cached = loadCache(await cacheFile(), await fs.realpath(root))
    expect([...(cached?.entries.keys() ?? [])]).toEqual([kept.record.id])
  })

  it('never answers from a record that was replaced by a link', async () => {
    const { record } = await stage(backend)
    const other = await stage(backend, { packageName: 'other' })
    await list()
    await ageCache()
    await fs.rm(recordFile(record.id))
    await fs.symlink(recordFile(other.record.id), recordFile(record.id))
    const corrupt: string[] = []
    expect((await list({ onCorrupt: (id) => corrupt.push(id) })).map((s) => s.id)).toEqual([other.record.id])
    expect(corrupt).toEqual([record.id])
  })

  it('ignores a cache that is corrupt, truncated, of another format or another backend, or holds unsafe text', async () => {
    const { record } = await stage(backend, { tag: 'latest', actor: 'ci-bot' })
    await list()
    const good = await fs.readFile(await cacheFile(), 'utf8')
    const line = good.split('\n')[3] as string
    const variants = [
      'not a cache',
      good.slice(0, good.length - 10),
      good.replace('stage-publish list cache 3', 'stage-publish list cache 2'),
      good.replace(/\nfolder [^\n]*\n/, '\n'),
      good.replace(/\nfolder [^\n]*\n/, '\nfolder 1:2:3\n'),
      good.replace(JSON.stringify(await fs.realpath(root)), JSON.stringify('/elsewhere')),
      good.replace('\tci-bot\t', '\t\u001b]0;owned\u0007\t').replace('\tlatest\t', '\tcached\t'),
      good.replace('\tci-bot\t', '\tci\u202ebot\t').replace('\tlatest\t', '\tcached\t'),
      good.replace('\tci-bot\t', '\tci\rbot\t').replace('\tlatest\t', '\tcached\t'),
      good.replace('\tlatest\t', '\t\t'),
      good.replace('\tlatest\t', '\tcached\textra\t'),
      good.replace('\tpending\t', '\tpublished\t').replace('\tlatest\t', '\tcached\t'),
      good.replace('\tlatest\t', `\t${'x'.repeat(200)}\t`),
      // The same record twice: not a file we wrote.
      `${good}${line.replace('\tlatest\t', '\tcached\t')}\n`,
      // An id no record file can have (a listing answered from the cache alone would show it).
      `${good}${line.replace(/^[^\t]+/, 'x'.repeat(36))}\n`,
      `${good}${line.replace(/^[^\t]+/, '../../../../../../etc/passwd-0000000')}\n`,
    ]
    for (const text of variants) {
      await fs.writeFile(await cacheFile(), text)
      await ageCache()
      const listed = await list()
      expect(listed, text.slice(0, 80)).toEqual([summaryOf(record)])
    }
  })

  it('ignores a cache file others may write, and one that is a link or a FIFO (never followed, never waited on)', { timeout: 10_000 }, async () => {
    await stage(backend, { tag: 'latest' })
    await list()
    const planted = await plantInCache((row) => (row[TAG] = 'planted'))
    expect((await list()).map((s) => s.tag)).toEqual(['planted'])
    const file = await cacheFile()

    await fs.writeFile(file, planted)
    await fs.chmod(file, 0o666)
    await ageCache()
    expect((await list()).map((s) => s.tag)).toEqual(['latest'])

    // A link to a planted cache: not followed, and not written through either.
    const elsewhere = path.join(dir, 'elsewhere.json')
    await fs.writeFile(elsewhere, planted, { mode: 0o600 })
    const later = new Date(Date.now() + 60_000)
    await fs.utimes(elsewhere, later, later)
    await fs.rm(file)
    await fs.symlink(elsewhere, file)
    expect((await list()).map((s) => s.tag)).toEqual(['latest'])
    expect(await fs.readFile(elsewhere, 'utf8')).toBe(planted)

    await fs.rm(file)
    await promisify(execFile)('mkfifo', [file])
    expect((await list()).map((s) => s.tag)).toEqual(['latest'])
  })

  it('keeps nothing of a record it could not read as one', async () => {
    const { record } = await stage(backend)
    await fs.writeFile(recordFile(record.id), serializeRecord({ ...record, actor: 'x\u001b[2Jy' }).replace('x\\u001b[2Jy', 'x\u001b[2Jy'))
    const corrupt: string[] = []
    expect(await list({ onCorrupt: (id) => corrupt.push(id) })).toEqual([])
    expect(corrupt).toEqual([record.id])
    expect(loadCache(await cacheFile(), await fs.realpath(root))?.entries.size).toBe(0)
  })

  it('answers from the cache alone while the records folder is unchanged, and confirms only what it is asked to', async () => {
    const a = await stage(backend, { tag: 'latest', createdAt: '2026-01-01T00:00:00.000Z' })
    const b = await stage(backend, { tag: 'latest', createdAt: '2026-01-02T00:00:00.000Z' })
    await list()
    await plantInCache((row) => (row[TAG] = 'cached'))
    const first = await listing()
    // Only the cache says "cached": nothing was read, and the answer says it must be confirmed.
    expect(first.summaries.map((s) => [s.id, s.tag])).toEqual([[b.record.id, 'cached'], [a.record.id, 'cached']])
    expect(first.confirm?.([b.record.id, a.record.id])).toBe(true)
    // Record a rewritten in place (which the tool never does: the folder does not change).
    const fh = await fs.open(recordFile(a.record.id), 'r+')
    await fh.write(serializeRecord({ ...a.record, tag: 'beta' }).padEnd((await fh.stat()).size), 0)
    await fh.close()
    const second = await listing()
    expect(second.confirm?.([b.record.id])).toBe(true)
    expect(second.confirm?.([a.record.id])).toBe(false)
    expect(second.confirm?.([b.record.id, a.record.id])).toBe(false)
    // What a failed confirmation asks for: every file checked, the rewritten one read again.
    const checked = await listing({ checkEvery: true })
    expect(checked.confirm).toBeUndefined()
    expect(checked.summaries.map((s) => s.tag)).toEqual(['cached', 'beta'])
    // A record removed behind the cache's back cannot be confirmed either.
    await fs.rm(recordFile(b.record.id))
    expect(first.confirm?.([b.record.id])).toBe(false)
  })

  it('checks every file once a record was added, changed or removed the way the tool does (the folder changed)', async () => {
    const a = await stage(backend, { tag: 'latest' })
    await list()
    await plantInCache((row) => (row[TAG] = 'cached'))
    expect((await listing()).confirm).toBeDefined()
    // Approved through the backend: a new file renamed over the record.
    const current = await backend.getRecord(a.record.id)
    expect((await backend.updateRecord({ ...a.record, state: 'approved', approvedAt: new Date().toISOString(), approvedBy: 'alice' }, current?.etag as string)).updated).toBe(true)
    const afterUpdate = await listing()
    expect(afterUpdate.confirm).toBeUndefined()
    expect(afterUpdate.summaries.map((s) => [s.tag, s.state])).toEqual([['latest', 'approved']])

    await ageCache()
    expect((await listing()).confirm).toBeDefined()
    const added = await stage(backend, { tag: 'next', createdAt: '2027-01-01T00:00:00.000Z' })
    const afterAdd = await listing()
    expect(afterAdd.confirm).toBeUndefined()
    expect(afterAdd.summaries.map((s) => s.id)).toEqual([added.record.id, a.record.id])

    await ageCache()
    expect((await listing()).confirm).toBeDefined()
    await fs.rm(recordFile(added.record.id))
    const afterRemove = await listing()
    expect(afterRemove.confirm).toBeUndefined()
    expect(afterRemove.summaries.map((s) => s.id)).toEqual([a.record.id])
  })

  it('does not trust the folder when it changed just before the cache was written (coarse clocks)', async () => {
    await stage(backend)
    await list()
    // The cache was written within a tick of the folder's last change: a change in that tick would not show.
    const racy = await listing()
    expect(racy.confirm).toBeUndefined()
    await ageCache()
    expect((await listing()).confirm).toBeDefined()
  })

  it('never trusts the folder while a record in it cannot be read: the warning is given every time', async () => {
    const good = await stage(backend)
    const bad = await stage(backend)
    await fs.writeFile(recordFile(bad.record.id), '{"schema":1,"id":"not this"}')
    for (let i = 0; i < 2; i++) {
      const corrupt: string[] = []
      const answer = await listing({ onCorrupt: (id) => corrupt.push(id) })
      expect(answer.confirm).toBeUndefined()
      expect(answer.summaries.map((s) => s.id)).toEqual([good.record.id])
      expect(corrupt).toEqual([bad.record.id])
      await ageCache()
    }
    expect(await fs.readFile(await cacheFile(), 'utf8')).toContain('\nfolder -\n')
  })

  it('works without a cache directory it can write (a read-only home): it only reads every record', async () => {
    await fs.writeFile(cacheDir, 'a file, not a directory')
    const { record } = await stage(backend)
    expect(await list()).toEqual([summaryOf(record)])
  })
})
