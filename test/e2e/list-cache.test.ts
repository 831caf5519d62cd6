/**
 * `list` on a local backend through the real binary: the table shows the newest 100 (--limit), --json lists
 * every release, the listing cache lives in the user's cache directory (never in the store), and listings
 * running at the same time all see the whole truth and leave a cache that reads back.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadCache } from '../../src/backends/list-cache.js'
import { serializeRecord, type StagedRecord } from '../../src/core/record.js'
import { pendingRecord } from '../support/record-factory.mjs'
import { parseJson, sandbox, type Sandbox } from '../support/cli.js'

async function storeWith(sb: Sandbox, count: number): Promise<StagedRecord[]> {
  const dir = path.join(sb.store, 'records')
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const written: StagedRecord[] = []
  for (let i = 0; i < count; i++) {
    const record = pendingRecord(Buffer.from(randomUUID()), { packageName: `many-${i}`, createdAt: new Date(Date.now() - i * 60_000).toISOString() })
    await fs.writeFile(path.join(dir, `${record.id}.json`), serializeRecord(record))
    written.push(record)
  }
  return written
}

const rowsOf = (stdout: string) => stdout.split('\n').filter((l) => /^[0-9a-f]{8} /.test(l))

describe('list on a local backend', () => {
  it('shows the newest 100 in the table and says how to see the rest; --limit and --json show them all', async () => {
    const sb = await sandbox()
    await storeWith(sb, 130)
    const before = await fs.readdir(sb.store, { recursive: true })

    const table = await sb.run(['list', '--backend', sb.backend])
    expect(table.code, table.all).toBe(0)
    const rows = rowsOf(table.stdout)
    expect(rows).toHaveLength(100)
    expect(rows[0]).toContain('many-0@1.0.0')
    expect(rows[99]).toContain('many-99@1.0.0')
    expect(table.stderr).toContain('30 more not shown')
    expect(table.stderr).toContain(`stage-publish list --limit 0 --backend ${sb.backend}`)

    expect(rowsOf((await sb.run(['list', '--limit', '0', '--backend', sb.backend])).stdout)).toHaveLength(130)
    const five = await sb.run(['list', '--limit', '5', '--backend', sb.backend])
    expect(rowsOf(five.stdout).map((r) => r.split(/\s+/)[1])).toEqual(['many-0@1.0.0', 'many-1@1.0.0', 'many-2@1.0.0', 'many-3@1.0.0', 'many-4@1.0.0'])
    expect(five.stderr).toContain('125 more not shown')
    expect(parseJson<unknown[]>((await sb.run(['list', '--json', '--backend', sb.backend])).stdout)).toHaveLength(130)
    expect(parseJson<unknown[]>((await sb.run(['list', '--json', '--limit', '5', '--backend', sb.backend])).stdout)).toHaveLength(130)

    const bad = await sb.run(['list', '--limit', 'many', '--backend', sb.backend])
    expect(bad.code).toBe(2)

    // The cache is the user's (HOME/.cache here), never the store's.
    expect(await fs.readdir(sb.store, { recursive: true })).toEqual(before)
    const cached = await fs.readdir(path.join(sb.home, '.cache', 'stage-publish'))
    expect(cached).toHaveLength(1)
  }, 60_000)

  it('answers from the cache while the folder is unchanged, yet every row it shows is what its file holds now', async () => {
    const sb = await sandbox()
    const records = await storeWith(sb, 130)
    expect((await sb.run(['list', '--backend', sb.backend])).code).toBe(0)
    const dir = path.join(sb.home, '.cache', 'stage-publish')
    const cacheFile = path.join(dir, (await fs.readdir(dir))[0] as string)
    // As if written a while after the folder's last change (a cache written within a tick of it is not trusted).
    const age = async () => {
      const later = new Date(Date.now() + 60_000)
      await fs.utimes(cacheFile, later, later)
    }
    await age()
    // Rewritten in place, which the tool never does: the folder does not change. The newest one is on screen.
    const rewrite = async (record: StagedRecord, tag: string) => {
      const file = path.join(sb.store, 'records', `${record.id}.json`)
      const fh = await fs.open(file, 'r+')
      await fh.write(serializeRecord({ ...record, tag }).padEnd((await fh.stat()).size), 0)
      await fh.close()
    }
    await rewrite(records[0] as StagedRecord, 'canary')
    await rewrite(records[120] as StagedRecord, 'hidden')
    const table = await sb.run(['list', '--backend', sb.backend])
    expect(table.code, table.all).toBe(0)
    const rows = rowsOf(table.stdout)
    expect(rows).toHaveLength(100)
    expect(rows[0]).toMatch(/many-0@1\.0\.0\s+canary/)
    expect(table.stderr).toContain('30 more not shown')
    // Shown, so checked: all 130 rows are what the files hold.
    const all = rowsOf((await sb.run(['list', '--limit', '0', '--backend', sb.backend])).stdout)
    expect(all[120]).toMatch(/many-120@1\.0\.0\s+hidden/)
  }, 60_000)

  it('listings at the same time each see every release, and leave a cache that reads back; a change is seen next time', async () => {
    const sb = await sandbox()
    const records = await storeWith(sb, 60)
    const cacheHome = path.join(sb.dir, 'xdg-cache')
    const env = { XDG_CACHE_HOME: cacheHome }
    const runs = await Promise.all(Array.from({ length: 4 }, () => sb.run(['list', '--limit', '0', '--backend', sb.backend], { env })))
    for (const r of runs) {
      expect(r.code, r.all).toBe(0)
      expect(rowsOf(r.stdout)).toHaveLength(60)
    }
    const dir = path.join(cacheHome, 'stage-publish')
    const files = (await fs.readdir(dir)).filter((n) => n.endsWith('.txt'))
    // One whole cache, no temp files left behind.
    expect(await fs.readdir(dir)).toEqual(files)
    expect(files).toHaveLength(1)
    expect(loadCache(path.join(dir, files[0] as string), await fs.realpath(sb.store))?.entries.size).toBe(60)

    const changed = records[0] as StagedRecord
    await fs.writeFile(path.join(sb.store, 'records', `${changed.id}.json`), serializeRecord({ ...changed, tag: 'canary' }))
    await fs.rm(path.join(sb.store, 'records', `${(records[1] as StagedRecord).id}.json`))
    const again = await Promise.all(Array.from({ length: 3 }, () => sb.run(['list', '--limit', '0', '--backend', sb.backend], { env })))
    for (const r of again) {
      const rows = rowsOf(r.stdout)
      expect(rows).toHaveLength(59)
      expect(rows[0]).toMatch(/many-0@1\.0\.0\s+canary/)
      expect(r.stdout).not.toContain('many-1@')
    }
  }, 60_000)
})
