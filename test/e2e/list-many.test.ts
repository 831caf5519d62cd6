/**
 * `list` over thousands of local records: the reads are bounded, so a low file limit is not EMFILE.
 * The records are written straight into the store (staging 6,000 packages would take minutes).
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeRecord } from '../../src/core/record.js'
import { sampleRecord } from '../support/records.js'
import { BIN, parseJson, run, sandbox } from '../support/cli.js'

const COUNT = 6_200

describe('list over many local records', () => {
  it(`lists ${COUNT} records with a file limit of 256`, async () => {
    const sb = await sandbox()
    const records = path.join(sb.store, 'records')
    await fs.mkdir(records, { recursive: true, mode: 0o700 })
    const expires = new Date(Date.now() + 86_400_000).toISOString()
    for (let i = 0; i < COUNT; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => {
          const id = randomUUID()
          const record = sampleRecord({ id, packageName: `many-${i + j}`, expiresAt: expires, createdAt: new Date(Date.now() - (i + j) * 1000).toISOString() })
          return fs.writeFile(path.join(records, `${id}.json`), serializeRecord(record))
        }),
      )
    }
    const r = await run('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, BIN, 'list', '--json', '--backend', sb.backend], { cwd: sb.dir, env: sb.env })
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0)
    expect(r.stderr).not.toContain('EMFILE')
    const listed = parseJson<Array<{ packageName: string }>>(r.stdout)
    expect(listed).toHaveLength(COUNT)
    // Newest first.
    expect(listed[0]?.packageName).toBe('many-0')
  }, 120_000)
})
