/** The backend contract for the local-directory backend, in a fresh temp folder per test. */
import { execFile, execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalBackend } from '../../src/backends/local.js'
import { describeBackendContract, makeSet, stage } from '../support/backend-contract.js'

describeBackendContract('local directory', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-contract-'))
  return {
    backend: createLocalBackend(dir),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
    // The layout documented in src/backends/local.ts: <root>/records/<id>.json.
    corruptRecord: (id, text) => fs.writeFile(path.join(dir, 'records', `${id}.json`), text),
    // <root>/sets/<setId>.json, as src/backends/local.ts documents it.
    corruptSet: async (setId, text) => {
      await fs.mkdir(path.join(dir, 'sets'), { recursive: true })
      await fs.writeFile(path.join(dir, 'sets', `${setId}.json`), text)
    },
  }
})

describe('local directory: set objects written by someone else', () => {
  let dir: string
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-sets-'))
  })
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('never follows a link or waits on a FIFO at sets/<setId>.json', { timeout: 5000 }, async () => {
    const backend = createLocalBackend(dir)
    const real = makeSet(2)
    expect(await backend.createSet(real)).toEqual({ created: true })
    const linked = randomUUID()
    await fs.symlink(path.join(dir, 'sets', `${real.setId}.json`), path.join(dir, 'sets', `${linked}.json`))
    await expect(backend.getSet(linked)).rejects.toMatchObject({ code: 'ECORRUPT' })
    const fifo = randomUUID()
    await promisify(execFile)('mkfifo', [path.join(dir, 'sets', `${fifo}.json`)])
    await expect(backend.getSet(fifo)).rejects.toMatchObject({ code: 'ECORRUPT' })
    const folder = randomUUID()
    await fs.mkdir(path.join(dir, 'sets', `${folder}.json`))
    await expect(backend.getSet(folder)).rejects.toMatchObject({ code: 'ECORRUPT' })
  })

  it('writes the set object 0600 in a 0700 directory', async () => {
    const backend = createLocalBackend(dir)
    const set = makeSet(2)
    await backend.createSet(set)
    expect((await fs.stat(path.join(dir, 'sets'))).mode & 0o777).toBe(0o700)
    expect((await fs.stat(path.join(dir, 'sets', `${set.setId}.json`))).mode & 0o777).toBe(0o600)
  })
})

describe('local directory: inspecting a record to remove', () => {
  it('never follows a link nor waits on a FIFO put where a record lives', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-inspect-'))
    try {
      const backend = createLocalBackend(dir)
      const { record } = await stage(backend)
      const file = path.join(dir, 'records', `${record.id}.json`)
      await fs.rm(file)
      await fs.symlink('/etc/passwd', file)
      await expect(backend.inspectRecord(record.id)).rejects.toMatchObject({ code: 'ECORRUPT' })
      await fs.rm(file)
      execFileSync('mkfifo', [file])
      await expect(backend.inspectRecord(record.id)).rejects.toMatchObject({ code: 'ECORRUPT' })
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
