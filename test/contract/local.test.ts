/** The backend contract for the local-directory backend, in a fresh temp folder per test. */
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createLocalBackend } from '../../src/backends/local.js'
import { describe, expect, it } from 'vitest'
import { describeBackendContract, stage } from '../support/backend-contract.js'

describeBackendContract('local directory', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-contract-'))
  return {
    backend: createLocalBackend(dir),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
    // The layout documented in src/backends/local.ts: <root>/records/<id>.json.
    corruptRecord: (id, text) => fs.writeFile(path.join(dir, 'records', `${id}.json`), text),
  }
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
