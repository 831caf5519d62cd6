/**
 * `list --older-than <duration>` (reminders): records of chosen ages written straight into a file backend,
 * listed by the real binary. Only releases still waiting and staged longer ago than the duration are listed;
 * a record that claims to be staged in the future is never "old".
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeRecord, type StagedRecord } from '../../src/core/record.js'
import { pendingRecord } from '../support/record-factory.mjs'
import { parseJson, sandbox } from '../support/cli.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const ago = (ms: number) => new Date(Date.now() - ms).toISOString()

async function storeWith(records: Array<Partial<StagedRecord>>) {
  const sb = await sandbox()
  const dir = path.join(sb.store, 'records')
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const written: StagedRecord[] = []
  for (const fields of records) {
    const record = pendingRecord(Buffer.from(randomUUID()), { expiresAt: new Date(Date.now() + 30 * DAY).toISOString(), ...fields })
    await fs.writeFile(path.join(dir, `${record.id}.json`), serializeRecord(record))
    written.push(record)
  }
  return { sb, written }
}

describe('list --older-than', () => {
  it('lists only releases waiting longer than the duration, newest first, as JSON and as a table', async () => {
    const { sb } = await storeWith([
      { packageName: 'fresh', createdAt: ago(1 * HOUR) },
      { packageName: 'two-days', createdAt: ago(2 * DAY) },
      { packageName: 'five-days', createdAt: ago(5 * DAY) },
      { packageName: 'old-rejected', createdAt: ago(9 * DAY), state: 'rejected', rejectedBy: 'x', rejectedAt: ago(8 * DAY) },
      { packageName: 'old-expired', createdAt: ago(10 * DAY), expiresAt: ago(3 * DAY) },
      { packageName: 'old-approving', createdAt: ago(4 * DAY), state: 'approving', claim: { by: 'me', at: ago(1000) } },
      // Hostile: a creation time in the future is not old, whatever the clock says.
      { packageName: 'from-the-future', createdAt: new Date(Date.now() + 400 * DAY).toISOString() },
    ])
    const r = await sb.run(['list', '--older-than', '1d', '--json', '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    expect(parseJson<Array<{ packageName: string; state: string }>>(r.stdout).map((x) => `${x.packageName}:${x.state}`)).toEqual(['two-days:pending', 'old-approving:approving', 'five-days:pending'])

    const three = await sb.run(['list', '--older-than', '3d', '--json', '--backend', sb.backend])
    expect(parseJson<Array<{ packageName: string }>>(three.stdout).map((x) => x.packageName)).toEqual(['old-approving', 'five-days'])

    const human = await sb.run(['list', '--older-than', '3d', '--backend', sb.backend])
    expect(human.code, human.all).toBe(0)
    expect(human.stdout).toContain('five-days@1.0.0')
    expect(human.stdout).not.toContain('two-days')

    // With --all, decided releases staged that long ago are listed too.
    const all = await sb.run(['list', '--older-than', '3d', '--all', '--json', '--backend', sb.backend])
    expect(parseJson<Array<{ packageName: string }>>(all.stdout).map((x) => x.packageName)).toEqual(['old-approving', 'five-days', 'old-rejected', 'old-expired'])
  })

  it('says when nothing waits that long, and refuses a duration that is not one (exit 2)', async () => {
    const { sb } = await storeWith([{ packageName: 'fresh', createdAt: ago(HOUR) }])
    const none = await sb.run(['list', '--older-than', '2h', '--backend', sb.backend])
    expect(none.code, none.all).toBe(0)
    expect(none.stdout).toContain('No staged releases waiting for approval for more than 2h in')
    expect(parseJson<unknown[]>((await sb.run(['list', '--older-than', '2h', '--json', '--backend', sb.backend])).stdout)).toEqual([])
    const bad = await sb.run(['list', '--older-than', 'soon', '--backend', sb.backend])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('is not a duration')
  })
})
