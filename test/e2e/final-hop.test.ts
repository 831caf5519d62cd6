/**
 * The final hop against the real Verdaccio 9 (staging API and TOTP 2FA): a release staged in a local
 * directory is approved by staging the verified bytes on the registry and approving the item there,
 * never by a direct PUT; `--final-hop publish` publishes directly; racing approvers publish once; an
 * approval that died between the two registry calls is resumed on the same item; a registry still
 * validating (409) is waited for.
 */
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import libnpmpublish from 'libnpmpublish'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy, type ProxiedRequest, type RegistryProxy } from '../support/registry-proxy.js'
import { BIN, parseJson, publishedIntegrity, run } from '../support/cli.js'
import { stageForApprover } from '../support/staged.js'
import { runInPty } from '../support/pty.js'
import { workspace } from '../support/workspace.js'
import { packageTgz } from '../support/tarball-builder.js'

const stageAs = libnpmpublish.publish as (manifest: Record<string, unknown>, tarball: Buffer, opts: Record<string, unknown>) => Promise<{ stageId: string }>

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

/** The default (auto) final hop: the sandbox's STAGE_PUBLISH_FINAL_HOP=publish taken away. */
const AUTO = { STAGE_PUBLISH_FINAL_HOP: '' }

const stagePosts = (p: RegistryProxy): ProxiedRequest[] => p.requests.filter((q) => q.method === 'POST' && q.path.startsWith('/-/stage/package/'))
const approvals = (p: RegistryProxy): ProxiedRequest[] => p.requests.filter((q) => q.method === 'POST' && /^\/-\/stage\/[0-9a-f-]{36}\/approve/.test(q.path))
const puts = (p: RegistryProxy): ProxiedRequest[] => p.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))

async function staged(proxy: RegistryProxy) {
  const release = await stageForApprover(registry, 'hop', proxy.url)
  const recordFile = path.join(release.sb.store, 'records', `${release.id}.json`)
  const readRecord = async () => parseJson<{ state: string; finalHop?: { stageId: string; registry: string } }>(await fs.readFile(recordFile, 'utf8'))
  return { ...release, env: { ...release.env, ...AUTO }, readRecord }
}

/** `npm view <spec> <field> --json` against the registry itself. */
async function npmView(dir: string, env: NodeJS.ProcessEnv, spec: string, field: string): Promise<unknown> {
  const r = await run('npm', ['view', spec, field, '--json', '--registry', registry.url, '--prefer-online'], { cwd: dir, env })
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined
}

describe('final hop: stage on the registry, approve there', () => {
  it('approves a local-backend release through the registry\'s staging API: a staged item and its approval, no PUT', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, integrity, approver, env, readRecord } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend, '--json'], { env })
      expect(r.code, r.all).toBe(0)
      // Which hop, before the one-time password was used.
      expect(r.stderr).toContain(`Final hop: staged on ${proxy.url} through its staging API`)
      expect(r.stderr).toMatch(/Trust evidence: this release, staged on the registry and approved there by you, will carry provenance: no, trusted publisher: no, recorded approver: yes/)
      const posted = stagePosts(proxy)
      expect(posted.map((q) => [q.path, q.status])).toEqual([[`/-/stage/package/${name}`, 201]])
      const approved = approvals(proxy)
      expect(approved).toHaveLength(1)
      expect(approved[0]?.status).toBe(201)
      expect(approved[0]?.otp).toBe(true)
      expect(puts(proxy)).toEqual([])
      // The stage POST came first, then its approval.
      expect(proxy.requests.indexOf(posted[0] as ProxiedRequest)).toBeLessThan(proxy.requests.indexOf(approved[0] as ProxiedRequest))
      const record = await readRecord()
      expect(record.state).toBe('approved')
      expect(approved[0]?.path).toBe(`/-/stage/${record.finalHop?.stageId}/approve`)
      expect(record.finalHop?.registry).toBe(proxy.url)
      expect(parseJson<{ state: string; approvedBy: string }>(r.stdout)).toMatchObject({ state: 'approved', approvedBy: approver.name, finalHop: { hop: 'stage', stageId: record.finalHop?.stageId } })
      // What the registry now serves is the manifest that was reviewed: no warning.
      expect(r.stderr).not.toContain('differ from the package.json')
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
      // What Verdaccio 9 records of the approval: nothing. Its approve route replays the staged document
      // (libnpmpublish sends no _npmUser) and never writes _npmUser, so no approver either; npmjs.com records one.
      expect(await npmView(sb.dir, sb.env, `${name}@1.0.0`, '_npmUser')).toBeUndefined()
      expect(await npmView(sb.dir, sb.env, `${name}@1.0.0`, 'version')).toBe('1.0.0')
      // ...and approve says so instead of leaving "recorded approver: yes" standing.
      expect(r.stderr).toContain(`published ${name}@1.0.0 through its staging API but recorded no approver on it`)
    } finally {
      await proxy.stop()
    }
  })

  it('in a terminal: the hop and the evidence are shown before the confirmation and the one-time password prompt', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, integrity, approver, env } = await staged(proxy)
      const otp = await approver.otp()
      const result = await runInPty(process.execPath, [BIN, 'approve', id, '--backend', sb.backend], {
        cwd: sb.dir,
        env,
        steps: [
          { waitFor: /Publish .+\?/, send: 'y' },
          { waitFor: /One-time password/, send: otp },
        ],
        timeoutMs: 60_000,
      })
      expect(result.exitCode, result.text).toBe(0)
      const hopAt = result.text.indexOf('Final hop: staged on')
      expect(hopAt).toBeGreaterThan(-1)
      expect(result.text.indexOf('Trust evidence:')).toBeLessThan(hopAt)
      expect(hopAt).toBeLessThan(result.text.search(/Publish .+\?/))
      expect(hopAt).toBeLessThan(result.text.search(/One-time password/))
      expect(approvals(proxy)).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('a release set: each package staged and approved on the registry, dependencies first, with one code', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    // Verdaccio refuses a reused code; the proxy's otpWindow plays a registry that accepts it while valid.
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: root })
      expect(staged.code, staged.all).toBe(0)
      const { setId } = parseJson<{ setId: string }>(staged.stdout)
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const r = await sb.run(['approve', setId, '--yes', '--otp', await approver.otp(), '--json', '--backend', sb.backend], { cwd: sb.home, env: { NPM_CONFIG_USERCONFIG: npmrc, ...AUTO } })
      expect(r.code, r.all).toBe(0)
      expect(parseJson<{ complete: boolean }>(r.stdout).complete).toBe(true)
      expect(stagePosts(proxy).map((q) => decodeURIComponent(q.path.slice('/-/stage/package/'.length)))).toEqual([names.c, names.b, names.a])
      expect(approvals(proxy).map((q) => q.status)).toEqual([201, 201, 201])
      expect(puts(proxy)).toEqual([])
      for (const n of [names.a, names.b, names.c]) expect(await publishedIntegrity(sb, registry.url, `${n}@1.0.0`)).toMatch(/^sha512-/)
    } finally {
      await proxy.stop()
    }
  })

  it('approves the staged item with web-based 2FA: the sign-in URL for the approval, then the token', async () => {
    const approver = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { webAuth: { user: approver, autoCompleteAfterMs: 500 } })
    try {
      const release = await stageForApprover(registry, 'hop-web', proxy.url)
      const npmrc = await approver.writeNpmrc(path.join(release.sb.dir, 'web-approver'), proxy.url)
      const r = await release.sb.run(['approve', release.id, '--yes', '--auth-type', 'web', '--backend', release.sb.backend], { env: { ...release.env, ...AUTO, NPM_CONFIG_USERCONFIG: npmrc } })
      expect(r.code, r.all).toBe(0)
      expect(r.stderr).toContain('Authenticate your account at:')
      expect(proxy.challenges.map((c) => c.method + ' ' + c.path.replace(/[0-9a-f-]{36}/, '<id>'))).toEqual(['POST /-/stage/<id>/approve'])
      expect(puts(proxy)).toEqual([])
      expect(await publishedIntegrity(release.sb, registry.url, `${release.name}@1.0.0`)).toBe(release.integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('--final-hop publish publishes directly (a PUT), and nothing is staged on the registry', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, integrity, approver, env } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--final-hop', 'publish', '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(0)
      expect(r.stderr).toContain(`Final hop: published directly to ${proxy.url}`)
      expect(puts(proxy).map((q) => q.path)).toEqual([`/${name}`])
      expect(stagePosts(proxy)).toEqual([])
      expect(approvals(proxy)).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('--final-hop publish with a registry backend is a usage error before anything is read', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, env } = await staged(proxy)
      const r = await sb.run(['approve', '00000000-0000-4000-8000-000000000000', '--yes', '--otp', '000000', '--final-hop', 'publish', '--backend', `registry+${proxy.url}`], { env })
      expect(r.code, r.all).toBe(2)
      expect(r.stderr).toContain('--final-hop publish: releases staged on a registry are approved there')
      expect(proxy.requests.filter((q) => q.path.startsWith('/-/stage'))).toEqual([])
    } finally {
      await proxy.stop()
    }
  })

  it('--final-hop stage on a registry without the staging API is a clear error; auto publishes directly there', async () => {
    const proxy = await startRegistryProxy(registry, { refuse: (method, p) => (p.startsWith('/-/stage') ? { status: 404, error: 'not found' } : undefined) })
    try {
      const { sb, name, id, integrity, approver, env, readRecord } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', '000000', '--final-hop', 'stage', '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('ENOSTAGE')
      expect(r.stderr).toContain(`--final-hop stage: ${proxy.url} does not implement npm's staging API (GET /-/stage answered 404)`)
      expect(r.stderr).toContain('--final-hop publish')
      expect((await readRecord()).state).toBe('pending')
      expect(puts(proxy)).toEqual([])

      const auto = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(auto.code, auto.all).toBe(0)
      expect(auto.stderr).toContain('Final hop: published directly')
      expect(puts(proxy)).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('two approvers racing: exactly one item staged, one approval, one publish', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, integrity, approver, env } = await staged(proxy)
      const otp = await approver.otp()
      const results = await Promise.all([0, 1].map((i) => sb.run(['approve', id, '--yes', '--otp', otp, '--backend', sb.backend], { env: { ...env, N: String(i) } })))
      const all = results.map((r) => r.all).join('\n---\n')
      expect(results.filter((r) => r.stdout.includes(`+ ${name}@1.0.0`)), all).toHaveLength(1)
      for (const r of results) expect(r.code, all).toBe(0)
      expect(stagePosts(proxy)).toHaveLength(1)
      expect(approvals(proxy)).toHaveLength(1)
      expect(puts(proxy)).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})

describe('final hop: crash safety across the two registry calls', () => {
  it('an approver killed after the registry staged (its answer never arrived) is resumed on the same item: staged once', async () => {
    // The registry stages, but its answer (with the stage id) arrives long after the approver was stopped.
    const proxy = await startRegistryProxy(registry, { delayAnswer: (method, p) => (method === 'POST' && p.startsWith('/-/stage/package/') ? 30_000 : undefined) })
    try {
      const { sb, name, id, integrity, approver, env, readRecord } = await staged(proxy)
      const child = spawn(process.execPath, [BIN, 'approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { cwd: sb.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      for (let i = 0; i < 600 && !stagePosts(proxy).some((q) => q.status !== undefined); i++) await new Promise((r) => setTimeout(r, 100))
      expect(stagePosts(proxy).map((q) => q.status), output).toEqual([201])
      child.kill('SIGTERM')
      expect(await exited, output).toBe(143)
      expect(approvals(proxy)).toEqual([])
      expect((await readRecord()).finalHop).toBeUndefined()

      const next = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend, '--json'], { env })
      expect(next.code, next.all).toBe(0)
      expect(next.stderr).toContain('Found the item this approval staged earlier')
      expect(stagePosts(proxy)).toHaveLength(1)
      expect(approvals(proxy)).toHaveLength(1)
      expect(puts(proxy)).toEqual([])
      const record = await readRecord()
      expect(record.state).toBe('approved')
      expect(approvals(proxy)[0]?.path).toBe(`/-/stage/${record.finalHop?.stageId}/approve`)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('an approval that failed after staging (the approve call refused) leaves the stage id on the record; the next one approves that item', async () => {
    let refuseApprove = true
    const proxy = await startRegistryProxy(registry, {
      refuse: (method, p) => (refuseApprove && method === 'POST' && /\/approve$/.test(p) ? { status: 503, error: 'the registry fell over' } : undefined),
    })
    try {
      const { sb, name, id, integrity, approver, env, readRecord } = await staged(proxy)
      const first = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(first.code, first.all).toBe(1)
      const left = await readRecord()
      expect(left.state).toBe('pending')
      expect(left.finalHop?.stageId).toMatch(/^[0-9a-f-]{36}$/)

      refuseApprove = false
      const next = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(next.code, next.all).toBe(0)
      expect(stagePosts(proxy)).toHaveLength(1)
      // The hint on the record was checked against the registry's item before it was reused.
      expect(proxy.requests.some((q) => q.method === 'GET' && q.path === `/-/stage/${left.finalHop?.stageId}`)).toBe(true)
      expect(approvals(proxy).filter((q) => !q.refused).map((q) => q.path)).toEqual([`/-/stage/${left.finalHop?.stageId}/approve`])
      expect(puts(proxy)).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})

describe('final hop: a registry still validating the staged version', () => {
  it('waits with progress on stderr while the approval answers 409, then succeeds', async () => {
    let refusals = 2
    const proxy = await startRegistryProxy(registry, {
      refuse: (method, p) => {
        if (method !== 'POST' || !/\/approve$/.test(p) || refusals <= 0) return undefined
        refusals--
        return { status: 409, error: "Cannot approve: the automated review hasn't finished" }
      },
    })
    try {
      const { sb, name, id, integrity, approver, env } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(0)
      expect(r.stderr).toMatch(/is still being validated by .+ \(its automated review\); trying again in 1 s \(attempt 1/)
      expect(r.stderr).toMatch(/trying again in 2 s \(attempt 2/)
      expect(approvals(proxy).map((q) => q.status)).toEqual([409, 409, 201])
      expect(stagePosts(proxy)).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('polls the version status without using the one-time password while it says validating, then approves once', async () => {
    const statuses = ['validating', 'validating', 'staged']
    const proxy = await startRegistryProxy(registry, {
      // npm's status route, which Verdaccio lacks, played by the proxy.
      refuse: (method, p) => (method === 'GET' && /\/-\/package\/.+\/version\/1\.0\.0\/status$/.test(p) ? { status: 200, error: '', body: { status: statuses.shift() ?? 'staged' } } : undefined),
    })
    try {
      const { sb, name, id, integrity, approver, env } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(0)
      expect(r.stderr).toMatch(/still being validated .*attempt 1/)
      expect(r.stderr).toMatch(/still being validated .*attempt 2/)
      expect(proxy.requests.filter((q) => q.path.endsWith('/version/1.0.0/status'))).toHaveLength(3)
      expect(approvals(proxy).map((q) => q.status)).toEqual([201])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('a version the registry blocked is never approved; it says why', async () => {
    const proxy = await startRegistryProxy(registry, {
      refuse: (method, p) => (method === 'GET' && p.endsWith('/version/1.0.0/status') ? { status: 200, error: '', body: { status: 'blocked' } } : undefined),
    })
    try {
      const { sb, name, id, approver, env, readRecord } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('blocked the staged')
      expect(approvals(proxy)).toEqual([])
      expect((await readRecord()).state).toBe('pending')
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })

  it('gives up after the bounded wait, says what to do, and keeps the release pending with the item to reuse', async () => {
    const proxy = await startRegistryProxy(registry, {
      refuse: (method, p) => (method === 'POST' && /\/approve$/.test(p) ? { status: 409, error: "Cannot approve: the automated review hasn't finished" } : undefined),
    })
    try {
      const { sb, id, approver, env, readRecord } = await staged(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: { ...env, STAGE_PUBLISH_VALIDATION_TIMEOUT: '2s' } })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('EVALIDATING')
      expect(r.stderr).toContain('is still validating')
      const record = await readRecord()
      expect(r.stderr).toContain(`It stays staged there (${record.finalHop?.stageId})`)
      expect(r.stderr).toContain(`stage-publish approve ${id}`)
      expect(record.state).toBe('pending')
      expect(puts(proxy)).toEqual([])
    } finally {
      await proxy.stop()
    }
  })
})

describe('final hop: an item on the registry that is not this approval\'s is never approved', () => {
  /** Someone with a registry account (the CI credential's, say) stages `manifest` + `bytes` there first. */
  async function stagedByOther(proxy: RegistryProxy, manifest: Record<string, unknown>, bytes: Buffer): Promise<string> {
    const other = await registry.createUser({ tfa: false })
    const { stageId } = await stageAs(manifest, bytes, { registry: proxy.url, [`//${proxy.host}/:_authToken`]: other.token, stage: true, npmCommand: 'stage' })
    return stageId
  }

  it('other bytes staged for the same version: refused before anything is approved; the release stays pending', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, approver, env, readRecord } = await staged(proxy)
      const theirs = await stagedByOther(proxy, { name, version: '1.0.0' }, packageTgz({ name, version: '1.0.0' }, { 'index.js': 'steal()\n' }))
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('EPUBLISHCONFLICT')
      expect(r.stderr).toContain(`is already staged on ${proxy.url} (${theirs}, by `)
      expect(r.stderr).toContain('its bytes differ (shasum)')
      expect(approvals(proxy)).toEqual([])
      expect(puts(proxy)).toEqual([])
      expect((await readRecord()).state).toBe('pending')
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })

  it('the same bytes staged by someone else (with a document of their own): not reused, never approved', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, approver, env } = await staged(proxy)
      const bytes = await fs.readFile(path.join(sb.store, 'tarballs', `${id}.tgz`))
      await stagedByOther(proxy, { name, version: '1.0.0', scripts: { postinstall: 'node -e "steal()"' } }, bytes)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('it was staged by someone else')
      expect(approvals(proxy)).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })

  it('a record whose finalHop names another item (written by whoever holds the CI credential): that item is not approved', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, id, integrity, approver, env, readRecord } = await staged(proxy)
      const decoyName = `${name}-decoy`
      const decoy = await stagedByOther(proxy, { name: decoyName, version: '1.0.0' }, packageTgz({ name: decoyName, version: '1.0.0' }))
      const recordFile = path.join(sb.store, 'records', `${id}.json`)
      const record = parseJson<Record<string, unknown>>(await fs.readFile(recordFile, 'utf8'))
      await fs.writeFile(recordFile, JSON.stringify({ ...record, finalHop: { registry: proxy.url, stageId: decoy, at: new Date().toISOString() } }))
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
      expect(r.code, r.all).toBe(0)
      const ours = (await readRecord()).finalHop?.stageId
      expect(ours).not.toBe(decoy)
      expect(approvals(proxy).map((q) => q.path)).toEqual([`/-/stage/${ours}/approve`])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
      expect(await publishedIntegrity(sb, registry.url, `${decoyName}@1.0.0`)).toBeNull()
    } finally {
      await proxy.stop()
    }
  })
})
