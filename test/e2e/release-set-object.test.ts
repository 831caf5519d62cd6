/**
 * A release set is fixed when it is staged (its set object), against the real Verdaccio 9 with 2FA and
 * the file backend, with an attacker who can write anything into the backend folder:
 *  - a record (and a matching tarball, staged for real elsewhere) that claims the set's id is never
 *    part of it: `approve <set-id>` publishes exactly the listed members, and approving the intruder
 *    on its own or in a batch is refused with ESETMISMATCH;
 *  - a listed member whose record and tarball were swapped for other, self-consistent ones refuses
 *    the whole set, and the member on its own, with ESETMISMATCH; nothing is published.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, uniqueName, type Sandbox } from '../support/cli.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { workspace } from '../support/workspace.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface SetJson {
  setId: string
  releases: Array<{ id: string; name: string; version: string; integrity: string }>
}

const recordPath = (sb: Sandbox, id: string) => path.join(sb.store, 'records', `${id}.json`)
const tarballPath = (sb: Sandbox, id: string) => path.join(sb.store, 'tarballs', `${id}.tgz`)
const readRecord = async (sb: Sandbox, id: string) => parseJson<Record<string, unknown>>(await fs.readFile(recordPath(sb, id), 'utf8'))

/** Stages `dir` into a backend of its own and returns its record and bytes: real, self-consistent. */
async function stagedElsewhere(sb: Sandbox, dir: string, store: string, to = registry.url): Promise<{ record: Record<string, unknown>; bytes: Buffer }> {
  const r = await sb.run(['--json', '--backend', `file:${store}`, '--registry', to], { cwd: dir })
  expect(r.code, r.all).toBe(0)
  const { id } = parseJson<{ id: string }>(r.stdout)
  return {
    record: parseJson(await fs.readFile(path.join(store, 'records', `${id}.json`), 'utf8')),
    bytes: await fs.readFile(path.join(store, 'tarballs', `${id}.tgz`)),
  }
}

describe('a release set is what its set object lists', () => {
  it('never publishes a record that claims the set from outside; approving it is ESETMISMATCH', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    // Verdaccio refuses a reused code; the proxy's otpWindow plays a registry that accepts it while valid.
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
    // b depends on c: a set of two.
    const staged = await sb.run(['-w', names.b, '-w', names.c, '--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const set = parseJson<SetJson>(staged.stdout)
    expect(set.releases.map((r) => r.name).sort()).toEqual([names.b, names.c].sort())

    // The set object lists exactly the members, with their integrities; records carry only the set id.
    const setObject = parseJson<{ setId: string; members: Array<{ id: string; name: string; version: string; integrity: string }> }>(
      await fs.readFile(path.join(sb.store, 'sets', `${set.setId}.json`), 'utf8'),
    )
    expect(setObject.members.map(({ id, name, version, integrity }) => ({ id, name, version, integrity })).sort((x, y) => x.name.localeCompare(y.name))).toEqual(
      set.releases.map(({ id, name, version, integrity }) => ({ id, name, version, integrity })).sort((x, y) => x.name.localeCompare(y.name)),
    )
    for (const r of set.releases) {
      const record = await readRecord(sb, r.id)
      expect(record.setId).toBe(set.setId)
      expect(record.setMembers).toBeUndefined()
    }

    // The attacker: a real package staged elsewhere, written into the backend claiming the set.
    const intruderName = uniqueName('set-intruder')
    const intruderDir = await sb.makePackage(intruderName, { version: '1.0.0' })
    const intruder = await stagedElsewhere(sb, intruderDir, path.join(sb.dir, 'elsewhere'), proxy.url)
    const intruderId = intruder.record.id as string
    await fs.writeFile(tarballPath(sb, intruderId), intruder.bytes)
    await fs.writeFile(recordPath(sb, intruderId), `${JSON.stringify({ ...intruder.record, setId: set.setId, setMembers: [{ name: intruderName, version: '1.0.0' }, { name: names.b, version: '1.0.0' }, { name: names.c, version: '1.0.0' }] }, null, 2)}\n`)

    // view <set-id> shows the listed members only.
    const view = await sb.run(['view', set.setId, '--json', '--no-review', '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ members: Array<{ packageName: string }> }>(view.stdout).members.map((m) => m.packageName).sort()).toEqual([names.b, names.c].sort())

    // list keeps the set's row to its listed members; the intruder stands on its own, with a warning.
    const list = await sb.run(['list', '--backend', sb.backend])
    expect(list.code, list.all).toBe(0)
    expect(list.stderr).toContain(`${intruderId} claims release set ${set.setId}, which does not list it`)
    expect(list.stdout).toMatch(/release set of 2 packages/)
    const row = list.stdout.split('\n').find((l) => l.includes(intruderName)) as string
    expect(row.startsWith(intruderId.slice(0, 8)), row).toBe(true) // not indented under the set

    const env = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url) }
    const approve = await sb.run(['approve', set.setId, '--yes', '--otp', await approver.otp(), '--json', '--backend', sb.backend], { env })
    expect(approve.code, approve.all).toBe(0)
    const summary = parseJson<{ published: Array<{ name: string; how: string }>; complete: boolean }>(approve.stdout)
    expect(summary.complete).toBe(true)
    expect(summary.published.map((p) => [p.name, p.how])).toEqual([
      [names.c, 'published'],
      [names.b, 'published'],
    ])
    expect(approve.all).not.toContain(intruderName)
    for (const r of set.releases) expect(await publishedIntegrity(sb, registry.url, `${r.name}@1.0.0`)).toBe(r.integrity)
    expect(await publishedIntegrity(sb, registry.url, `${intruderName}@1.0.0`)).toBeNull()

    // On its own, with a valid code: refused before anything is asked or published.
    const alone = await sb.run(['approve', intruderId, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(alone.code, alone.all).toBe(1)
    expect(alone.stderr).toContain(`ESETMISMATCH: ${intruderName}@1.0.0 (${intruderId}) claims release set ${set.setId}, which does not list it`)
    // In a batch (--all: it is the only pending release left).
    const batch = await sb.run(['approve', '--all', '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(batch.code, batch.all).toBe(1)
    expect(batch.stderr).toContain('ESETMISMATCH')
    expect(batch.stderr).toContain('Nothing was published')
    expect(await publishedIntegrity(sb, registry.url, `${intruderName}@1.0.0`)).toBeNull()
    expect((await readRecord(sb, intruderId)).state).toBe('pending')

    // A record claiming a set that has no set object at all is refused the same way.
    const orphanSet = '0b0e6a55-7d3c-4c1e-9f00-000000000001'
    await fs.writeFile(recordPath(sb, intruderId), `${JSON.stringify({ ...intruder.record, setId: orphanSet }, null, 2)}\n`)
    const orphan = await sb.run(['approve', intruderId, '--yes', '--otp', '123456', '--backend', sb.backend], { env })
    expect(orphan.code, orphan.all).toBe(1)
    expect(orphan.stderr).toContain(`claims release set ${orphanSet}, which does not exist`)
    const byClaim = await sb.run(['approve', orphanSet, '--yes', '--otp', '123456', '--backend', sb.backend], { env })
    expect(byClaim.code, byClaim.all).toBe(1)
    expect(byClaim.stderr).toContain('ENOTFOUND')
    expect(await publishedIntegrity(sb, registry.url, `${intruderName}@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })

  it('writes the set object before any member record: when it cannot be written, no member is staged', async () => {
    const { sb, root, names } = await workspace()
    // sets/ on another file system (/proc): link(2) into it fails, while records and tarballs could be written.
    await fs.mkdir(sb.store, { recursive: true })
    await fs.symlink('/proc/self', path.join(sb.store, 'sets'))
    const staged = await sb.run(['-w', names.b, '-w', names.c, '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(1)
    expect(staged.all).toContain('EBACKEND')
    expect(await fs.readdir(path.join(sb.store, 'records'))).toEqual([])
    expect(await fs.readdir(path.join(sb.store, 'tarballs'))).toEqual([])
  })

  it('refuses the set, and the member on its own, when a listed record and its tarball were swapped', async () => {
    const { sb, root, names } = await workspace()
    const staged = await sb.run(['-w', names.b, '-w', names.c, '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const set = parseJson<SetJson>(staged.stdout)
    const c = set.releases.find((r) => r.name === names.c)!

    // Other bytes for c@1.0.0, staged for real elsewhere; its record fields swapped in under c's id and set.
    const evil = path.join(sb.dir, 'evil-c')
    await fs.cp(path.join(root, 'packages', 'c'), evil, { recursive: true })
    await fs.writeFile(path.join(evil, 'index.js'), 'module.exports = "evil"\n')
    const swapped = await stagedElsewhere(sb, evil, path.join(sb.dir, 'elsewhere'))
    expect(swapped.record.integrity).not.toBe(c.integrity)
    const original = await readRecord(sb, c.id)
    await fs.writeFile(tarballPath(sb, c.id), swapped.bytes)
    await fs.writeFile(recordPath(sb, c.id), `${JSON.stringify({ ...swapped.record, id: c.id, setId: set.setId, createdAt: original.createdAt, expiresAt: original.expiresAt }, null, 2)}\n`)

    const approver = await registry.createUser()
    const env = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url) }
    const whole = await sb.run(['approve', set.setId, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(whole.code, whole.all).toBe(1)
    expect(whole.stderr).toContain(`ESETMISMATCH: The release set ${set.setId} does not match its staged records: ${names.c}@1.0.0 (${c.id}) has integrity ${swapped.record.integrity as string}`)
    const view = await sb.run(['view', set.setId, '--backend', sb.backend])
    expect(view.code, view.all).toBe(1)
    expect(view.stderr).toContain('ESETMISMATCH')

    // c depends on nothing, and its swapped bytes match its swapped record: only the set object stops it.
    const alone = await sb.run(['approve', c.id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(alone.code, alone.all).toBe(1)
    expect(alone.stderr).toContain(`ESETMISMATCH: ${names.c}@1.0.0 (${c.id}) has integrity ${swapped.record.integrity as string} in its record, not the ${c.integrity} the set was staged with`)
    for (const n of [names.b, names.c]) expect(await publishedIntegrity(sb, registry.url, `${n}@1.0.0`)).toBeNull()
  })
})
