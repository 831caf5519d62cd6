/** The backend contract for the in-memory record store (src/backends/memory.ts), a fresh one per test. */
import { describe, expect, it } from 'vitest'
import { describeBackendContract, stage } from '../support/backend-contract.js'
import { createMemoryBackend } from '../../src/backends/memory.js'

describeBackendContract('memory', async () => {
  const backend = createMemoryBackend()
  return {
    backend,
    cleanup: async () => {},
    // Where the record of this id is kept: anyone with write access can put any text there.
    corruptRecord: async (id, text) => {
      backend.raw.writeRecord(id, text)
    },
    corruptSet: async (setId, text) => {
      backend.raw.sets.set(setId, text)
    },
  }
})

describe('memory backend: what only it promises', () => {
  it('gives every write a new etag, even one that stores the same text again', async () => {
    const backend = createMemoryBackend()
    const { record, etag } = await stage(backend)
    const claimed = await backend.updateRecord({ ...record, state: 'approving', claim: { by: 'bob', at: new Date().toISOString() } }, etag)
    const back = claimed.updated ? await backend.updateRecord(record, claimed.etag) : claimed
    expect(back.updated).toBe(true)
    // The record reads as it did, but it was changed in between: the first etag no longer wins.
    expect((await backend.getRecord(record.id))?.record).toEqual(record)
    expect(await backend.updateRecord({ ...record, state: 'rejected' }, etag)).toEqual({ updated: false, reason: 'conflict' })
  })

  it('keeps its own copy of the bytes', async () => {
    const backend = createMemoryBackend()
    const { record, bytes } = await stage(backend)
    const copy = Buffer.from(bytes)
    bytes.fill(0)
    ;(await backend.getTarball(record.id)).fill(1)
    expect(Buffer.compare(await backend.getTarball(record.id), copy)).toBe(0)
  })
})
