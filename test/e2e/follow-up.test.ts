/**
 * Every follow-up command we print names the backend the user named (--backend or
 * STAGE_PUBLISH_BACKEND), so copying it works; a backend from package.json needs no flag.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sandbox, type Sandbox } from '../support/cli.js'
import { sampleRecord } from '../support/records.js'
import type { StagedRecord } from '../../src/core/record.js'

async function withRecord(over: Partial<StagedRecord> = {}): Promise<{ sb: Sandbox; record: StagedRecord }> {
  const sb = await sandbox()
  const now = Date.now()
  const record = sampleRecord({ id: crypto.randomUUID(), createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 86400_000).toISOString(), ...over })
  await fs.mkdir(path.join(sb.store, 'records'), { recursive: true })
  await fs.writeFile(path.join(sb.store, 'records', `${record.id}.json`), JSON.stringify(record))
  return { sb, record }
}

describe('follow-up commands name the backend', () => {
  it('list\'s footer, with --backend or STAGE_PUBLISH_BACKEND', async () => {
    const { sb } = await withRecord()
    const flag = await sb.run(['list', '--backend', sb.backend])
    expect(flag.code, flag.all).toBe(0)
    expect(flag.stderr).toContain(`\`stage-publish approve <id> --backend ${sb.backend}\``)
    expect(flag.stderr).toContain(`\`stage-publish list --all --backend ${sb.backend}\``)
    const env = await sb.run(['list'], { env: { STAGE_PUBLISH_BACKEND: sb.backend } })
    expect(env.code, env.all).toBe(0)
    expect(env.stderr).toContain(`\`stage-publish approve <id> --backend ${sb.backend}\``)
  })

  it('not when package.json names the backend: the same folder finds it again', async () => {
    const { sb } = await withRecord()
    const project = path.join(sb.dir, 'project')
    await fs.mkdir(project)
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', stagePublish: { backend: sb.backend } }))
    const r = await sb.run(['list'], { cwd: project })
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain('`stage-publish approve <id>`')
    expect(r.stderr).not.toContain('--backend')
  })

  it('a backend URL with shell characters is quoted', async () => {
    const { sb } = await withRecord()
    const odd = `file:${sb.store}/../store`
    const r = await sb.run(['list', '--backend', odd])
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain(`--backend ${odd}\``)
    const spaced = path.join(sb.dir, 'my store')
    await fs.cp(sb.store, spaced, { recursive: true })
    const q = await sb.run(['list', '--backend', `file:${spaced}`])
    expect(q.code, q.all).toBe(0)
    expect(q.stderr).toContain(`--backend 'file:${spaced}'\``)
  })

  it('in the hints of errors: unknown id, missing --yes, no terminal to approve on, a release being approved', async () => {
    const { sb, record } = await withRecord()
    const suffix = ` --backend ${sb.backend}`
    const unknown = await sb.run(['view', crypto.randomUUID(), '--backend', sb.backend])
    expect(unknown.stderr).toContain(`stage-publish list --all${suffix}`)
    // download finds one release by id or by prefix.
    for (const id of [crypto.randomUUID(), 'ffffffffff']) {
      const download = await sb.run(['download', id, '--backend', sb.backend])
      expect(download.stderr).toContain('ENOTFOUND')
      expect(download.stderr).toContain(`stage-publish list --all${suffix}`)
    }
    const reject = await sb.run(['reject', record.id], { env: { STAGE_PUBLISH_BACKEND: sb.backend } })
    expect(reject.code).toBe(2)
    expect(reject.stderr).toContain(`stage-publish reject ${record.id} --yes${suffix}`)
    const approve = await sb.run(['approve', record.id, '--backend', sb.backend])
    expect(approve.code).toBe(2)
    expect(approve.stderr).toContain(`--yes --otp <code>${suffix}`)

    const busy = await withRecord({ state: 'approving', claim: { by: 'alice@laptop', at: new Date().toISOString() } })
    const conflict = await busy.sb.run(['approve', busy.record.id, '--yes', '--otp', '123456', '--wait', '1s', '--backend', busy.sb.backend])
    expect(conflict.stderr).toContain('ECONFLICT')
    expect(conflict.stderr).toContain(`stage-publish view ${busy.record.id} --backend ${busy.sb.backend}`)
  })
})
