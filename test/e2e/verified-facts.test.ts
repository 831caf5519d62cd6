/**
 * "The record is trusted for what the bytes can tell": a record whose integrity matches its tarball but
 * whose own account of that tarball (files, sizes, counts) is false. Approval shows the bytes' facts
 * and refuses such a record before anything is asked; nothing is published.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

async function staged() {
  const sb = await sandbox()
  const name = uniqueName('facts')
  const pkg = await sb.makePackage(name, { version: '1.0.0' })
  const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
  expect(r.code, r.all).toBe(0)
  const { id } = parseJson<{ id: string }>(r.stdout)
  const approver = await registry.createUser()
  const env = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url) }
  const file = path.join(sb.store, 'records', `${id}.json`)
  return { sb, name, id, approver, env, file }
}

describe('a record that describes its tarball wrongly', () => {
  it.each([
    ['file list', (r: Record<string, unknown>) => ({ ...r, files: [...(r.files as object[]), { path: 'README.md', size: 10, mode: 420 }] })],
    ['file count', (r: Record<string, unknown>) => ({ ...r, fileCount: 99 })],
    ['size', (r: Record<string, unknown>) => ({ ...r, size: 1 })],
    ['unpacked size', (r: Record<string, unknown>) => ({ ...r, unpackedSize: 5 })],
  ])('is refused before any prompt when its %s is false', async (what, edit) => {
    const { sb, name, id, approver, env, file } = await staged()
    const record = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
    await fs.writeFile(file, JSON.stringify(edit(record)))
    const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('EINTEGRITY')
    expect(r.stderr).toContain(what)
    expect(r.stderr).not.toContain(`Approve ${name}`)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
  })

  it('an honest record approves, showing the facts of the bytes', async () => {
    const { sb, name, id, approver, env } = await staged()
    const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toMatch(/2 files/)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).not.toBeNull()
  })
})
