/** The backend contract for the local-directory backend, in a fresh temp folder per test. */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createLocalBackend } from '../../src/backends/local.js'
import { describeBackendContract } from '../support/backend-contract.js'

describeBackendContract('local directory', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-contract-'))
  return {
    backend: createLocalBackend(dir),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
    // The layout documented in src/backends/local.ts: <root>/records/<id>.json.
    corruptRecord: (id, text) => fs.writeFile(path.join(dir, 'records', `${id}.json`), text),
  }
})
