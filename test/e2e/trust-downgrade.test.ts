/**
 * No silent downgrade, against the real Verdaccio 9: an earlier version is published to the test registry
 * with trust evidence in its manifest (`dist.attestations`, `_npmUser.trustedPublisher`,
 * `_npmUser.approver`; Verdaccio keeps what the publish body says), then a new version staged in a local
 * directory is approved. The review names what the release would lose (TRUST_DOWNGRADE, danger) before
 * the one-time password is used, and a policy that refuses dangers stops it with nothing published.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import libnpmpublish from 'libnpmpublish'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { packageTgz } from '../support/tarball-builder.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'

const publish = libnpmpublish.publish as (manifest: Record<string, unknown>, tarball: Buffer, opts: Record<string, unknown>) => Promise<unknown>

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const ATTESTATIONS = { url: 'https://registry.npmjs.org/-/npm/v1/attestations/x@1.0.0', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } }

/** `name@1.0.0` published by a maintainer with `evidence` in its manifest; then `name@1.0.1` staged to a local directory. */
async function previousWithEvidence(evidence: { dist?: Record<string, unknown>; _npmUser?: Record<string, unknown> }) {
  const sb = await sandbox()
  const name = uniqueName('trust')
  const maintainer = await registry.createUser()
  const manifest = { name, version: '1.0.0', ...evidence }
  await publish(manifest, packageTgz({ name, version: '1.0.0' }), {
    registry: registry.url,
    [`//${registry.host}/:_authToken`]: maintainer.token,
    otp: await maintainer.otp(),
  })
  const pkg = await sb.makePackage(name, { version: '1.0.1' })
  const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
  expect(staged.code, staged.all).toBe(0)
  const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
  const npmrc = await maintainer.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
  // The approver's project: a policy that refuses danger findings.
  const strict = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-trust-'))
  await fs.writeFile(path.join(strict, 'package.json'), JSON.stringify({ name: 'approver-project', private: true, stagePublish: { policy: { refuse: 'danger' } } }))
  return { sb, name, id, integrity, maintainer, strict, env: { NPM_CONFIG_USERCONFIG: npmrc, STAGE_PUBLISH_FINAL_HOP: '' } }
}

type Findings = { review: { findings: Array<{ code: string; severity: string; args: Record<string, string> }> } }

describe('TRUST_DOWNGRADE against a previous version on the test registry', () => {
  it('Verdaccio keeps the evidence; a release that would lose provenance and the trusted publisher is named, and refused by a danger policy', async () => {
    const { sb, name, id, maintainer, strict, env } = await previousWithEvidence({
      dist: { attestations: ATTESTATIONS },
      _npmUser: { name: 'GitHub Actions', email: 'npm-oidc-no-reply@github.com', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:0000' } },
    })
    // The raw document (npm view words an _npmUser with a trusted publisher as a person string).
    const doc = (await (await fetch(`${registry.url}${name}`)).json()) as { versions: Record<string, unknown> }
    expect(doc.versions['1.0.0']).toMatchObject({ dist: { attestations: ATTESTATIONS }, _npmUser: { trustedPublisher: { id: 'github' } } })

    // view shows the same review.
    const view = await sb.run(['view', id, '--json', '--backend', sb.backend], { cwd: strict, env })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<Findings>(view.stdout).review.findings.filter((f) => f.code === 'TRUST_DOWNGRADE').map((f) => f.args.evidence)).toEqual(['provenance', 'trustedPublisher'])

    // The policy stops it before any code is sent: a dummy code proves that.
    const refused = await sb.run(['approve', id, '--yes', '--otp', '000000', '--backend', sb.backend], { cwd: strict, env })
    expect(refused.code, refused.all).toBe(1)
    expect(refused.stderr).toContain('EPOLICY')
    expect(refused.stderr).toMatch(/DANGER 1\.0\.0 was published with a provenance attestation; this release has no verified provenance bundle .*pnpm's trustPolicy: no-downgrade refuses to install/)
    expect(refused.stderr).toMatch(/DANGER 1\.0\.0 was published by a trusted publisher \(CI through OIDC\); this release would be staged on the registry and approved there by you, which never records one/)
    expect(refused.stderr).toContain('1.0.0 carries provenance (https://slsa.dev/provenance/v1), trusted publisher (github)')
    expect(refused.stderr).toContain('will carry provenance: no, trusted publisher: no, recorded approver: yes')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBeNull()

    // Accepted by name: published, and the findings are in the JSON result.
    const r = await sb.run(['approve', id, '--yes', '--otp', await maintainer.otp(), '--allow', 'TRUST_DOWNGRADE', '--json', '--backend', sb.backend], { cwd: strict, env })
    expect(r.code, r.all).toBe(0)
    const downgrades = parseJson<Findings>(r.stdout).review.findings.filter((f) => f.code === 'TRUST_DOWNGRADE')
    expect(downgrades).toEqual([
      { code: 'TRUST_DOWNGRADE', severity: 'danger', args: { evidence: 'provenance', version: '1.0.0', hop: 'stage' } },
      { code: 'TRUST_DOWNGRADE', severity: 'danger', args: { evidence: 'trustedPublisher', version: '1.0.0', hop: 'stage' } },
    ])
  })

  it('a recorded approver is kept by the staging final hop (no finding) and lost by a direct publish (TRUST_DOWNGRADE)', async () => {
    const { sb, name, id, integrity, maintainer, strict, env } = await previousWithEvidence({ _npmUser: { name: 'alice', approver: { name: 'alice' } } })

    const direct = await sb.run(['approve', id, '--yes', '--otp', '000000', '--final-hop', 'publish', '--backend', sb.backend], { cwd: strict, env })
    expect(direct.code, direct.all).toBe(1)
    expect(direct.stderr).toContain('EPOLICY')
    expect(direct.stderr).toMatch(/DANGER 1\.0\.0 records the person who approved it through the registry's staging; this release would be published directly with your credentials and record none/)

    const staged = await sb.run(['approve', id, '--yes', '--otp', await maintainer.otp(), '--json', '--backend', sb.backend], { cwd: strict, env })
    expect(staged.code, staged.all).toBe(0)
    expect(parseJson<Findings>(staged.stdout).review.findings.map((f) => f.code)).not.toContain('TRUST_DOWNGRADE')
    expect(staged.stderr).toContain('1.0.0 carries recorded approver (alice)')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.1`)).toBe(integrity)
  })
})
