/**
 * Provenance bundles as hostile bytes (src/core/provenance.ts) and their offline verification with the
 * trust root sigstore ships (src/npm/provenance-verify.ts), on npm/cli's own libnpmpublish fixtures
 * (test/fixtures/provenance/README.md says what "-relocated" means), plus the comparison with a record's
 * git/CI claims (src/core/review/provenance.ts).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseBundle, statementFacts, PROVENANCE_LIMITS } from '../../src/core/provenance.js'
import { provenanceMismatches, repoKey } from '../../src/core/review/provenance.js'
import { packagePurl, verifyProvenance } from '../../src/npm/provenance-verify.js'
import { sha512Integrity } from '../../src/npm/tarball.js'
import { ROOT } from '../support/cli.js'

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'provenance')
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name))
const TARBALL = fixture('npmcli-libnpmpublish-test-1.0.0.tgz')
const expected = { name: '@npmcli/libnpmpublish-test', version: '1.0.0', integrity: sha512Integrity(TARBALL) }
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}
const messageOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  return ''
}

describe('verifyProvenance (offline, the trust root sigstore ships)', () => {
  it('accepts npm\'s real bundle for the tarball it was made for, and proves who signed it', () => {
    const v = verifyProvenance(fixture('valid-bundle-relocated.json'), expected)
    expect(v.integrity).toBe(sha512Integrity(fixture('valid-bundle-relocated.json')))
    expect(v.facts).toEqual({
      predicateType: 'https://slsa.dev/provenance/v0.2',
      repository: 'https://github.com/npm/cli',
      commit: '1cf17804c7625c5c78ec9696f9fef7ecc44e0c58',
      ref: 'refs/heads/latest',
      workflowPath: 'publish',
      builder: 'https://github.com/npm/cli@9.1.3',
      invocation: '3622314301-1',
      signer: { identity: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' },
    })
  })

  it('refuses a bundle whose subject digest is another tarball\'s', () => {
    expect(messageOf(() => verifyProvenance(fixture('digest-mismatch-provenance-bundle-relocated.json'), expected))).toMatch(/is for other bytes/)
  })

  it('refuses a bundle with two subjects, as npm does', () => {
    expect(messageOf(() => verifyProvenance(fixture('multi-subject-provenance-bundle-relocated.json'), expected))).toMatch(/names 2 subjects/)
  })

  it('refuses a bundle made for another package name', () => {
    const other = { ...expected, name: '@npmcli/libnpmpublish-fail-test' }
    expect(messageOf(() => verifyProvenance(fixture('valid-bundle-relocated.json'), other))).toContain('is for pkg:npm/%40npmcli/libnpmpublish-test@1.0.0, not for this package (pkg:npm/%40npmcli/libnpmpublish-fail-test@1.0.0)')
  })

  it('refuses npm\'s invalid-signature bundle at the signature check', () => {
    expect(messageOf(() => verifyProvenance(fixture('invalid-signature-bundle-relocated.json'), expected))).toMatch(/does not verify against Sigstore's trust root \(TLOG_BODY_ERROR/)
  })

  it('refuses a bundle whose DSSE signature was changed by one bit', () => {
    const b = JSON.parse(fixture('valid-bundle-relocated.json').toString('utf8')) as { dsseEnvelope: { signatures: Array<{ sig: string }> } }
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]?.sig ?? '', 'base64')
    sig[10] = (sig[10] ?? 0) ^ 1
    ;(b.dsseEnvelope.signatures[0] as { sig: string }).sig = sig.toString('base64')
    expect(messageOf(() => verifyProvenance(Buffer.from(JSON.stringify(b)), expected))).toMatch(/does not verify/)
  })

  it('refuses npm\'s valid-bundle.json as npm ships it: its tlog entries sit under the pre-1.0 `verificationData`, which sigstore 4 does not read', () => {
    // npm's own test stubs sigstore.verify for this fixture (libnpmpublish test/publish.js, "user-supplied provenance - success").
    expect(messageOf(() => verifyProvenance(fixture('valid-bundle.json'), expected))).toMatch(/does not verify/)
  })

  it('refuses the broken fixtures before any signature check, with EPROVENANCE', () => {
    for (const name of ['bad-bundle.json', 'bad-dsse-payload-bundle.json', 'no-provenance-envelope-bundle.json', 'no-provenance-subject-bundle.json']) {
      expect(codeOf(() => verifyProvenance(fixture(name), expected)), name).toBe('EPROVENANCE')
    }
  })

  it('computes the purl as libnpmpublish does', () => {
    expect(packagePurl('@npmcli/libnpmpublish-test', '1.0.0')).toBe('pkg:npm/%40npmcli/libnpmpublish-test@1.0.0')
    expect(packagePurl('lib', '2.0.0-beta.1')).toBe('pkg:npm/lib@2.0.0-beta.1')
  })
})

describe('parseBundle (pure, hostile input)', () => {
  const bundle = (statement: unknown, extra: Record<string, unknown> = {}) =>
    Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', dsseEnvelope: { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(statement)).toString('base64'), signatures: [] }, ...extra }))
  const subject = [{ name: 'pkg:npm/lib@1.0.0', digest: { sha512: 'a'.repeat(128) } }]

  it('refuses what is too large, not UTF-8, not JSON or not a bundle', () => {
    expect(messageOf(() => parseBundle(Buffer.alloc(PROVENANCE_LIMITS.bundleBytes + 1, 0x20)))).toMatch(/over the limit/)
    expect(messageOf(() => parseBundle(Buffer.from([0x7b, 0xff, 0x7d])))).toMatch(/not UTF-8/)
    expect(messageOf(() => parseBundle(Buffer.from('{"a":')))).toMatch(/not valid JSON/)
    expect(messageOf(() => parseBundle(Buffer.from('[]')))).toMatch(/not a JSON object/)
    expect(messageOf(() => parseBundle(Buffer.from('{"mediaType":"text/plain"}')))).toMatch(/not a Sigstore bundle/)
  })

  it('refuses a payload that is not an in-toto statement with exactly one sha512 subject', () => {
    expect(messageOf(() => parseBundle(bundle({ subject: [] })))).toMatch(/names no subject/)
    expect(messageOf(() => parseBundle(bundle({ subject: [subject[0], subject[0]] })))).toMatch(/names 2 subjects/)
    expect(messageOf(() => parseBundle(bundle({ subject: [{ name: 'x', digest: { sha256: 'a'.repeat(64) } }] })))).toMatch(/no sha512/)
    expect(messageOf(() => parseBundle(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', dsseEnvelope: { payloadType: 'text/plain', payload: 'e30=' } }))))).toMatch(/not an in-toto statement/)
  })

  it('keeps facts as safe, bounded text: no escape sequence, no bidi override from a statement reaches a terminal', () => {
    const p = parseBundle(bundle({ subject, predicateType: 'https://slsa.dev/provenance/v1', predicate: { buildDefinition: { externalParameters: { workflow: { repository: 'https://github.com/o/r\u001b]8;;evil\u0007', path: '.github/workflows/x.yml\u202e', ref: 'refs/heads/main' } } }, runDetails: { builder: { id: 'b'.repeat(5000) } } } }))
    expect(p.facts.repository).toBe('https://github.com/o/r\uFFFD]8;;evil\uFFFD')
    expect(p.facts.workflowPath).toBe('.github/workflows/x.yml\uFFFD')
    expect(p.facts.builder).toHaveLength(PROVENANCE_LIMITS.fact)
  })

  it('reads npm\'s SLSA v1 statement (GitHub Actions) into facts', () => {
    expect(statementFacts({
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          externalParameters: { workflow: { ref: 'refs/tags/v1.0.0', repository: 'https://github.com/acme/lib', path: '.github/workflows/release.yml' } },
          resolvedDependencies: [{ uri: 'git+https://github.com/acme/lib@refs/tags/v1.0.0', digest: { gitCommit: 'c'.repeat(40) } }],
        },
        runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: { invocationId: 'https://github.com/acme/lib/actions/runs/7/attempts/1' } },
      },
    })).toEqual({
      predicateType: 'https://slsa.dev/provenance/v1',
      repository: 'https://github.com/acme/lib',
      commit: 'c'.repeat(40),
      ref: 'refs/tags/v1.0.0',
      workflowPath: '.github/workflows/release.yml',
      workflowRef: 'refs/tags/v1.0.0',
      builder: 'https://github.com/actions/runner/github-hosted',
      invocation: 'https://github.com/acme/lib/actions/runs/7/attempts/1',
    })
  })
})

describe('provenanceMismatches (the record\'s claims against the verified facts)', () => {
  const facts = {
    predicateType: 'https://slsa.dev/provenance/v1',
    repository: 'https://github.com/acme/lib',
    commit: 'c'.repeat(40),
    ref: 'refs/heads/main',
    workflowPath: '.github/workflows/release.yml',
    workflowRef: 'refs/heads/main',
    invocation: 'https://github.com/acme/lib/actions/runs/7/attempts/1',
  }
  const claimed = {
    git: { commit: 'c'.repeat(40), remote: 'git@github.com:Acme/lib.git' },
    ci: { provider: 'github-actions', runUrl: 'https://github.com/acme/lib/actions/runs/7', workflow: 'acme/lib/.github/workflows/release.yml@refs/heads/main', ref: 'refs/heads/main' },
  }

  it('finds nothing when they agree (ssh and https remotes, a run with or without its attempt)', () => {
    expect(provenanceMismatches(facts, claimed)).toEqual([])
    expect(repoKey('ssh://git@github.com/acme/lib.git')).toBe(repoKey('git+https://github.com/acme/lib'))
  })

  it('names each field where they differ, with both values', () => {
    const lying = {
      git: { commit: 'd'.repeat(40), remote: 'https://github.com/evil/lib' },
      ci: { provider: 'github-actions', runUrl: 'https://github.com/acme/lib/actions/runs/8', workflow: 'acme/lib/.github/workflows/other.yml@refs/heads/main', ref: 'refs/tags/v9' },
    }
    expect(provenanceMismatches(facts, lying)).toEqual([
      { field: 'repository', provenance: 'https://github.com/acme/lib', record: 'https://github.com/evil/lib' },
      { field: 'commit', provenance: 'c'.repeat(40), record: 'd'.repeat(40) },
      { field: 'ref', provenance: 'refs/heads/main', record: 'refs/tags/v9' },
      { field: 'workflow', provenance: '.github/workflows/release.yml@refs/heads/main', record: 'acme/lib/.github/workflows/other.yml@refs/heads/main' },
      { field: 'run', provenance: 'https://github.com/acme/lib/actions/runs/7/attempts/1', record: 'https://github.com/acme/lib/actions/runs/8' },
    ])
  })

  it('compares nothing the record does not claim', () => {
    expect(provenanceMismatches(facts, {})).toEqual([])
  })
})
