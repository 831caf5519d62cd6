/**
 * Manifest confusion through the tarball, against the real CLI and Verdaccio: a .tgz with two
 * `package/package.json` entries, where a first-wins reader (the review) and a last-wins reader
 * (pacote, at publish) would disagree on what is published. One strict reading refuses it, both
 * when it is staged and when it replaces a staged tarball in the backend with fixed-up digests.
 */
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, run, sandbox, uniqueName } from '../support/cli.js'
import { manifestEntry, sha1Of, sha512Of, tgzOf } from '../support/tarball-builder.js'

let registry: TestRegistry

beforeAll(async () => {
  registry = await sharedRegistry()
})

/** First package.json: the package the record names. Last one: another name, with an install script. */
const confused = (name: string, evil: string) =>
  tgzOf([
    manifestEntry({ name, version: '1.0.0' }),
    { path: 'package/index.js', data: 'module.exports = 1\n' },
    manifestEntry({ name: evil, version: '1.0.0', scripts: { postinstall: 'node -e "require(\'fs\').writeFileSync(\'/tmp/pwned\', \'1\')"' } }),
  ])

describe('a tarball with two package.json entries', () => {
  it('is refused when staged as a .tgz, and nothing is staged', async () => {
    const sb = await sandbox()
    const name = uniqueName('confused-stage')
    const file = path.join(sb.dir, 'crafted.tgz')
    await fs.writeFile(file, confused(name, uniqueName('evil')))
    const r = await sb.run(['publish', file, '--json', '--backend', sb.backend, '--registry', registry.url])
    expect(r.code, r.all).toBe(1)
    const err = parseJson<{ error: { code: string; summary: string } }>(r.stdout)
    expect(err.error.code).toBe('EUNSAFETARBALL')
    expect(err.error.summary).toContain('"package/package.json"')
    expect(err.error.summary).toContain('appears twice')
    expect((await sb.run(['list', '--all', '--json', '--backend', sb.backend])).stdout.trim()).toBe('[]')
  })

  it('replacing a staged tarball (digests fixed in the record) fails approval before any prompt, publishing nothing', async () => {
    const sb = await sandbox()
    const name = uniqueName('confused-approve')
    const evil = uniqueName('evil')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<{ id: string }>(staged.stdout)

    // The attacker (who holds the CI credential) swaps the bytes and makes the record match them.
    const bytes = confused(name, evil)
    await fs.writeFile(path.join(sb.store, 'tarballs', `${id}.tgz`), bytes)
    const recordFile = path.join(sb.store, 'records', `${id}.json`)
    const record = parseJson<Record<string, unknown>>(await fs.readFile(recordFile, 'utf8'))
    await fs.writeFile(recordFile, JSON.stringify({ ...record, integrity: sha512Of(bytes), shasum: sha1Of(bytes), size: bytes.length }))

    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('EUNSAFETARBALL')
    expect(r.stderr).toContain('"package/package.json"')
    expect(r.stderr).not.toContain(`Approve ${name}`)
    expect(r.stdout).not.toContain(`+ ${name}`)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    expect(await publishedIntegrity(sb, registry.url, `${evil}@1.0.0`)).toBeNull()
    const view = parseJson<{ state: string }>((await sb.run(['view', id, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
  })
})

describe('an honest tarball made by npm pack', () => {
  it('stages and publishes exactly those bytes, with the manifest npm would send', async () => {
    const sb = await sandbox()
    const name = uniqueName('honest-tgz')
    const pkg = await sb.makePackage(name, { version: '1.0.0', bin: './cli.js', scripts: { test: 'node index.js' } }, { 'cli.js': '#!/usr/bin/env node\n', 'README.md': '# honest\n' })
    const packed = await run('npm', ['pack', '--json', '--pack-destination', sb.dir], { cwd: pkg, env: sb.env })
    expect(packed.code, packed.all).toBe(0)
    const [info] = parseJson<Array<{ filename: string; integrity: string }>>(packed.stdout)
    const staged = await sb.run(['publish', path.join(sb.dir, info!.filename), '--json', '--backend', sb.backend, '--registry', registry.url])
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<{ id: string }>(staged.stdout)

    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code, r.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(info!.integrity)
    const view = await run('npm', ['view', `${name}@1.0.0`, 'bin', 'readmeFilename', '--json', '--registry', registry.url, '--prefer-online'], { cwd: sb.dir, env: sb.env })
    expect(parseJson<{ bin: Record<string, string>; readmeFilename: string }>(view.stdout)).toEqual({ bin: { [name]: 'cli.js' }, readmeFilename: 'README.md' })
  })
})

describe('a published baseline over the packed-size limit', () => {
  it('stops the review with ETOOLARGE instead of being downloaded whole', async () => {
    const sb = await sandbox()
    const name = uniqueName('big-baseline')
    const publisher = await registry.createUser({ tfa: false })
    const rc = await publisher.writeNpmrc(path.join(sb.dir, 'publisher'), registry.url)
    const v1 = await sb.makePackage(name, { version: '1.0.0' }, { 'blob.bin': randomBytes(300 * 1024) })
    const pub = await run('npm', ['publish', '--registry', registry.url, '--ignore-scripts'], { cwd: v1, env: { ...sb.env, NPM_CONFIG_USERCONFIG: rc } })
    expect(pub.code, pub.all).toBe(0)
    await fs.writeFile(path.join(v1, 'package.json'), JSON.stringify({ name, version: '1.0.1' }))
    await fs.rm(path.join(v1, 'blob.bin'))
    const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: v1 })
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<{ id: string }>(staged.stdout)
    const r = await sb.run(['view', id, '--backend', sb.backend], { env: { STAGE_PUBLISH_MAX_PACKED_SIZE: '100k' } })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('ETOOLARGE')
    expect(r.stderr).toContain(`The published tarball of ${name}@1.0.0 is more than 100 KiB`)
  })
})
