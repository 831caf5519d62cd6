/**
 * Trusted publishing for staging, end to end: the built CLI in an emulated CI (environment variables
 * only, no token in any .npmrc) against a stand-in for GitHub's id-token service and npm's exchange
 * endpoint (test/support/oidc-stand-in.ts) in front of the real Verdaccio 9, which really stages.
 * The stand-in hands out a real Verdaccio user's token, and refuses anything but a stage to it.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { startOidcStandIn, type OidcStandIn } from '../support/oidc-stand-in.js'
import { parseJson, publishedIntegrity, run, sandbox, uniqueName, type Sandbox } from '../support/cli.js'
import { workspace } from '../support/workspace.js'

let registry: TestRegistry
let standIn: OidcStandIn
/** The Verdaccio user whose token the exchange hands out (the "trusted publisher" identity). */
let ci: TestUser
beforeAll(async () => {
  registry = await sharedRegistry()
  standIn = await startOidcStandIn(registry.url)
  ci = await registry.createUser({ tfa: false })
})
afterAll(async () => {
  await standIn.stop()
})

const STAGE_ONLY = ['createStagedPackage'] as Array<'createStagedPackage'>

/** A sandbox whose npm config names the stand-in as registry and holds no token at all. */
async function setup(name = uniqueName('oidc')) {
  const sb = await sandbox()
  const pkg = await sb.makePackage(name, { version: '1.0.0', description: 'staged by trusted publishing' })
  const npmrc = path.join(sb.dir, 'ci.npmrc')
  await fs.writeFile(npmrc, `registry=${standIn.url}\n`)
  return { sb, name, pkg, base: { NPM_CONFIG_USERCONFIG: npmrc } }
}

const github = () => ({ CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/widgets', ACTIONS_ID_TOKEN_REQUEST_URL: standIn.githubRequestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: standIn.githubRequestToken })

/** Every file under `dir`, as text, except the ones `skip` names. */
async function filesUnder(dir: string, skip: (file: string) => boolean = () => false): Promise<Array<{ file: string; text: string }>> {
  const out: Array<{ file: string; text: string }> = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name)
    if (entry.isFile() && !skip(file)) out.push({ file, text: await fs.readFile(file, 'latin1') })
  }
  return out
}

/** No secret in the output, nor in any file the run could have written. */
async function expectNoSecret(sb: Sandbox, output: string, secrets: string[], skip?: (file: string) => boolean) {
  const files = await filesUnder(sb.dir, skip)
  expect(files.length).toBeGreaterThan(0)
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(10)
    expect(output).not.toContain(secret)
    expect(files.filter((f) => f.text.includes(secret)).map((f) => f.file)).toEqual([])
  }
}

const stageArgs = ['--backend', 'registry']

describe('trusted publishing (OIDC) with the registry backend', () => {
  it('GitHub Actions: exchanges the id token and really stages on the registry with the short-lived token; only the stage request carries it', async () => {
    const { sb, name, pkg, base } = await setup()
    standIn.trust(name, { claims: { repository: 'acme/widgets' }, permissions: STAGE_ONLY, token: ci.token })
    const before = standIn.requests.length
    const r = await sb.run([...stageArgs, '--json'], { cwd: pkg, env: { ...base, ...github() } })
    expect(r.code, r.all).toBe(0)
    const staged = parseJson<{ id: string; integrity: string }>(r.stdout)
    expect(staged.id).toMatch(/^[0-9a-f-]{36}$/)

    const seen = standIn.requests.slice(before)
    // The runner's route: our request token, and exactly the audience npm asks for.
    const idReq = seen.filter((q) => q.path.startsWith('/_github/idtoken'))
    expect(idReq).toHaveLength(1)
    expect(new URL(idReq[0]!.path, standIn.url).searchParams.getAll('audience')).toEqual(['npm:127.0.0.1'])
    expect(idReq[0]!.status).toBe(200)
    // The exchange, as npm's source calls it: POST, the id token as bearer, npm-command: stage.
    const exchange = standIn.exchanges.find((e) => e.packageName === name)
    expect(exchange).toMatchObject({ status: 201, npmCommand: 'stage', claims: expect.objectContaining({ aud: 'npm:127.0.0.1', repository: 'acme/widgets' }) as unknown })
    expect(seen.filter((q) => q.exchangedToken).map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual([`POST /-/stage/package/${name} 201`])
    expect(seen.filter((q) => q.idToken).map((q) => q.path)).toEqual([`/-/npm/v1/oidc/token/exchange/package/${name}`])

    await expectNoSecret(sb, r.all, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ci.token])
    // The same CI job without --json says what happened, and still no secret.
    const dry = await sb.run([...stageArgs, '--dry-run'], { cwd: pkg, env: { ...base, ...github() } })
    expect(dry.code, dry.all).toBe(0)
    expect(dry.stderr).toContain(`Trusted publishing: exchanged the GitHub Actions id token for a short-lived token of ${standIn.url} to stage ${name}`)
    await expectNoSecret(sb, dry.all, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ci.token])

    // It is really staged on Verdaccio, by the trusted identity: its owner sees it (npm's own log keeps the
    // token of this command line, so this comes after the checks above).
    const listed = await run('npm', ['stage', 'list', name, '--json', '--registry', registry.url, `--//${registry.host}/:_authToken=${ci.token}`], { cwd: sb.dir, env: sb.env })
    expect(listed.code, listed.all).toBe(0)
    expect(listed.stdout).toContain(staged.id)

    // A maintainer approves it with their own credentials and 2FA: published.
    const maintainer = await registry.createUser()
    const env = { NPM_CONFIG_USERCONFIG: await maintainer.writeNpmrc(path.join(sb.dir, 'maintainer'), standIn.url) }
    // (Verdaccio does not show the staged manifest: accepted by name, as in registry-backend.test.ts.)
    const approve = await sb.run(['approve', staged.id, '--yes', '--otp', await maintainer.otp(), '--allow', 'MANIFEST_UNVERIFIED', '--backend', 'registry'], { env })
    expect(approve.code, approve.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(staged.integrity)
  })

  it('workspaces: one exchange per package, and each package is staged with its own package-scoped token', async () => {
    const { sb, root, names } = await workspace()
    const npmrc = path.join(sb.dir, 'ci.npmrc')
    await fs.writeFile(npmrc, `registry=${standIn.url}\n`)
    const tokens: Record<string, string> = {}
    for (const name of [names.a, names.b, names.c]) {
      const user = await registry.createUser({ tfa: false })
      tokens[name] = user.token
      standIn.trust(name, { claims: { repository: 'acme/widgets' }, permissions: STAGE_ONLY, token: user.token })
    }
    const before = standIn.requests.length
    const r = await sb.run(['--workspaces', '--json', ...stageArgs], { cwd: root, env: { NPM_CONFIG_USERCONFIG: npmrc, ...github() } })
    expect(r.code, r.all).toBe(0)
    const stages = standIn.requests.slice(before).filter((q) => q.method === 'POST' && q.path.startsWith('/-/stage/package/'))
    expect(stages.map((q) => `${q.path} ${String(q.exchangedToken)} ${String(q.status)}`).sort()).toEqual([names.a, names.b, names.c].map((n) => `/-/stage/package/${n} true 201`).sort())
    expect(standIn.exchanges.filter((e) => Object.keys(tokens).includes(e.packageName)).map((e) => e.status)).toEqual([201, 201, 201])
    await expectNoSecret(sb, r.all, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ...Object.values(tokens)])
  })

  it('list, view, approve and reject never exchange an id token, even in a CI job that has one', async () => {
    const { sb, base } = await setup()
    const exchanges = standIn.exchanges.length
    const idRequests = standIn.issuedIdTokens.length
    for (const args of [['list'], ['view', '00000000-0000-4000-8000-000000000000'], ['approve', '00000000-0000-4000-8000-000000000000', '--yes', '--otp', '123456'], ['reject', '00000000-0000-4000-8000-000000000000', '--yes', '--otp', '123456']]) {
      const r = await sb.run([...args, '--backend', 'registry'], { env: { ...base, ...github() } })
      expect(r.code, r.all).not.toBe(0)
      expect(r.all).not.toMatch(/trusted publishing/i)
    }
    expect(standIn.exchanges.length).toBe(exchanges)
    expect(standIn.issuedIdTokens.length).toBe(idRequests)
  })

  it('GitLab CI/CD: NPM_ID_TOKEN from id_tokens, a scoped package', async () => {
    const { sb, name, pkg, base } = await setup(`@acme/${uniqueName('gl')}`)
    standIn.trust(name, { claims: { project_path: 'acme/widgets' }, permissions: STAGE_ONLY, token: ci.token })
    const idToken = standIn.issueIdToken({ aud: 'npm:127.0.0.1', project_path: 'acme/widgets', ci_config_ref_uri: 'gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main' })
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, CI: 'true', GITLAB_CI: 'true', NPM_ID_TOKEN: idToken } })
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain('exchanged the GitLab CI/CD id token')
    expect(standIn.exchanges.find((e) => e.packageName === name)).toMatchObject({ status: 201 })
    expect(standIn.requests.filter((q) => q.exchangedToken && q.path === `/-/stage/package/${name.replace('/', '%2f')}`).map((q) => q.status)).toEqual([201])
    await expectNoSecret(sb, r.all, [idToken, ci.token])
  })

  it('CircleCI: NPM_ID_TOKEN', async () => {
    const { sb, name, pkg, base } = await setup()
    standIn.trust(name, { claims: { 'oidc.circleci.com/project-id': 'p-1' }, permissions: STAGE_ONLY, token: ci.token })
    const idToken = standIn.issueIdToken({ aud: 'npm:127.0.0.1', 'oidc.circleci.com/project-id': 'p-1' })
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, CI: 'true', CIRCLECI: 'true', NPM_ID_TOKEN: idToken } })
    expect(r.code, r.all).toBe(0)
    expect(r.stderr).toContain('exchanged the CircleCI id token')
    expect(r.stdout).toMatch(/staged/i)
    await expectNoSecret(sb, r.all, [idToken, ci.token])
  })

  it('a trust configuration that allows publishing but not staging: the registry\'s 403 is explained, nothing is staged', async () => {
    const { sb, name, pkg, base } = await setup()
    standIn.trust(name, { claims: { repository: 'acme/widgets' }, permissions: ['createPackage'], token: ci.token })
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EOIDC')
    expect(r.stderr).toContain('OIDC permission denied for this action')
    expect(r.stderr).toContain('allows `npm publish` but not `npm stage publish`')
    expect(r.stderr).toContain('--allow-stage-publish')
    await expectNoSecret(sb, r.all, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ci.token])
  })

  it('a package that does not exist yet: explained (a trusted publisher needs the package), no token needed to say so', async () => {
    const { sb, pkg, base } = await setup()
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EOIDC')
    expect(r.stderr).toContain('OIDC token exchange error - package not found')
    expect(r.stderr).toContain('does not exist there yet, and a trusted publisher can only be configured for an existing package')
  })

  it('an existing package whose trusted publisher names another repository: explained', async () => {
    const { sb, name, pkg, base } = await setup()
    const owner = await registry.createUser({ tfa: false })
    const first = await run('npm', ['publish', '--registry', registry.url, `--//${registry.host}/:_authToken=${owner.token}`], { cwd: pkg, env: sb.env })
    expect(first.code, first.all).toBe(0)
    await fs.writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.1' }))
    standIn.trust(name, { claims: { repository: 'acme/other' }, permissions: STAGE_ONLY, token: ci.token })
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('has no trusted publisher that matches this GitHub Actions job')
  })

  it('no id token in the job: says what to add (GitHub `id-token: write`, GitLab `id_tokens`), before packing', async () => {
    const { sb, pkg, base } = await setup()
    const gh = await sb.run(stageArgs, { cwd: pkg, env: { ...base, CI: 'true', GITHUB_ACTIONS: 'true' } })
    expect(gh.code).toBe(1)
    expect(gh.stderr).toContain('ENEEDAUTH')
    expect(gh.stderr).toContain('this GitHub Actions job has no id token for trusted publishing')
    expect(gh.stderr).toContain('the `id-token`: `write` permission')
    const gl = await sb.run(stageArgs, { cwd: pkg, env: { ...base, CI: 'true', GITLAB_CI: 'true' } })
    expect(gl.code).toBe(1)
    expect(gl.stderr).toContain('id_tokens: { NPM_ID_TOKEN: { aud: "npm:127.0.0.1" } }')
  })

  it('an NPM_ID_TOKEN for another audience is never sent to the registry', async () => {
    const { sb, name, pkg, base } = await setup()
    standIn.trust(name, { claims: {}, permissions: STAGE_ONLY, token: ci.token })
    const foreign = standIn.issueIdToken({ aud: 'sts.amazonaws.com' })
    const r = await sb.run(stageArgs, { cwd: pkg, env: { ...base, CI: 'true', GITLAB_CI: 'true', NPM_ID_TOKEN: foreign } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('its audience is "sts.amazonaws.com", so it was not sent')
    expect(standIn.exchanges.filter((e) => e.packageName === name)).toEqual([])
    expect(standIn.requests.filter((q) => q.idToken && q.path.includes(name))).toEqual([])
  })

  it('with a token configured too: the exchanged token wins (as in npm); a refused exchange is explained and the configured token stages', async () => {
    const other = await registry.createUser({ tfa: false })
    const { sb, name, pkg } = await setup()
    const npmrc = await other.writeNpmrc(path.join(sb.dir, 'with-token'), standIn.url)
    standIn.trust(name, { claims: { repository: 'acme/widgets' }, permissions: STAGE_ONLY, token: ci.token })
    const before = standIn.requests.length
    const r = await sb.run(stageArgs, { cwd: pkg, env: { NPM_CONFIG_USERCONFIG: npmrc, ...github() } })
    expect(r.code, r.all).toBe(0)
    expect(standIn.requests.slice(before).filter((q) => q.method === 'POST' && q.path.startsWith('/-/stage/package/')).map((q) => q.exchangedToken)).toEqual([true])

    // A second package without any trusted publisher: the configured token stages it, with a warning that says why.
    const { name: name2, pkg: pkg2 } = await setup()
    const refused = await sb.run(stageArgs, { cwd: pkg2, env: { NPM_CONFIG_USERCONFIG: npmrc, ...github() } })
    expect(refused.code, refused.all).toBe(0)
    expect(refused.stderr).toMatch(/warn.*trusted publishing \(GitHub Actions\) was not used: .*does not exist there yet.*Staging with the token configured for/s)
    expect(standIn.exchanges.filter((e) => e.packageName === name2).map((e) => e.status)).toEqual([404])
    await expectNoSecret(sb, `${r.all}${refused.all}`, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ci.token])
  })

  it('hostile exchange answers: a huge body, a control-character message, a token that is not one — bounded, sanitised, refused', async () => {
    const { sb, name, pkg, base } = await setup()
    let answer: { status: number; body: string | Buffer } = { status: 201, body: Buffer.alloc(5 * 1024 * 1024, 0x20) }
    standIn.exchange = (n) => (n === name ? answer : undefined)
    try {
      const huge = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
      expect(huge.code).toBe(1)
      expect(huge.stderr).toContain('EOIDC')
      expect(huge.stderr).toMatch(/token exchange is .*(MiB|bytes|KiB)/)

      answer = { status: 403, body: JSON.stringify({ message: 'denied \u001b[2J\u001b]8;;http://evil\u0007click\u001b]8;;\u0007 \u202eoops' }) }
      const esc = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
      expect(esc.code).toBe(1)
      expect(esc.stderr).toContain('EOIDC')
      expect(esc.all).not.toMatch(/[\u001b\u0007\u202e]/)

      answer = { status: 201, body: JSON.stringify({ token: 'abc\r\nX-Injected: 1' }) }
      const bad = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('without a usable token')
      expect(bad.all).not.toContain('X-Injected')
    } finally {
      standIn.exchange = undefined
    }
  })

  it('npm\'s automatic provenance: a public repository and a public package turn it on (up to Fulcio, unreachable here); provenance=false or a private package leave it off', async () => {
    // Not exercised: Fulcio issuing the certificate and Rekor logging it (both need the internet).
    const { sb, name, pkg, base } = await setup()
    standIn.trust(name, { claims: { repository: 'acme/widgets' }, permissions: STAGE_ONLY, token: ci.token })
    const visibility = standIn.githubClaims.repository_visibility
    standIn.githubClaims.repository_visibility = 'public'
    try {
      // The package is not public on the registry (Verdaccio has no visibility route): staged, no provenance.
      const privatePkg = await sb.run([...stageArgs, '--dry-run'], { cwd: pkg, env: { ...base, ...github() } })
      expect(privatePkg.code, privatePkg.all).toBe(0)
      expect(privatePkg.all).not.toContain('Provenance: on')

      standIn.publicPackages.add(name)
      const before = standIn.requests.length
      const auto = await sb.run(stageArgs, { cwd: pkg, env: { ...base, ...github() } })
      expect(auto.code, auto.all).toBe(1)
      expect(auto.stderr).toContain('Provenance: on, as npm turns it on for trusted publishing from a public repository of a public package')
      expect(auto.stderr).toContain('error EPROVENANCE: Provenance: Fulcio (https://fulcio.sigstore.dev) did not issue a signing certificate')
      const seen = standIn.requests.slice(before)
      // sigstore asked the runner for its own id token (audience sigstore); nothing was staged.
      expect(seen.some((q) => q.path.startsWith('/_github/idtoken') && q.path.includes('audience=sigstore'))).toBe(true)
      expect(seen.filter((q) => q.method === 'POST' && q.path.startsWith('/-/stage/'))).toEqual([])

      // provenance=false in the job's npm configuration: npm's rule does not apply.
      await fs.appendFile(base.NPM_CONFIG_USERCONFIG, 'provenance=false\n')
      const off = await sb.run([...stageArgs, '--dry-run'], { cwd: pkg, env: { ...base, ...github() } })
      expect(off.code, off.all).toBe(0)
      expect(off.all).not.toContain('Provenance: on')
      await expectNoSecret(sb, `${privatePkg.all}${auto.all}${off.all}`, [standIn.githubRequestToken, ...standIn.issuedIdTokens, ci.token])
    } finally {
      standIn.githubClaims.repository_visibility = visibility as string
      standIn.publicPackages.delete(name)
    }
  })
})
