/** The backend contract for the in-memory record store (src/backends/memory.ts), a fresh one per test. */
import { describe, expect, it } from 'vitest'
import { describeBackendContract, stage } from '../support/backend-contract.js'
import { createMemoryBackend } from '../../src/backends/memory.js'
import { markerPath, parseMarkerPath } from '../../src/backends/pending-markers.js'

describeBackendContract('memory', async () => {
  const backend = createMemoryBackend()
  const names = () => [...backend.raw.markers.keys()].map((key) => parseMarkerPath(key)).map((m) => `${m?.name} ${m?.id}`).sort()
  return {
    backend,
    cleanup: async () => {},
    markers: {
      plant: async (name, id) => {
        backend.raw.markers.set(markerPath(name, id), Date.now())
      },
      remove: async (name, id) => {
        backend.raw.markers.delete(markerPath(name, id))
      },
      list: async () => names(),
      makeLegacy: async () => {
        backend.raw.markers.clear()
        backend.raw.migrated = false
      },
      reopen: ({ aheadMs = 0, maxMarkers }) => createMemoryBackend('memory', { sharing: backend, now: () => Date.now() + aheadMs, ...(maxMarkers !== undefined && { maxMarkers }) }),
    },
    // Where the record of this id is kept: anyone with write access can put any text there.
    corruptRecord: async (id, text) => {
      backend.raw.writeRecord(id, text)
    },
    corruptSet: async (setId, text) => {
      backend.raw.sets.set(setId, text)
    },
  }
}, { markers: true })

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
