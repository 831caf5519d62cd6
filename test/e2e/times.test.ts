/**
 * One way to show a time everywhere, the list's: `2026-11-26 14:05 UTC (3h ago)`. And a release that
 * was decided (approved, rejected, expired) shows no expiry: it no longer waits for anything.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sandbox, type Sandbox } from '../support/cli.js'
import { sampleRecord } from '../support/records.js'
import type { StagedRecord } from '../../src/core/record.js'

const HOUR = 3600_000
const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString()
/** What formatTime shows for an ISO time about `hours` ago. */
const shown = (iso: string, rel: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC (${rel})`

async function withRecord(over: Partial<StagedRecord>): Promise<{ sb: Sandbox; record: StagedRecord }> {
  const sb = await sandbox()
  const record = sampleRecord({ id: crypto.randomUUID(), createdAt: ago(5 * HOUR), expiresAt: inFuture(24 * HOUR), ...over })
  await fs.mkdir(path.join(sb.store, 'records'), { recursive: true })
  await fs.writeFile(path.join(sb.store, 'records', `${record.id}.json`), JSON.stringify(record))
  return { sb, record }
}

describe('times', () => {
  it('approve of an approved release says when, as the list does', async () => {
    const approvedAt = ago(3 * HOUR)
    const { sb, record } = await withRecord({ state: 'approved', approvedBy: 'alice@laptop', approvedAt })
    const r = await sb.run(['approve', record.id, '--yes', '--otp', '123456', '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    expect(r.stdout).toContain(`already approved by alice@laptop ${shown(approvedAt, '3h ago')}`)
  })

  it('approve of a rejected or expired release says when, as the list does', async () => {
    const rejectedAt = ago(2 * HOUR)
    const rejected = await withRecord({ state: 'rejected', rejectedBy: 'bob@laptop', rejectedAt, rejectReason: 'no' })
    const r = await rejected.sb.run(['approve', rejected.record.id, '--yes', '--otp', '123456', '--backend', rejected.sb.backend])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`rejected by bob@laptop ${shown(rejectedAt, '2h ago')}`)

    const expiresAt = ago(4 * HOUR)
    const expired = await withRecord({ expiresAt })
    const e = await expired.sb.run(['approve', expired.record.id, '--yes', '--otp', '123456', '--backend', expired.sb.backend])
    expect(e.code).toBe(1)
    expect(e.stderr).toContain(`expired ${shown(expiresAt, '4h ago')}`)
  })

  it('view shows an expiry only while a release waits for a decision', async () => {
    const pending = await withRecord({})
    const p = await pending.sb.run(['view', pending.record.id, '--backend', pending.sb.backend])
    expect(p.stdout).toContain(`expires:     ${shown(pending.record.expiresAt!, 'in 24h')}`)

    for (const over of [
      { state: 'rejected' as const, rejectedBy: 'bob', rejectedAt: ago(HOUR) },
      { state: 'approved' as const, approvedBy: 'alice', approvedAt: ago(HOUR) },
      { expiresAt: ago(HOUR) },
    ]) {
      const { sb, record } = await withRecord(over)
      const v = await sb.run(['view', record.id, '--backend', sb.backend])
      expect(v.stdout, v.all).toContain(record.id)
      expect(v.stdout, v.all).not.toContain('expires:')
    }
  })
})
