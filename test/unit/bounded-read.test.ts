import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { MAX_RECORD_SIZE } from '../../src/core/limits.js'
import { createLocalBackend } from '../../src/backends/local.js'
import { readManifest } from '../../src/npm/pack.js'
import { readRegularFile, readRegularFileSync, readStreamBounded } from '../../src/backends/bounded-read.js'
import { StagePublishError } from '../../src/errors.js'
import { sampleRecord } from '../support/records.js'
import { packageTgz } from '../support/tarball-builder.js'

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bounded-read-'))
afterAll(() => fs.rm(root, { recursive: true, force: true }))

const failure = async (p: Promise<unknown>): Promise<StagePublishError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StagePublishError)
  return err as StagePublishError
}

/** Fails the test instead of hanging it when a read blocks. */
const quickly = <T>(p: Promise<T>, ms = 2000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still blocked after ${ms} ms`)), ms).unref())])

describe("a local backend's tarball that is not a regular file", () => {
  let dir: string
  const record = sampleRecord()
  const tarball = () => path.join(dir, 'tarballs', `${record.id}.tgz`)
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(root, 'backend-'))
    await createLocalBackend(dir).createRelease(record, packageTgz({ name: 'pkg', version: '1.0.0' }))
    await fs.rm(tarball())
  })

  it('a FIFO is refused at once instead of blocking forever', async () => {
    execFileSync('mkfifo', [tarball()])
    const err = await failure(quickly(createLocalBackend(dir).getTarball(record.id)))
    expect(err.code).toBe('ECORRUPT')
    expect(err.message).toBe(`The staged tarball of ${record.id} is not a regular file: it is a FIFO`)
  })

  it('a symbolic link to /dev/zero is refused without being followed', async () => {
    await fs.symlink('/dev/zero', tarball())
    const err = await failure(quickly(createLocalBackend(dir).getTarball(record.id)))
    expect(err.code).toBe('ECORRUPT')
    expect(err.message).toContain('it is a symbolic link')
  })

  it('a symbolic link to a real tarball is refused too (the backend only ever writes files)', async () => {
    const elsewhere = path.join(dir, 'elsewhere.tgz')
    await fs.writeFile(elsewhere, packageTgz({ name: 'pkg', version: '1.0.0' }))
    await fs.symlink(elsewhere, tarball())
    expect((await failure(createLocalBackend(dir).getTarball(record.id))).message).toContain('symbolic link')
  })

  it('a directory is refused', async () => {
    await fs.mkdir(tarball())
    expect((await failure(createLocalBackend(dir).getTarball(record.id))).message).toContain('it is a directory')
  })

  it('a file over the packed-size limit is ETOOLARGE, without reading it', async () => {
    await fs.writeFile(tarball(), Buffer.alloc(4096))
    process.env.STAGE_PUBLISH_MAX_PACKED_SIZE = '1k'
    try {
      const err = await failure(createLocalBackend(dir).getTarball(record.id))
      expect(err.code).toBe('ETOOLARGE')
      expect(err.hint).toContain('STAGE_PUBLISH_MAX_PACKED_SIZE')
    } finally {
      delete process.env.STAGE_PUBLISH_MAX_PACKED_SIZE
    }
  })

  it('a missing tarball is still ENOTFOUND', async () => {
    expect((await failure(createLocalBackend(dir).getTarball(record.id))).code).toBe('ENOTFOUND')
  })

  it('a regular file is read', async () => {
    const bytes = packageTgz({ name: 'pkg', version: '1.0.0' })
    await fs.writeFile(tarball(), bytes)
    expect(await createLocalBackend(dir).getTarball(record.id)).toEqual(bytes)
  })
})

describe("a local backend's record that is not a small regular file", () => {
  let dir: string
  const record = sampleRecord()
  const recordFile = () => path.join(dir, 'records', `${record.id}.json`)
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(root, 'backend-'))
    await createLocalBackend(dir).createRelease(record, packageTgz({ name: 'pkg', version: '1.0.0' }))
  })

  it('a FIFO record is reported as corrupt by list, which goes on', async () => {
    await fs.rm(recordFile())
    execFileSync('mkfifo', [recordFile()])
    const corrupt: string[] = []
    const listed = await quickly(createLocalBackend(dir).listRecords({ onCorrupt: (id) => corrupt.push(id) }))
    expect(listed).toEqual([])
    expect(corrupt).toEqual([record.id])
    expect((await failure(quickly(createLocalBackend(dir).getRecord(record.id)))).code).toBe('ECORRUPT')
  })

  it('a record over 16 MiB is ETOOLARGE, and list skips it as unreadable', async () => {
    await fs.writeFile(recordFile(), `{"pad":"${'x'.repeat(MAX_RECORD_SIZE)}"}`)
    expect((await failure(createLocalBackend(dir).getRecord(record.id))).code).toBe('ETOOLARGE')
    const corrupt: string[] = []
    expect(await createLocalBackend(dir).listRecords({ onCorrupt: (id) => corrupt.push(id) })).toEqual([])
    expect(corrupt).toEqual([record.id])
  })
})

describe('readRegularFile and readStreamBounded', () => {
  it('follow a symbolic link only when asked (a path the user typed)', async () => {
    const target = path.join(root, 'target.tgz')
    const link = path.join(root, 'link.tgz')
    await fs.writeFile(target, 'abc')
    await fs.symlink(target, link)
    expect((await readRegularFile(link, { maxBytes: 10, what: 'x', followSymlinks: true })).toString()).toBe('abc')
    expect((await failure(readRegularFile(link, { maxBytes: 10, what: 'x' }))).message).toContain('symbolic link')
  })

  it('read a file of any size up to the limit whole, in chunks sized by the file, synchronously or not', async () => {
    const file = path.join(root, 'big.json')
    const bytes = Buffer.alloc(2.5 * 1024 * 1024 + 3, 7)
    await fs.writeFile(file, bytes)
    for (const read of [readRegularFileSync, readRegularFile]) {
      expect(Buffer.compare(await read(file, { maxBytes: bytes.length, what: 'x' }), bytes)).toBe(0)
      expect((await failure(Promise.resolve().then(() => read(file, { maxBytes: bytes.length - 1, what: 'The record' })))).code).toBe('ETOOLARGE')
    }
    await fs.writeFile(file, '')
    expect(readRegularFileSync(file, { maxBytes: 10, what: 'x' })).toEqual(Buffer.alloc(0))
  })

  it('the synchronous reader refuses links, FIFOs and devices as the other does', async () => {
    const target = path.join(root, 'target.json')
    const link = path.join(root, 'link.json')
    const fifo = path.join(root, 'fifo.json')
    await fs.writeFile(target, '{}')
    await fs.symlink(target, link)
    execFileSync('mkfifo', [fifo])
    const refusal = (file: string) => {
      try {
        readRegularFileSync(file, { maxBytes: 10, what: 'The record' })
      } catch (err) {
        return (err as Error).message
      }
      return 'read'
    }
    expect(refusal(link)).toBe('The record is not a regular file: it is a symbolic link')
    expect(refusal(fifo)).toBe('The record is not a regular file: it is a FIFO')
    expect(refusal('/dev/zero')).toBe('The record is not a regular file: it is a character device')
  })

  it('a character device is refused even when the user names it', async () => {
    const err = await failure(quickly(readRegularFile('/dev/zero', { maxBytes: 10, what: 'The tarball zero', followSymlinks: true })))
    expect(err.message).toBe('The tarball zero is not a regular file: it is a character device')
  })

  it('a stream stops as soon as it passes the limit', async () => {
    let produced = 0
    const endless = new Readable({
      read() {
        produced += 1024
        this.push(Buffer.alloc(1024))
      },
    })
    const err = await failure(quickly(readStreamBounded(endless, { maxBytes: 64 * 1024, what: 'The download', limitEnv: 'STAGE_PUBLISH_MAX_PACKED_SIZE' })))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toBe('The download is more than 64 KiB')
    expect(produced).toBeLessThan(1024 * 1024)
    expect(await readStreamBounded(Readable.from([Buffer.from('ab'), Buffer.from('c')]), { maxBytes: 3, what: 'x' })).toEqual(Buffer.from('abc'))
  })
})

describe('staging a .tgz reads it through the same bounded, strict path', () => {
  it('a FIFO named like a tarball is refused at once', async () => {
    const fifo = path.join(root, 'named.tgz')
    execFileSync('mkfifo', [fifo])
    const err = await failure(quickly(readManifest({ type: 'file', path: fifo, raw: fifo }, {})))
    expect(err.message).toBe('The tarball named.tgz is not a regular file: it is a FIFO')
  })

  it('the manifest is the one publishManifest builds from the strict reading', async () => {
    const file = path.join(root, 'ok.tgz')
    await fs.writeFile(file, packageTgz({ name: 'pkg', version: '1.0.0', bin: './cli.js' }, { 'cli.js': '' }))
    expect(await readManifest({ type: 'file', path: file, raw: file }, {})).toMatchObject({ name: 'pkg', version: '1.0.0', bin: { pkg: 'cli.js' }, _id: 'pkg@1.0.0' })
  })
})
