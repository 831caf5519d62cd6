/**
 * src/ui/render-approvals.ts: the count as people read it ("1 of 2 approvals; 1 more needed"), each
 * reason an approval does not count, the --json shapes, and hostile values from a record or a
 * statement (a principal, ssh-keygen's complaint) coming out inert.
 */
import { describe, expect, it } from 'vitest'
import { awaitingJson, countLine, renderApprovalList, renderAwaiting, renderVerified, verifiedJson, refusedLines, REFUSAL_WORDING } from '../../src/ui/render-approvals.js'
import type { Tally } from '../../src/core/approval-count.js'
import { plainText, style } from '../../src/ui/style.js'
import { sampleRecord } from '../support/records.js'

const now = new Date('2026-12-02T12:00:00.000Z')
const evil = `x\nFORGED: verified\r\u001b[32mOK\u202e\u200b`
const tally = (over: Partial<Tally> = {}): Tally => ({ required: 2, counted: [{ index: 0, principal: 'alice@example.com', fingerprint: 'SHA256:abc', at: now.toISOString() }], refused: [], met: false, needed: 1, ...over })

describe('render-approvals', () => {
  it('words the count', () => {
    expect(countLine(tally())).toBe('1 of 2 approvals; 1 more needed')
    expect(countLine(tally({ required: 1, met: true, needed: 0 }))).toBe('1 of 1 approval; the quorum is met')
    expect(renderAwaiting({ record: sampleRecord({ packageName: 'lib', version: '1.0.0' }), quorum: { tally: tally(), signed: 'signed', by: 'alice@example.com' }, now })).toBe(
      'Approved lib@1.0.0 as alice@example.com: 1 of 2 approvals; 1 more needed. Nothing was published.',
    )
  })

  it('--json says what was signed and how far the quorum is', () => {
    const json = awaitingJson({ record: sampleRecord(), quorum: { tally: tally({ refused: [{ index: 1, code: 'other-release', principal: 'bob' }] }), signed: 'already', by: 'alice@example.com' }, now })
    expect(json).toMatchObject({ published: false, signed: 'already', approvals: { required: 2, count: 1, needed: 1, met: false, signers: [{ principal: 'alice@example.com', keyid: 'SHA256:abc' }], refused: [{ index: 1, code: 'other-release', principal: 'bob' }] } })
  })

  it('every refusal has words, duplicates are not warned about', () => {
    const codes = Object.keys(REFUSAL_WORDING) as Array<keyof typeof REFUSAL_WORDING>
    const lines = refusedLines(tally({ refused: codes.map((code, index) => ({ index, code })) }))
    expect(lines).toHaveLength(codes.length - 1)
    expect(lines[1]).toBe('approval #2 does not count: it was signed for another release (package, version or bytes)')
  })

  it('hostile principals and ssh-keygen messages are inert', () => {
    const t = tally({ counted: [{ index: 0, principal: evil, fingerprint: evil, at: evil }], refused: [{ index: 1, code: 'signature', principal: evil, why: evil }] })
    const texts = [
      renderApprovalList({ record: sampleRecord({ packageName: 'lib' }), tally: t, now }, style),
      renderVerified({ name: 'lib', version: '1.0.0', registry: evil, integrity: evil, source: evil, tally: t }, style),
      renderAwaiting({ record: sampleRecord(), quorum: { tally: t, signed: 'signed', by: evil }, now }),
    ]
    for (const text of texts) {
      const plain = plainText(text)
      expect(plain).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e]/)
      for (const line of plain.split('\n')) expect(line).not.toMatch(/^\s*FORGED/)
    }
    expect(verifiedJson({ name: 'lib', version: '1.0.0', registry: 'r', integrity: 'i', source: 's', tally: t })).toMatchObject({ ok: false })
  })
})
