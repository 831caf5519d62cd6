/**
 * The registry backend (`--backend registry`, `registry+<url>`) against the real Verdaccio 9 with
 * staging and 2FA, and interoperability both ways with the npm CLI installed here (`npm stage ...`):
 * the staged items are the registry's own, so stage-publish and npm act on the same ones.
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { parseJson, publishedIntegrity, run, sandbox, type Sandbox, uniqueName } from '../support/cli.js'

const require = createRequire(import.meta.url)

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface Release {
  id: string
  name: string
}

/** A sandbox, a package, and a stager and an approver (both with 2FA: staging needs no code) with their own .npmrc. */
async function setup(registryUrl = registry.url) {
  const sb = await sandbox()
  const name = uniqueName('native')
  const pkg = await sb.makePackage(name, { version: '1.0.0', description: 'staged on the registry itself' })
  const stager = await registry.createUser()
  const approver = await registry.createUser()
  const stagerEnv = { NPM_CONFIG_USERCONFIG: await stager.writeNpmrc(path.join(sb.dir, 'stager'), registryUrl) }
  const approverEnv = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver'), registryUrl) }
  // The approvers' project accepts that this registry does not show the manifest it holds (see the README).
  await fs.writeFile(path.join(sb.dir, 'package.json'), JSON.stringify({ private: true, stagePublish: { policy: { allow: ['MANIFEST_UNVERIFIED'] } } }))
  return { sb, name, pkg, stager, approver, stagerEnv, approverEnv }
}

const npm = (sb: Sandbox, args: string[], env: NodeJS.ProcessEnv, cwd = sb.dir) => run('npm', args, { cwd, env: { ...sb.env, ...env } })

async function stageWithStagePublish(sb: Sandbox, pkg: string, env: NodeJS.ProcessEnv, backend = 'registry') {
  const r = await sb.run(['--json', '--backend', backend], { cwd: pkg, env })
  expect(r.code, r.all).toBe(0)
  return parseJson<{ id: string; shasum: string; integrity: string; expiresAt: string | null; registry: string }>(r.stdout)
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex')

describe('the registry backend', () => {
  it('stages through the registry\'s staging API; lists, views, downloads and approves with 2FA', async () => {
    const { sb, name, pkg, approver, stagerEnv, approverEnv } = await setup()
    const staged = await stageWithStagePublish(sb, pkg, stagerEnv)
    expect(staged.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(staged.registry).toBe(registry.url)
    expect(staged.expiresAt).toBeNull()
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()

    const list = await sb.run(['list', name, '--backend', 'registry'], { env: approverEnv })
    expect(list.code, list.all).toBe(0)
    expect(list.stdout).toContain(staged.id.slice(0, 8))
    expect(list.stdout).toMatch(new RegExp(`${name}@1\\.0\\.0\\s+latest\\s+pending`))
    const listed = parseJson<Array<{ id: string; shasum: string; integrity?: string }>>((await sb.run(['list', name, '--json', '--backend', 'registry'], { env: approverEnv })).stdout)
    expect(listed).toEqual([expect.objectContaining({ id: staged.id, shasum: staged.shasum })])
    expect(listed[0]?.integrity).toBeUndefined()

    // view: the bytes are downloaded and checked against the registry's shasum, then reviewed.
    const view = await sb.run(['view', staged.id.slice(0, 8), '--json', '--backend', `registry+${registry.url}`], { env: approverEnv })
    expect(view.code, view.all).toBe(0)
    const viewed = parseJson<{ integrity: string; files: Array<{ path: string }>; review: { findings: Array<{ code: string }> } }>(view.stdout)
    expect(viewed.integrity).toBe(staged.integrity)
    expect(viewed.files.map((f) => f.path).sort()).toEqual(['index.js', 'package.json'])
    expect(viewed.review.findings.map((f) => f.code)).toContain('FIRST_RELEASE')

    const dl = await sb.run(['download', staged.id, '--dest', 'out', '--json', '--backend', 'registry'], { env: approverEnv })
    expect(dl.code, dl.all).toBe(0)
    const file = parseJson<{ path: string; integrity: string }>(dl.stdout)
    expect(sha1(await fs.readFile(file.path))).toBe(staged.shasum)
    expect(file.integrity).toBe(staged.integrity)

    // Digest pinning works on the registry's bytes too: a wrong digest stops before any prompt.
    const pinned = await sb.run(['approve', staged.id, '--yes', '--otp', '123456', '--expect', 'f'.repeat(40), '--backend', 'registry'], { env: approverEnv })
    expect(pinned.code).toBe(1)
    expect(pinned.stderr).toContain('EEXPECT')

    const otp = await approver.otp()
    const approve = await sb.run(['approve', staged.id, '--yes', '--otp', otp, '--expect', staged.integrity, '--backend', 'registry'], { env: approverEnv })
    expect(approve.code, approve.all).toBe(0)
    expect(approve.stdout.trim()).toBe(`+ ${name}@1.0.0`)
    expect(approve.stderr).toContain(`match the shasum ${staged.shasum} the registry lists`)
    expect(approve.all).not.toContain(otp)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(staged.integrity)
    // The registry removes an approved item.
    expect((await sb.run(['list', name, '--json', '--backend', 'registry'], { env: approverEnv })).stdout.trim()).toBe('[]')
  })

  it('rejects with the one-time password npm asks for; without a terminal it names --otp', async () => {
    const { sb, name, pkg, approver, stagerEnv, approverEnv } = await setup()
    const { id } = await stageWithStagePublish(sb, pkg, stagerEnv)
    const noOtp = await sb.run(['reject', id, '--backend', 'registry'], { env: approverEnv })
    expect(noOtp.code).toBe(2)
    expect(noOtp.stderr).toContain('--otp')
    const wrong = await sb.run(['reject', id, '--yes', '--otp', '000000', '--backend', 'registry'], { env: approverEnv })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('EOTP')
    const r = await sb.run(['reject', id, '--yes', '--otp', await approver.otp(), '--reason', 'not ours', '--backend', 'registry'], { env: approverEnv })
    expect(r.code, r.all).toBe(0)
    expect(r.stdout).toContain(`- ${name}@1.0.0 rejected (id ${id})`)
    expect(r.stderr).toContain('keeps no record of rejections')
    const npmView = await npm(sb, ['stage', 'view', id, '--registry', registry.url], approverEnv)
    expect(npmView.code).not.toBe(0)
    expect(npmView.all).toMatch(/404|not found/i)
  })

  it('refuses staged bytes that do not match the registry\'s shasum before anything approvable is shown', async () => {
    const { sb, name, pkg, stagerEnv, approverEnv } = await setup()
    const { id } = await stageWithStagePublish(sb, pkg, stagerEnv)
    // Verdaccio keeps a staged item in <storage>/data/.stage/<id>/; change one byte of its tarball.
    const dir = path.join(registry.storage, 'data', '.stage', id)
    const tgz = (await fs.readdir(dir)).find((f) => f.endsWith('.tgz'))!
    const bytes = await fs.readFile(path.join(dir, tgz))
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20)
    await fs.writeFile(path.join(dir, tgz), bytes)
    const r = await sb.run(['approve', id, '--yes', '--otp', '123456', '--backend', 'registry'], { env: approverEnv })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EINTEGRITY')
    expect(r.stderr).toContain('shasum')
    expect(r.stderr).not.toContain(`Approve ${name}`)
    expect((await sb.run(['download', id, '--backend', 'registry'], { env: approverEnv })).stderr).toContain('EINTEGRITY')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
  })

  it('approves with web-based 2FA: prints the URL, waits, and approves with the token', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { webAuth: { user: approverUser } })
    try {
      const { sb, name, pkg, stagerEnv } = await setup(proxy.url)
      const { id, integrity } = await stageWithStagePublish(sb, pkg, stagerEnv)
      const env = { NPM_CONFIG_USERCONFIG: await approverUser.writeNpmrc(path.join(sb.dir, 'web'), proxy.url) }
      const approving = sb.run(['approve', id, '--yes', '--auth-type', 'web', '--backend', 'registry'], { env })
      const authUrl = await proxy.waitForWebAuth({ timeoutMs: 30_000 })
      proxy.completeWebAuth(authUrl)
      const done = await approving
      expect(done.code, done.all).toBe(0)
      expect(done.stderr).toContain(authUrl)
      expect(proxy.challenges.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /-/stage/${id}/approve`])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('refuses before the one-time password when the registry does not show the manifest it would publish (manifest confusion)', async () => {
    const { sb, name, pkg, approver, stager, approverEnv } = await setup()
    // A stager who sends a document whose install-time fields differ from the tarball's package.json.
    const packed = await npm(sb, ['pack', '--json', '--pack-destination', sb.dir], {}, pkg)
    expect(packed.code, packed.all).toBe(0)
    const bytes = await fs.readFile(path.join(sb.dir, parseJson<Array<{ filename: string }>>(packed.stdout)[0]!.filename))
    const { publish } = require('libnpmpublish') as { publish: (m: unknown, b: Buffer, o: unknown) => Promise<{ stageId: string }> }
    const manifest = { name, version: '1.0.0', dependencies: { 'left-pad-evil': '1.0.0' }, scripts: { postinstall: 'node -e "evil()"' } }
    const { stageId } = await publish(manifest, bytes, { registry: registry.url, [`//${registry.host}/:_authToken`]: stager.token, stage: true, npmCommand: 'stage' })

    // An approver whose project has no policy: Verdaccio's item shows no manifest, so nothing proves it.
    const strict = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-strict-'))
    const view = await sb.run(['view', stageId, '--json', '--backend', 'registry'], { env: approverEnv, cwd: strict })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ review: { findings: Array<{ code: string; severity: string }> } }>(view.stdout).review.findings[0]).toMatchObject({ code: 'MANIFEST_UNVERIFIED', severity: 'danger' })
    const refused = await sb.run(['approve', stageId, '--yes', '--otp', await approver.otp(), '--backend', 'registry'], { env: approverEnv, cwd: strict })
    expect(refused.code, refused.all).toBe(1)
    expect(refused.stderr).toContain('EPOLICY')
    expect(refused.stderr).toContain('MANIFEST_UNVERIFIED')
    expect(refused.stderr).not.toContain(`Approve ${name}`)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()

    // Let through by name: published, and what the registry then serves is compared with the tarball, loudly.
    const r = await sb.run(['approve', stageId, '--yes', '--otp', await approver.otp(), '--json', '--allow', 'MANIFEST_UNVERIFIED', '--backend', 'registry'], { env: approverEnv, cwd: strict })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<{ manifestMismatch: string[] }>(r.stdout).manifestMismatch).toEqual(['dependencies', 'scripts'])
    expect(r.stderr).toMatch(/serves dependencies, scripts that differ from the package\.json in the tarball you reviewed/)
  })

  it('refuses with MANIFEST_MISMATCH, naming the fields, when the registry shows a document that differs from the tarball', async () => {
    const proxy = await startRegistryProxy(registry, { showStagedDocuments: true })
    try {
      const { sb, name, pkg, approver, stager, approverEnv, stagerEnv } = await setup(proxy.url)
      const strict = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-strict-'))
      // Honest staging first: the registry's document agrees with the tarball on every install-time field.
      const honest = await stageWithStagePublish(sb, pkg, stagerEnv)
      const clean = await sb.run(['view', honest.id, '--json', '--backend', 'registry'], { env: approverEnv, cwd: strict })
      expect(clean.code, clean.all).toBe(0)
      expect(parseJson<{ review: { findings: Array<{ code: string }> } }>(clean.stdout).review.findings.map((f) => f.code).filter((c) => c.startsWith('MANIFEST'))).toEqual([])

      // Then a stager who sends a document with a bin and a postinstall the tarball does not have.
      const other = await sb.makePackage(`${name}-b`, { name: `${name}-b`, version: '1.0.0' })
      const packed = await npm(sb, ['pack', '--json', '--pack-destination', sb.dir], {}, other)
      const bytes = await fs.readFile(path.join(sb.dir, parseJson<Array<{ filename: string }>>(packed.stdout)[0]!.filename))
      const { publish } = require('libnpmpublish') as { publish: (m: unknown, b: Buffer, o: unknown) => Promise<{ stageId: string }> }
      const manifest = { name: `${name}-b`, version: '1.0.0', bin: { ls: 'evil.js' }, scripts: { postinstall: 'node evil.js' } }
      const { stageId } = await publish(manifest, bytes, { registry: proxy.url, [`//${proxy.host}/:_authToken`]: stager.token, stage: true, npmCommand: 'stage' })
      const r = await sb.run(['approve', stageId, '--yes', '--otp', await approver.otp(), '--backend', 'registry'], { env: approverEnv, cwd: strict })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('EPOLICY')
      expect(r.stderr).toMatch(/differs from the package\.json in the tarball on scripts, bin/)
      expect(proxy.requests.filter((q) => q.path.endsWith('/approve'))).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}-b@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })

  it('finds no manifest mismatch after publishing a release staged honestly (bin and scripts normalised as npm does)', async () => {
    const { sb, name, approver, approverEnv, stagerEnv } = await setup()
    const pkg = await sb.makePackage(name, { version: '1.0.0', bin: 'cli.js', scripts: { test: 'node t.js' }, dependencies: { semver: '^7.0.0' } }, { 'cli.js': '#!/usr/bin/env node\n' })
    const { id } = await stageWithStagePublish(sb, pkg, stagerEnv)
    const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--json', '--backend', 'registry'], { env: approverEnv })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<{ manifestMismatch?: string[]; review: { findings: Array<{ code: string }> } }>(r.stdout)).toMatchObject({ review: { findings: expect.arrayContaining([expect.objectContaining({ code: 'MANIFEST_UNVERIFIED' })]) } })
    expect(parseJson<{ manifestMismatch?: string[] }>(r.stdout).manifestMismatch).toBeUndefined()
    expect(r.stderr).not.toContain('that differ from the package.json')
  })
})

describe('a workspace on the registry backend', () => {
  it('stages each package natively (the registry keeps no set) and `approve <id> <id> <id>` publishes them in dependency order', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approverUser } })
    try {
      const { sb, stagerEnv } = await setup(proxy.url)
      const root = path.join(sb.dir, 'repo')
      const [a, b, c] = [uniqueName('nws-a'), uniqueName('nws-b'), uniqueName('nws-c')]
      const write = async (dir: string, manifest: Record<string, unknown>) => {
        await fs.mkdir(path.join(root, dir), { recursive: true })
        await fs.writeFile(path.join(root, dir, 'package.json'), JSON.stringify(manifest))
      }
      await write('.', { name: 'root', private: true, workspaces: ['packages/*'] })
      await write('packages/a', { name: a, version: '1.0.0', dependencies: { [b]: '1.0.0' } })
      await write('packages/b', { name: b, version: '1.0.0', peerDependencies: { [c]: '1.0.0' } })
      await write('packages/c', { name: c, version: '1.0.0' })
      const staged = await sb.run(['--workspaces', '--json', '--backend', 'registry'], { cwd: root, env: stagerEnv })
      expect(staged.code, staged.all).toBe(0)
      const set = parseJson<{ setId: string | null; releases: Array<{ id: string; name: string }> }>(staged.stdout)
      expect(set.setId).toBeNull()
      expect(staged.stderr).toContain('cannot record a release set')
      const env = { NPM_CONFIG_USERCONFIG: await approverUser.writeNpmrc(path.join(sb.dir, 'approver2'), proxy.url) }
      // Named in the "wrong" order on purpose.
      const ids = [a, b, c].map((n) => set.releases.find((r) => r.name === n)!.id)
      const r = await sb.run(['approve', ...ids, '--yes', '--otp', await approverUser.otp(), '--json', '--backend', 'registry'], { env })
      expect(r.code, r.all).toBe(0)
      expect(parseJson<{ published: Array<{ name: string }> }>(r.stdout).published.map((p) => p.name)).toEqual([c, b, a])
      const approvals = proxy.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/approve') && q.status === 201)
      expect(approvals.map((q) => q.path)).toEqual([c, b, a].map((n) => `/-/stage/${set.releases.find((x) => x.name === n)!.id}/approve`))
    } finally {
      await proxy.stop()
    }
  })
})

describe('interoperability with the npm CLI (npm stage ...)', () => {
  it('lists, reviews and approves a release staged by `npm stage publish`', async () => {
    const { sb, name, pkg, approver, stagerEnv, approverEnv } = await setup()
    const staged = await npm(sb, ['stage', 'publish', '--json', '--registry', registry.url], stagerEnv, pkg)
    expect(staged.code, staged.all).toBe(0)
    // npm prints its pack report keyed by package name, with the registry's stageId in it.
    const { stageId, integrity, shasum } = parseJson<Record<string, { stageId: string; integrity: string; shasum: string }>>(staged.stdout)[name]!

    const list = parseJson<Array<{ id: string; packageName: string; shasum: string }>>((await sb.run(['list', name, '--json', '--backend', 'registry'], { env: approverEnv })).stdout)
    expect(list).toEqual([expect.objectContaining({ id: stageId, packageName: name, shasum })])
    const view = await sb.run(['view', stageId, '--json', '--backend', 'registry'], { env: approverEnv })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ integrity: string; review: { findings: Array<{ code: string }> } }>(view.stdout)).toMatchObject({ integrity })

    const approve = await sb.run(['approve', stageId, '--yes', '--otp', await approver.otp(), '--json', '--backend', 'registry'], { env: approverEnv })
    expect(approve.code, approve.all).toBe(0)
    expect(parseJson<{ state: string; integrity: string; alreadyApproved: boolean }>(approve.stdout)).toMatchObject({ state: 'approved', integrity, alreadyApproved: false })
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('stages a release that `npm stage list` shows and `npm stage approve <id> --otp` publishes', async () => {
    const { sb, name, pkg, approver, stagerEnv, approverEnv } = await setup()
    const staged = await stageWithStagePublish(sb, pkg, stagerEnv)
    const listed = await npm(sb, ['stage', 'list', name, '--json', '--registry', registry.url], approverEnv)
    expect(listed.code, listed.all).toBe(0)
    expect(parseJson<Array<{ id: string; shasum: string }>>(listed.stdout)).toEqual([expect.objectContaining({ id: staged.id, shasum: staged.shasum })])
    const approved = await npm(sb, ['stage', 'approve', staged.id, '--otp', await approver.otp(), '--registry', registry.url], approverEnv)
    expect(approved.code, approved.all).toBe(0)
    expect(approved.stdout).toContain('approved and published successfully')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(staged.integrity)
  })
})

describe('a registry without the staging API', () => {
  it('says so, and names the other backends', async () => {
    const server = http.createServer((req, res) => {
      req.resume()
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"not found"}')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const sb = await sandbox()
      const pkg = await sb.makePackage(uniqueName('nostage'), { version: '1.0.0' })
      await fs.writeFile(path.join(sb.home, '.npmrc'), `registry=${url}\n//${new URL(url).host}/:_authToken=some-token\n`)
      for (const args of [['--backend', 'registry'], ['list', '--backend', 'registry'], ['view', '00000000-0000-4000-8000-000000000000', '--backend', `registry+${url}`]]) {
        const r = await sb.run(args, { cwd: pkg })
        expect(r.code, r.all).toBe(1)
        expect(r.stderr).toContain(`ENOSTAGE: The registry ${url} does not implement npm's staging API`)
        expect(r.stderr).toContain('--backend file:<dir>')
        expect(r.stderr).toContain('--backend s3://')
      }
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})

export type { Release, TestUser }
