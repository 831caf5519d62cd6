/** Which reservations hold a name@version, decided on a real local backend in a temp folder. */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLocalBackend } from '../../src/backends/local.js'
import type { CasStagingBackend } from '../../src/backends/types.js'
import { reserveVersion } from '../../src/flows/reserve.js'
import { fakeTarball, makeRecord } from '../support/backend-contract.js'

let dir: string
let backend: CasStagingBackend
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-reserve-'))
  backend = createLocalBackend(dir)
})
afterEach(() => fs.rm(dir, { recursive: true, force: true }))

const codeOf = (p: Promise<unknown>) => p.then(() => 'reserved', (err: unknown) => {
  const e = err as { code?: string; message: string }
  return `${e.code ?? ''}: ${e.message}`
})
const now = new Date()

async function staged(overrides = {}) {
  const bytes = fakeTarball()
  const record = makeRecord(bytes, { packageName: 'r-pkg', ...overrides })
  await reserveVersion(backend, record, now)
  await backend.createRelease(record, bytes)
  return record
}

describe('reserveVersion', () => {
  it('refuses while the holder is pending, naming it; takes over once it expired', async () => {
    const first = await staged({ expiresAt: new Date(now.getTime() + 60_000).toISOString() })
    expect(await codeOf(reserveVersion(backend, makeRecord(fakeTarball(), { packageName: 'r-pkg' }), now))).toBe(`EALREADYSTAGED: r-pkg@1.0.0 is already staged and waiting for approval (id ${first.id})`)
    const later = new Date(now.getTime() + 120_000)
    const next = makeRecord(fakeTarball(), { packageName: 'r-pkg' })
    expect(await codeOf(reserveVersion(backend, next, later))).toBe('reserved')
    expect((await backend.getReservation('r-pkg', '1.0.0'))?.id).toBe(next.id)
  })

  it('refuses an approved holder', async () => {
    const first = await staged()
    const v = await backend.getRecord(first.id)
    await backend.updateRecord({ ...first, state: 'approved', approvedBy: 'alice' }, v?.etag ?? '')
    expect(await codeOf(reserveVersion(backend, makeRecord(fakeTarball(), { packageName: 'r-pkg' }), now))).toContain('was already approved by alice')
  })

  it('treats a reservation whose record is missing as a staging in progress, for a while', async () => {
    const ghost = randomUUID()
    expect(await backend.reserveVersion('r-pkg', '1.0.0', ghost)).toEqual({ reserved: true })
    const next = makeRecord(fakeTarball(), { packageName: 'r-pkg' })
    expect(await codeOf(reserveVersion(backend, next, now))).toContain(`is being staged right now`)
    expect(await codeOf(reserveVersion(backend, next, new Date(now.getTime() + 16 * 60_000)))).toBe('reserved')
  })

  it('replaces garbage, a corrupt holder, and a reservation naming another package', async () => {
    const file = path.join(dir, 'versions', 'r-pkg@1.0.0.json')
    await backend.reserveVersion('r-pkg', '1.0.0', randomUUID())
    await fs.writeFile(file, 'not json')
    expect(await codeOf(reserveVersion(backend, makeRecord(fakeTarball(), { packageName: 'r-pkg' }), now))).toBe('reserved')

    const other = await staged({ packageName: 'other-pkg' })
    await fs.writeFile(file, JSON.stringify({ id: other.id, at: now.toISOString() }))
    expect(await codeOf(reserveVersion(backend, makeRecord(fakeTarball(), { packageName: 'r-pkg' }), now))).toBe('reserved')

    const corrupt = randomUUID()
    await fs.writeFile(path.join(dir, 'records', `${corrupt}.json`), '{"schema": 1')
    await fs.writeFile(file, JSON.stringify({ id: corrupt, at: now.toISOString() }))
    expect(await codeOf(reserveVersion(backend, makeRecord(fakeTarball(), { packageName: 'r-pkg' }), now))).toBe('reserved')
  })
})
