/** The record's `finalHop` (the item an approval staged on the registry): read strictly like every record field. */
import { describe, expect, it } from 'vitest'
import { checkRecord } from '../../src/core/record-schema.js'
import { finalHopChoice } from '../../src/flows/final-hop.js'
import { sampleRecord } from '../support/records.js'

const hop = { registry: 'https://registry.npmjs.org/', stageId: '0b0c4a5e-8a7d-4a8e-9b1c-2d3e4f5a6b7c', at: '2026-12-02T16:00:00.000Z' }
const read = (finalHop: unknown) => checkRecord({ ...sampleRecord(), finalHop }, { store: true })

describe('record.finalHop', () => {
  it('is kept when well formed, with only its known fields', () => {
    const r = read({ ...hop, extra: 'dropped' })
    expect(r.ok && r.record.finalHop).toEqual(hop)
  })

  it('makes the record corrupt when it is not an item id on a registry', () => {
    expect(read('x')).toMatchObject({ ok: false, field: 'finalHop' })
    expect(read({ ...hop, stageId: '../../x' })).toMatchObject({ ok: false, field: 'finalHop.stageId' })
    expect(read({ ...hop, stageId: hop.stageId.toUpperCase() })).toMatchObject({ ok: false, field: 'finalHop.stageId' })
    expect(read({ ...hop, registry: 'file:///etc/' })).toMatchObject({ ok: false, field: 'finalHop.registry' })
    expect(read({ ...hop, registry: 'https://evil.example/\u202e/' })).toMatchObject({ ok: false, field: 'finalHop.registry' })
    expect(read({ ...hop, at: 'yesterday' })).toMatchObject({ ok: false, field: 'finalHop.at' })
  })
})

describe('finalHopChoice', () => {
  it('the flag, else STAGE_PUBLISH_FINAL_HOP, else auto; a bad value is a usage error', () => {
    expect(finalHopChoice('stage', { STAGE_PUBLISH_FINAL_HOP: 'publish' })).toBe('stage')
    expect(finalHopChoice(undefined, { STAGE_PUBLISH_FINAL_HOP: 'publish' })).toBe('publish')
    expect(finalHopChoice(undefined, {})).toBe('auto')
    expect(finalHopChoice(undefined, { STAGE_PUBLISH_FINAL_HOP: '' })).toBe('auto')
    expect(() => finalHopChoice(undefined, { STAGE_PUBLISH_FINAL_HOP: 'yes' })).toThrow(expect.objectContaining({ code: 'EUSAGE' }))
  })
})
