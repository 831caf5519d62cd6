/**
 * Provenance end to end, with npm/cli's own libnpmpublish fixtures (a real Sigstore bundle and the tarball
 * it was made for: test/fixtures/provenance/README.md) and the real binary against Verdaccio 9:
 * staged with `--provenance-file`, verified offline with the trust root sigstore ships, stored next to the
 * tarball, shown by view and approve, compared with the record's git/CI claims, and sent with the publish
 * exactly as libnpmpublish sends `--provenance-file`. Every attack is refused where it happens.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, ROOT, sandbox, type Sandbox } from '../support/cli.js'
import { captureBodies, type BodyCapture } from '../support/body-capture.js'
import { packageTgz } from '../support/tarball-builder.js'
import { withBundledSources } from '../support/bundle-meta.mjs'

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'provenance')
const TGZ = path.join(FIXTURES, 'npmcli-libnpmpublish-test-1.0.0.tgz')
const bundle = (name: string) => path.join(FIXTURES, name)
const NAME = '@npmcli/libnpmpublish-test'

let registry: TestRegistry
const captures: BodyCapture[] = []

beforeAll(async () => {
  registry = await sharedRegistry()
})
afterEach(async () => {
  await Promise.all(captures.splice(0).map((c) => c.close()))
})

interface StagedJson {
  id: string
  integrity: string
  provenance?: { integrity: string; size: number }
}

async function stage(sb: Sandbox, bundleFile: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}, tgz = TGZ) {
  return sb.run([tgz, '--provenance-file', bundleFile, '--json', '--backend', sb.backend, '--registry', registry.url, ...extra], { env })
}

async function records(sb: Sandbox): Promise<string[]> {
  return fs.readdir(path.join(sb.store, 'records')).catch(() => [])
}

describe('staging with --provenance-file', () => {
  it('stages npm\'s real bundle with the tarball it was made for: verified offline, stored next to the tarball, its facts shown', async () => {
    const sb = await sandbox()
    const r = await sb.run([TGZ, '--provenance-file', bundle('valid-bundle-relocated.json'), '--backend', sb.backend, '--registry', registry.url])
    expect(r.code, r.all).toBe(0)
    const [file] = await records(sb)
    const staged = { id: (file ?? '').replace(/\.json$/, '') }
    const bytes = await fs.readFile(bundle('valid-bundle-relocated.json'))
    // The very bytes given, next to the tarball, and their digest in the record.
    expect(Buffer.compare(await fs.readFile(path.join(sb.store, 'provenance', `${staged.id}.sigstore`)), bytes)).toBe(0)
    const record = parseJson<StagedJson>(await fs.readFile(path.join(sb.store, 'records', `${staged.id}.json`), 'utf8'))
    expect(record.provenance).toEqual({ integrity: `sha512-${(await import('node:crypto')).createHash('sha512').update(bytes).digest('base64')}`, size: bytes.length })
    expect(r.stderr).toContain('Provenance (verified for this tarball; stored with it):')
    expect(r.stderr).toContain('signed by:   brian@dehamer.com (issuer https://github.com/login/oauth)')

    const view = await sb.run(['view', staged.id, '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    expect(view.stdout).toContain('Provenance (the bundle verifies, offline, with the trust root sigstore ships):')
    expect(view.stdout).toContain('source:      https://github.com/npm/cli at 1cf17804c7625c5c78ec9696f9fef7ecc44e0c58 (refs/heads/latest)')
    expect(view.stdout).toContain('builder:     https://github.com/npm/cli@9.1.3')
    expect(view.stdout).toContain('run:         3622314301-1')
    const json = parseJson<{ verifiedProvenance: { facts: { commit: string } }; review: { findings: Array<{ code: string }> } }>((await sb.run(['view', staged.id, '--json', '--backend', sb.backend])).stdout)
    expect(json.verifiedProvenance.facts.commit).toBe('1cf17804c7625c5c78ec9696f9fef7ecc44e0c58')
    // Staged outside git and CI: the record claims nothing to compare with.
    expect(json.review.findings.map((f) => f.code).filter((c) => c.startsWith('PROVENANCE'))).toEqual([])
  })

  for (const [what, file, message] of [
    ['its digest-mismatch counterpart', 'digest-mismatch-provenance-bundle-relocated.json', 'is for other bytes: its subject\'s sha512 is not the staged tarball\'s'],
    ['a bundle with two subjects', 'multi-subject-provenance-bundle-relocated.json', 'names 2 subjects; npm accepts exactly one, the package'],
    ['a bundle whose signature does not verify', 'invalid-signature-bundle-relocated.json', 'does not verify against Sigstore\'s trust root (TLOG_BODY_ERROR'],
    ['npm\'s valid-bundle.json as shipped (pre-1.0 layout: nothing to verify its log entry with)', 'valid-bundle.json', 'does not verify against Sigstore\'s trust root'],
    ['a file that is not JSON', 'bad-bundle.json', 'is not valid JSON'],
  ] as const) {
    it(`refuses ${what}, and stages nothing`, async () => {
      const sb = await sandbox()
      const r = await stage(sb, bundle(file))
      expect(r.code).toBe(1)
      expect(parseJson<{ error: { code: string; summary: string } }>(r.stdout).error).toMatchObject({ code: 'EPROVENANCE', summary: expect.stringContaining(message) as unknown })
      expect(await records(sb)).toEqual([])
    })
  }

  it('refuses the real bundle with a tarball of another package (wrong name)', async () => {
    const sb = await sandbox()
    const other = path.join(sb.dir, 'other.tgz')
    await fs.writeFile(other, packageTgz({ name: '@npmcli/libnpmpublish-fail-test', version: '1.0.0' }))
    const r = await stage(sb, bundle('valid-bundle-relocated.json'), [], {}, other)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('is for pkg:npm/%40npmcli/libnpmpublish-test@1.0.0, not for this package (pkg:npm/%40npmcli/libnpmpublish-fail-test@1.0.0)')
    expect(await records(sb)).toEqual([])
  })

  it('refuses a bundle one bit of whose DSSE signature was changed', async () => {
    const sb = await sandbox()
    const b = parseJson<{ dsseEnvelope: { signatures: Array<{ sig: string }> } }>(await fs.readFile(bundle('valid-bundle-relocated.json'), 'utf8'))
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]?.sig ?? '', 'base64')
    sig[20] = (sig[20] ?? 0) ^ 0x01
    ;(b.dsseEnvelope.signatures[0] as { sig: string }).sig = sig.toString('base64')
    const tampered = path.join(sb.dir, 'tampered.json')
    await fs.writeFile(tampered, JSON.stringify(b))
    const r = await stage(sb, tampered)
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('does not verify against Sigstore\'s trust root')
    expect(await records(sb)).toEqual([])
  })

  it('refuses --provenance with --provenance-file, as npm does', async () => {
    const sb = await sandbox()
    const r = await stage(sb, bundle('valid-bundle-relocated.json'), ['--provenance'])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('provenance and provenanceFile cannot be used together')
  })
})

describe('a staged bundle is checked again at view and approve', () => {
  async function stagedWithBundle(env: NodeJS.ProcessEnv = {}, cwd?: string) {
    const sb = await sandbox()
    const r = await sb.run([TGZ, '--provenance-file', bundle('valid-bundle-relocated.json'), '--json', '--backend', sb.backend, '--registry', registry.url], { env, ...(cwd && { cwd: cwd }) })
    expect(r.code, r.all).toBe(0)
    const { id } = parseJson<StagedJson>(r.stdout)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    return { sb, id, approver, asApprover: { NPM_CONFIG_USERCONFIG: npmrc }, bundleFile: path.join(sb.store, 'provenance', `${id}.sigstore`) }
  }
  const findings = (stdout: string) => parseJson<{ review: { findings: Array<{ code: string; args: Record<string, unknown> }> } }>(stdout).review.findings

  for (const [what, attack, reason] of [
    ['swapped for another signed bundle', (f: string) => fs.copyFile(bundle('digest-mismatch-provenance-bundle-relocated.json'), f), 'the stored bundle is not the one staged: its sha512 differs from the one in the record'],
    ['deleted', (f: string) => fs.rm(f), 'the bundle staged with it is missing from the backend'],
  ] as const) {
    it(`notices a bundle ${what} in the backend after staging: danger at view, refused at approve`, async () => {
      const { sb, id, approver, asApprover, bundleFile } = await stagedWithBundle()
      await attack(bundleFile)
      const view = await sb.run(['view', id, '--json', '--backend', sb.backend])
      expect(view.code, view.all).toBe(0)
      expect(findings(view.stdout).find((f) => f.code === 'PROVENANCE_UNVERIFIED')).toEqual({ code: 'PROVENANCE_UNVERIFIED', severity: 'danger', args: { reason } })
      const human = await sb.run(['view', id, '--backend', sb.backend])
      expect(human.stdout).toContain(`Provenance not verified: ${reason}`)
      const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: asApprover })
      expect(approve.code).toBe(1)
      expect(approve.stderr).toContain('EPOLICY')
      expect(approve.stderr).toContain('PROVENANCE_UNVERIFIED is refused unless allowed by name')
      expect(await publishedIntegrity(sb, registry.url, `${NAME}@1.0.0`)).toBeNull()
    })
  }

  it('shows a danger finding when the provenance contradicts the record\'s git and CI claims', async () => {
    const sb0 = await sandbox()
    // A git checkout of another repository at another commit, in a "GitHub Actions" run of another repository.
    const repo = path.join(sb0.dir, 'repo')
    await fs.mkdir(repo)
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...sb0.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } })
    git('init', '-q')
    git('remote', 'add', 'origin', 'https://github.com/evil/fork.git')
    git('commit', '-q', '--allow-empty', '-m', 'x')
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim()
    const ci = { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'evil/fork', GITHUB_RUN_ID: '99', GITHUB_REF: 'refs/heads/latest', GITHUB_WORKFLOW_REF: 'evil/fork/.github/workflows/x.yml@refs/heads/latest' }
    const { sb, id } = await stagedWithBundle(ci, repo)
    const view = await sb.run(['view', id, '--json', '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    expect(findings(view.stdout).filter((f) => f.code === 'PROVENANCE_MISMATCH')).toEqual([
      { code: 'PROVENANCE_MISMATCH', severity: 'danger', args: { field: 'repository', provenance: 'https://github.com/npm/cli', record: 'https://github.com/evil/fork.git' } },
      { code: 'PROVENANCE_MISMATCH', severity: 'danger', args: { field: 'commit', provenance: '1cf17804c7625c5c78ec9696f9fef7ecc44e0c58', record: commit } },
    ])
    const human = await sb.run(['view', id, '--backend', sb.backend])
    expect(human.stdout).toContain('The verified provenance says commit 1cf17804c7625c5c78ec9696f9fef7ecc44e0c58, but the record claims')
  })
})

describe('approval publishes the bundle with the package, as npm does', () => {
  it('sends libnpmpublish\'s own body with the .sigstore attachment; Verdaccio 9 refuses it (one attachment only) and nothing is published', async () => {
    const sb = await sandbox()
    const staged = await stage(sb, bundle('valid-bundle-relocated.json'))
    expect(staged.code, staged.all).toBe(0)
    const { id, integrity } = parseJson<StagedJson>(staged.stdout)
    const capture = await captureBodies(registry.url)
    captures.push(capture)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), capture.url)
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--registry', capture.url, '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    // The summary before the one-time password shows what the bundle proves.
    expect(approve.stderr).toContain('signed by:   brian@dehamer.com')

    const puts = capture.writes.filter((w) => w.method === 'PUT')
    expect(puts).toHaveLength(1)
    const body = puts[0]?.body as { _attachments: Record<string, { content_type: string; data: string; length: number }>; versions: Record<string, { dist: { integrity: string } }> }
    const sent = JSON.parse(await fs.readFile(bundle('valid-bundle-relocated.json'), 'utf8')) as { mediaType: string }
    const serialized = JSON.stringify(sent)
    // libnpmpublish buildMetadata: content_type = bundle.mediaType, data = JSON.stringify(bundle), length = data.length.
    expect(body._attachments[`${NAME}-1.0.0.sigstore`]).toEqual({ content_type: sent.mediaType, data: serialized, length: serialized.length })
    expect(Object.keys(body._attachments).sort()).toEqual([`${NAME}-1.0.0.sigstore`, `${NAME}-1.0.0.tgz`])
    expect(body.versions['1.0.0']?.dist.integrity).toBe(integrity)

    // What Verdaccio 9 does with it: @verdaccio/core's publish schema allows one attachment (maxProperties: 1).
    expect(puts[0]?.status).toBe(400)
    expect(puts[0]?.answer).toContain('unsupported registry call')
    expect(approve.code).toBe(1)
    expect(approve.stderr).toContain('EPROVENANCE')
    expect(approve.stderr).toContain('refused to publish @npmcli/libnpmpublish-test@1.0.0 with its provenance bundle attached: unsupported registry call')
    expect(await publishedIntegrity(sb, registry.url, `${NAME}@1.0.0`)).toBeNull()
    const list = await sb.run(['list', '--backend', sb.backend])
    expect(list.stdout).toContain('pending')
  })
})

describe('staging with --provenance (made in CI)', () => {
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const JWT = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:acme/lib:ref:refs/heads/main', aud: 'sigstore' })}.c2ln`

  /** A stand-in for GitHub's OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), recording what was asked. */
  async function tokenEndpoint() {
    const http = await import('node:http')
    const asked: Array<{ url: string; authorization: string | undefined }> = []
    const server = http.createServer((req, res) => {
      asked.push({ url: req.url ?? '', authorization: req.headers.authorization })
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: JWT }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as import('node:net').AddressInfo
    return { url: `http://127.0.0.1:${port}/token?api-version=2.0`, asked, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  }
  const github = (tokenUrl: string) => ({
    CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/lib', GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REF: 'refs/heads/main', GITHUB_SHA: 'c'.repeat(40), GITHUB_WORKFLOW_REF: 'acme/lib/.github/workflows/release.yml@refs/heads/main', RUNNER_ENVIRONMENT: 'github-hosted',
    ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token-123',
  })

  it('gets the OIDC token from the CI and stops at Fulcio, which this machine cannot reach: the step is named, nothing is staged', async () => {
    // Not exercised here: Fulcio issuing the certificate and Rekor logging the entry (both need the internet).
    const sb = await sandbox()
    const token = await tokenEndpoint()
    try {
      const pkg = await sb.makePackage('prov-gen', { version: '1.0.0' })
      const r = await sb.run(['--provenance', '--access', 'public', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env: github(token.url) })
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('error EPROVENANCE: Provenance: Fulcio (https://fulcio.sigstore.dev) did not issue a signing certificate (request to https://fulcio.sigstore.dev/api/v2/signingCert failed, reason: getaddrinfo ENOTFOUND fulcio.sigstore.dev)')
      // The token step ran, as sigstore's CI provider asks for it: audience sigstore, the job's request token.
      expect(token.asked).toEqual([{ url: '/token?api-version=2.0&audience=sigstore', authorization: 'Bearer request-token-123' }])
      expect(await records(sb)).toEqual([])
    } finally {
      await token.close()
    }
  })

  it('says what npm says when the job may not ask for an OIDC token, or the package is not public, or this is not CI', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage('prov-gen2', { version: '1.0.0' })
    const { ACTIONS_ID_TOKEN_REQUEST_URL: _u, ...noToken } = github('http://127.0.0.1:9/')
    const noPermission = await sb.run(['--provenance', '--access', 'public', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env: noToken })
    expect(noPermission.stderr).toContain('Provenance generation in GitHub Actions requires "write" access to the "id-token" permission')
    const notPublic = await sb.run(['--provenance', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg, env: github('http://127.0.0.1:9/') })
    expect(notPublic.stderr).toContain("Can't generate provenance for new or private package, you must set `access` to public.")
    const local = await sb.run(['--provenance', '--access', 'public', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(local.stderr).toContain('Provenance can only be generated in GitHub Actions or GitLab CI')
    for (const r of [noPermission, notPublic, local]) expect(r.code).toBe(1)
    expect(await records(sb)).toEqual([])
  })
})

describe('the registry backend stages the bundle as npm does', () => {
  it('posts libnpmpublish\'s stage body with the .sigstore attachment; Verdaccio 9 refuses it, and says why', async () => {
    const sb = await sandbox()
    const capture = await captureBodies(registry.url)
    captures.push(capture)
    const ci = await registry.createUser({ tfa: false })
    const npmrc = await ci.writeNpmrc(path.join(sb.dir, 'ci'), capture.url)
    const r = await sb.run([TGZ, '--provenance-file', bundle('valid-bundle-relocated.json'), '--backend', `registry+${capture.url}`, '--registry', capture.url], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    const post = capture.writes.find((w) => w.method === 'POST' && w.path.startsWith('/-/stage/package/'))
    const serialized = JSON.stringify(JSON.parse(await fs.readFile(bundle('valid-bundle-relocated.json'), 'utf8')))
    expect((post?.body as { _attachments: Record<string, unknown> })._attachments[`${NAME}-1.0.0.sigstore`]).toEqual({ content_type: 'application/vnd.dev.sigstore.bundle+json;version=0.1', data: serialized, length: serialized.length })
    expect(post?.status).toBe(400)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EPROVENANCE')
    expect(r.stderr).toContain('refused to stage @npmcli/libnpmpublish-test@1.0.0 with its provenance bundle attached: unsupported registry call')
  })
})

describe('provenance generation loads only where it is asked for', () => {
  // In the bundled CLI, sigstore's own sources share a chunk with npm's libraries that require them at
  // their top (libnpmpublish, pacote): that chunk is read on staging, and its CommonJS modules run only
  // when required. What this checks is ours: the provenance code is loaded only by the runs that use it.
  const HOOK = path.join(ROOT, 'test', 'support', 'hooks', 'record-loads.mjs')
  const loaded = async (sb: Sandbox, args: string[]) => {
    const file = path.join(sb.dir, `loads-${Date.now()}.json`)
    const { run, BIN } = await import('../support/cli.js')
    const r = await run(process.execPath, ['--import', HOOK, BIN, ...args], { cwd: sb.dir, env: { ...sb.env, RECORD_LOADS_FILE: file } })
    expect(r.code, r.all).toBe(0)
    // A loaded chunk stands for the sources built into it (test/support/bundle-meta.mjs).
    return withBundledSources(JSON.parse(await fs.readFile(file, 'utf8')) as string[])
  }
  const generation = (files: string[]) => files.filter((m) => m.endsWith(path.join('src', 'npm', 'provenance-generate.ts')))

  it('staging and viewing without provenance load no provenance generation; a bundle loads sigstore\'s verifier', async () => {
    const sb = await sandbox()
    const plain = path.join(sb.dir, 'plain.tgz')
    await fs.writeFile(plain, packageTgz({ name: 'prov-lazy-probe', version: '1.0.0' }))
    expect(generation(await loaded(sb, [plain, '--backend', sb.backend, '--registry', registry.url]))).toEqual([])
    const [first] = await records(sb)
    expect(generation(await loaded(sb, ['view', (first ?? '').replace(/\.json$/, ''), '--backend', sb.backend]))).toEqual([])
    const withBundle = await loaded(sb, [TGZ, '--provenance-file', bundle('valid-bundle-relocated.json'), '--backend', sb.backend, '--registry', registry.url])
    expect(withBundle.filter((m) => /\/node_modules\/@sigstore\/verify\//.test(m)).length).toBeGreaterThan(0)
  })
})
