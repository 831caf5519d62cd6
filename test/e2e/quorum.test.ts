/**
 * Two-person rule end to end, with the real binary, real ssh-keygen keys and the real Verdaccio (TOTP 2FA):
 * under package.json stagePublish.approvals in the approvers' project, one approval publishes nothing,
 * the one that completes the quorum publishes once; racing co-approvers both keep their signature;
 * `approvals`, `attestations` and `verify-approvals` (from the backend and from an exported bundle)
 * check the evidence against the bytes the registry serves.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { BIN, parseJson, publishedIntegrity, run, type Sandbox } from '../support/cli.js'
import { runInPty } from '../support/pty.js'
import { stageFresh } from '../support/staged.js'
import { keyDir, makeSigner, writeAllowedSigners, type TestSigner } from '../support/ssh-keys.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface Approver {
  signer: TestSigner
  user: TestUser
  env: NodeJS.ProcessEnv
}

interface Team {
  sb: Sandbox
  name: string
  id: string
  integrity: string
  pkg: string
  /** The approvers' project: package.json with stagePublish.approvals, and its allowed_signers. */
  project: string
  signersFile: string
  approvers: Approver[]
  keys: string
}

async function team(required: number, count: number, targetRegistry = registry.url): Promise<Team> {
  const staged = await stageFresh('quorum', targetRegistry)
  const keys = await keyDir()
  const signers = await Promise.all(['alice', 'bob', 'carol'].slice(0, count).map((p) => makeSigner(keys, `${p}@example.com`)))
  const project = path.join(staged.sb.dir, 'maintainers')
  const signersFile = await writeAllowedSigners(path.join(project, '.github', 'allowed_signers'), signers)
  await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'maintainers', private: true, stagePublish: { approvals: { required, allowedSigners: '.github/allowed_signers' } } }))
  const approvers: Approver[] = []
  for (const signer of signers) {
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(staged.sb.dir, `npm-${user.name}`), targetRegistry)
    approvers.push({ signer, user, env: { ...staged.sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
  }
  return { ...staged, project, signersFile, approvers, keys }
}

const approve = (t: Team, a: Approver, extra: string[] = []) =>
  t.sb.run(['approve', t.id, '--yes', '--signing-key', a.signer.key, '--backend', t.sb.backend, ...extra], { cwd: t.project, env: a.env })

describe('a 2-of-3 policy', () => {
  it('publishes nothing on one approval, publishes once on the second, and the evidence verifies', async () => {
    const t = await team(2, 3)
    const [alice, bob, carol] = t.approvers as [Approver, Approver, Approver]

    const first = await approve(t, alice)
    expect(first.code, first.all).toBe(0)
    expect(first.stdout).toContain('1 of 2 approvals; 1 more needed')
    expect(first.stdout).toContain('Nothing was published')
    expect(await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)).toBeNull()

    // The same approver again: counted once, still nothing published, and no one-time password was needed.
    const again = await approve(t, alice, ['--json'])
    expect(again.code, again.all).toBe(0)
    expect(parseJson(again.stdout)).toMatchObject({ published: false, signed: 'already', approvals: { count: 1, needed: 1, required: 2 } })

    const second = await approve(t, bob, ['--otp', await bob.user.otp(), '--json'])
    expect(second.code, second.all).toBe(0)
    expect(parseJson(second.stdout)).toMatchObject({ state: 'approved', signed: 'signed', approvals: { count: 2, met: true } })
    expect(await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)).toBe(t.integrity)

    // approvals <id>: human and --json.
    const listed = await t.sb.run(['approvals', t.id, '--backend', t.sb.backend], { cwd: t.project, env: carol.env })
    expect(listed.code, listed.all).toBe(0)
    expect(listed.stdout).toContain('2 of 2 approvals; the quorum is met')
    expect(listed.stdout).toContain('alice@example.com')
    const listedJson = await t.sb.run(['approvals', t.id, '--json', '--backend', t.sb.backend], { cwd: t.project, env: carol.env })
    expect(parseJson<{ approvals: { signers: Array<{ principal: string }> } }>(listedJson.stdout).approvals.signers.map((s) => s.principal)).toEqual(['alice@example.com', 'bob@example.com'])

    // verify-approvals from the backend passes; with a signers file that trusts only alice it fails and says why.
    const verified = await t.sb.run(['verify-approvals', `${t.name}@1.0.0`, '--allowed-signers', t.signersFile, '--required', '2', '--registry', registry.url, '--backend', t.sb.backend], { cwd: t.sb.dir, env: carol.env })
    expect(verified.code, verified.all).toBe(0)
    expect(verified.stdout).toContain('2 of 2 approvals')
    const onlyAlice = await writeAllowedSigners(path.join(t.keys, 'only-alice'), [alice.signer])
    const refused = await t.sb.run(['verify-approvals', `${t.name}@1.0.0`, '--allowed-signers', onlyAlice, '--required', '2', '--registry', registry.url, '--backend', t.sb.backend, '--json'], { cwd: t.sb.dir, env: carol.env })
    expect(refused.code, refused.all).toBe(1)
    expect(parseJson(refused.stdout)).toMatchObject({ ok: false, approvals: { count: 1, needed: 1, refused: [{ code: 'unlisted', principal: 'bob@example.com' }] } })

    // attestations → a bundle file → verify-approvals --bundle, with no backend at all.
    const attestations = await t.sb.run(['attestations', t.id, '--backend', t.sb.backend], { cwd: t.project, env: carol.env })
    expect(attestations.code, attestations.all).toBe(0)
    const lines = attestations.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(parseJson<{ payloadType: string }>(lines[0] as string).payloadType).toBe('application/vnd.in-toto+json')
    const bundle = path.join(t.keys, 'approvals.jsonl')
    await fs.writeFile(bundle, attestations.stdout)
    const fromBundle = await t.sb.run(['verify-approvals', `${t.name}@1.0.0`, '--allowed-signers', t.signersFile, '--required', '2', '--bundle', bundle, '--registry', registry.url], { cwd: t.sb.dir, env: carol.env })
    expect(fromBundle.code, fromBundle.all).toBe(0)
  })

  it('refuses a key that allowed_signers does not list, with a clear error', async () => {
    const t = await team(2, 2)
    const mallory = await makeSigner(t.keys, 'mallory@example.com')
    const r = await t.sb.run(['approve', t.id, '--yes', '--signing-key', mallory.key, '--backend', t.sb.backend], { cwd: t.project, env: t.approvers[0]?.env })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toMatch(/ESIGNER.*is not listed in .*allowed_signers/)
    const privateKey = await fs.readFile(mallory.key, 'utf8')
    expect(r.all).not.toContain(privateKey.split('\n')[1])
    const record = parseJson<{ approvals?: unknown[] }>(await fs.readFile(path.join(t.sb.store, 'records', `${t.id}.json`), 'utf8'))
    expect(record.approvals).toBeUndefined()
  })
})

describe('two co-approvers racing (2 of 2)', () => {
  it('both keep their signature, and exactly one publish reaches the registry', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const t = await team(2, 2, proxy.url)
      const [alice, bob] = t.approvers as [Approver, Approver]
      const [a, b] = await Promise.all([approve(t, alice, ['--otp', await alice.user.otp()]), approve(t, bob, ['--otp', await bob.user.otp()])])
      expect(a.code, a.all).toBe(0)
      expect(b.code, b.all).toBe(0)
      const puts = proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))
      expect(puts).toHaveLength(1)
      expect(await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)).toBe(t.integrity)
      const listed = await t.sb.run(['approvals', t.id, '--json', '--backend', t.sb.backend], { cwd: t.project, env: alice.env })
      expect(parseJson(listed.stdout)).toMatchObject({ state: 'approved', approvals: { count: 2, met: true } })
    } finally {
      await proxy.stop()
    }
  })
})

describe('verify-approvals when the registry serves other bytes', () => {
  it('fails: the approvals were signed for the staged bytes, not the published ones', async () => {
    const t = await team(2, 2)
    const [alice] = t.approvers as [Approver]
    const first = await approve(t, alice)
    expect(first.code, first.all).toBe(0)
    // Someone publishes the same name@version with other bytes, around the staging.
    await fs.writeFile(path.join(t.pkg, 'index.js'), 'module.exports = "something else"\n')
    const direct = await registry.createUser({ tfa: false })
    const npmrc = await direct.writeNpmrc(path.join(t.sb.dir, 'direct'))
    const published = await run('npm', ['publish', '--registry', registry.url, '--ignore-scripts'], { cwd: t.pkg, env: { ...t.sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(published.code, published.all).toBe(0)
    const served = await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)
    expect(served).not.toBe(t.integrity)

    const r = await t.sb.run(['verify-approvals', `${t.name}@1.0.0`, '--allowed-signers', t.signersFile, '--required', '1', '--registry', registry.url, '--backend', t.sb.backend], { cwd: t.sb.dir, env: alice.env })
    expect(r.code, r.all).toBe(1)
    expect(r.stdout).toContain('0 of 1 approval')
    expect(r.stdout).toContain('signed for other bytes or another release')
  })
})

describe('the registry backend', () => {
  it('says the quorum is not available there and names the backends that support it', async () => {
    const t = await team(2, 2)
    const [alice] = t.approvers as [Approver]
    const r = await t.sb.run(['approve', t.id, '--yes', '--signing-key', alice.signer.key, '--backend', `registry+${registry.url}`], { cwd: t.project, env: alice.env })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('ENOQUORUM')
    expect(r.stderr).toMatch(/file:<dir>.*s3:\/\//)
  })
})

describe('in a terminal', () => {
  it('the first approval asks one question and no one-time password; the second asks both', async () => {
    const t = await team(2, 2)
    const [alice, bob] = t.approvers as [Approver, Approver]
    const first = await runInPty(process.execPath, [BIN, 'approve', t.id, '--signing-key', alice.signer.key, '--backend', t.sb.backend], {
      cwd: t.project,
      env: alice.env,
      steps: [{ waitFor: /Sign your approval of [\s\S]*nothing is published yet/, send: 'y' }],
      timeoutMs: 40_000,
      cols: 400,
    })
    expect(first.exitCode, first.text).toBe(0)
    expect(first.text).toContain('1 of 2 approvals; 1 more needed')
    expect(first.text).not.toContain('One-time password')
    const second = await runInPty(process.execPath, [BIN, 'approve', t.id, '--signing-key', bob.signer.key, '--backend', t.sb.backend], {
      cwd: t.project,
      env: bob.env,
      steps: [
        { waitFor: /as bob@example\.com and publish it to [\s\S]*your approval is 2 of 2/, send: 'y' },
        { waitFor: /One-time password/, send: await bob.user.otp() },
      ],
      timeoutMs: 40_000,
      cols: 400,
    })
    expect(second.exitCode, second.text).toBe(0)
    expect(second.text).toContain(`+ ${t.name}@1.0.0 (2 of 2 approvals; the quorum is met)`)
    expect(await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)).toBe(t.integrity)
  }, 120_000)
})

describe('configuration', () => {
  it('--signing-key without stagePublish.approvals is a usage error; a misspelt policy is a configuration error', async () => {
    const t = await team(2, 2)
    const [alice] = t.approvers as [Approver]
    const noPolicy = await t.sb.run(['approve', t.id, '--yes', '--signing-key', alice.signer.key, '--backend', t.sb.backend], { cwd: t.sb.dir, env: alice.env })
    expect(noPolicy.code, noPolicy.all).toBe(2)
    expect(noPolicy.stderr).toContain('--signing-key signs approvals, and this project asks for none')
    await fs.writeFile(path.join(t.project, 'package.json'), JSON.stringify({ stagePublish: { approvals: { required: 2, allowedSigner: 'x' } } }))
    const typo = await t.sb.run(['approve', t.id, '--yes', '--signing-key', alice.signer.key, '--backend', t.sb.backend], { cwd: t.project, env: alice.env })
    expect(typo.code, typo.all).toBe(1)
    expect(typo.stderr).toMatch(/ECONFIG.*stagePublish\.approvals is invalid/)
    const range = await t.sb.run(['verify-approvals', `${t.name}@^1.0.0`, '--allowed-signers', t.signersFile, '--registry', registry.url], { cwd: t.sb.dir, env: alice.env })
    expect(range.code, range.all).toBe(2)
    expect(range.stderr).toContain('is not <name>@<exact version>')
    const notPublished = await t.sb.run(['verify-approvals', `${t.name}@1.0.0`, '--allowed-signers', t.signersFile, '--registry', registry.url, '--backend', t.sb.backend], { cwd: t.sb.dir, env: alice.env })
    expect(notPublished.code, notPublished.all).toBe(1)
    expect(notPublished.stderr).toContain('is not published on')
    expect(await publishedIntegrity(t.sb, registry.url, `${t.name}@1.0.0`)).toBeNull()
  })
})
