/**
 * The backend contract for a registry's own staging API, against a real Verdaccio 9 with `flags.stage`:
 * a fresh registry per test (every user may see every staged item there, so nothing else may share it)
 * and a stager without 2FA, so approve and reject need no one-time password here (the 2FA paths are
 * end-to-end tests: test/e2e/registry-backend.test.ts). What of the contract applies to a native
 * backend, and what does not and why: see test/support/backend-contract.ts.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { create as tarCreate } from 'tar'
import { describe, it } from 'vitest'
import { createRegistryBackend } from '../../src/backends/registry.js'
import { describeBackendContract } from '../support/backend-contract.js'
import { startVerdaccio } from '../support/verdaccio.js'
import { verdaccioInstalled } from '../support/verdaccio-server.mjs'

/** A real package tarball (package/package.json, package/index.js), gzipped like npm pack's. */
export async function packageTarball(name: string, version: string): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-contract-tgz-'))
  try {
    await fs.mkdir(path.join(dir, 'package'))
    await fs.writeFile(path.join(dir, 'package', 'package.json'), JSON.stringify({ name, version, main: 'index.js' }))
    await fs.writeFile(path.join(dir, 'package', 'index.js'), `module.exports = ${JSON.stringify(`${name}@${version}`)}\n`)
    const chunks: Buffer[] = []
    const stream = tarCreate({ gzip: true, cwd: dir, portable: true }, ['package'])
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
    return Buffer.concat(chunks)
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

if (!verdaccioInstalled()) {
  console.warn('\n⚠  registry backend contract SKIPPED: Verdaccio is not installed (node test/support/ensure-verdaccio.mjs)\n')
  describe.skip('StagingBackend contract: registry staging API', () => it('needs Verdaccio', () => {}))
} else describeBackendContract(
  'registry staging API (Verdaccio 9)',
  async () => {
    const registry = await startVerdaccio()
    const user = await registry.createUser({ tfa: false })
    const flat = { registry: registry.url, [`//${registry.host}/:_authToken`]: user.token }
    return {
      backend: createRegistryBackend({ registry: registry.url, flat }),
      cleanup: () => registry.stop(),
      tarball: packageTarball,
    }
  },
  // One page of Verdaccio's listing is 100 items at most.
  { native: true, manyRecords: 120 },
)
