/**
 * TRUST_DOWNGRADE: a release that would be published with weaker trust evidence than the version it is
 * compared with (or, as pnpm's no-downgrade rule reads it, any earlier version). The packument is
 * hostile: presence follows the installers' rule, details are shown only when they are short plain text.
 */
import { describe, expect, it } from 'vitest'
import { reviewRelease, type Review, type ReviewInput } from '../../src/core/review.js'
import { missingEvidence, readPublishedEvidence, type ReleaseEvidence } from '../../src/core/trust-evidence.js'
import type { TarballContents } from '../../src/core/tarball-contents.js'
import { FINDING_WORDING, renderReview } from '../../src/ui/render-review.js'
import { releaseEvidence } from '../../src/flows/final-hop.js'
import { sampleRecord } from '../support/records.js'

const contents = (version: string): TarballContents => {
  const manifest = { name: 'lib', version }
  const data = Buffer.from(JSON.stringify(manifest))
  return { manifest, files: [{ path: 'package.json', size: data.length, mode: 0o644, data }] }
}

const PROVENANCE = { dist: { attestations: { url: 'https://registry.npmjs.org/-/npm/v1/attestations/lib@1.0.0', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } } }
const TRUSTED = { _npmUser: { name: 'GitHub Actions', email: 'npm-oidc-no-reply@github.com', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:1' } } }
const APPROVED = { _npmUser: { name: 'alice', approver: { name: 'alice' } } }

const none: ReleaseEvidence = { provenance: false, trustedPublisher: false, approver: false }

function review(published: Array<{ version: string; manifest: unknown }>, release: ReleaseEvidence, version = '1.1.0', hop: 'publish' | 'stage' | 'native' = 'publish'): Review {
  const input: ReviewInput = {
    previous: contents('1.0.0'),
    previousVersion: '1.0.0',
    staged: contents(version),
    tag: 'latest',
    distTags: { latest: '1.0.0' },
    publishedVersions: published.map((p) => p.version),
    trust: { hop, release, published: published.map((p) => ({ version: p.version, evidence: readPublishedEvidence(p.manifest) })) },
  }
  return reviewRelease(input)
}
const downgrades = (r: Review) => r.findings.filter((f) => f.code === 'TRUST_DOWNGRADE').map((f) => ({ ...f.args, severity: f.severity }))

describe('readPublishedEvidence: the packument is hostile', () => {
  it('reads provenance, a trusted publisher and an approver with their short details', () => {
    expect(readPublishedEvidence({ ...PROVENANCE, _npmUser: { ...TRUSTED._npmUser, approver: 'bob' } })).toEqual({
      provenance: { detail: 'https://slsa.dev/provenance/v1' },
      trustedPublisher: { detail: 'github' },
      approver: { detail: 'bob' },
    })
    expect(readPublishedEvidence({ name: 'lib', dist: { integrity: 'sha512-x' } })).toEqual({})
  })

  it('counts what an installer counts (any set value), but never shows control characters, long or odd text', () => {
    const evil = readPublishedEvidence({
      dist: { attestations: { provenance: { predicateType: '\u001b[2J\u202eevil' } } },
      _npmUser: { trustedPublisher: { id: 'x'.repeat(500) }, approver: { name: { toString: 'no' } } },
    })
    expect(evil).toEqual({ provenance: {}, trustedPublisher: {}, approver: {} })
    expect(readPublishedEvidence({ dist: { attestations: { provenance: true } }, _npmUser: { trustedPublisher: 1 } })).toEqual({ provenance: {}, trustedPublisher: {} })
  })

  it('ignores what is not set, and inherited or non-object shapes', () => {
    for (const manifest of [null, 'x', [], { dist: null }, { dist: { attestations: { provenance: null } } }, { _npmUser: 'alice' }, { _npmUser: { trustedPublisher: false, approver: '' } }]) {
      expect(readPublishedEvidence(manifest)).toEqual({})
    }
    const proto = JSON.parse('{"_npmUser": {"__proto__": {"trustedPublisher": {"id": "github"}}}}') as unknown
    expect(readPublishedEvidence(proto)).toEqual({})
  })

  it('missingEvidence: only what is definitely not kept', () => {
    expect(missingEvidence({ provenance: {}, trustedPublisher: {} }, { provenance: 'unknown', trustedPublisher: false, approver: true })).toEqual(['trustedPublisher'])
  })
})

describe('TRUST_DOWNGRADE', () => {
  it('names each kind of evidence the compared version carries and the release would not (danger)', () => {
    const r = review([{ version: '1.0.0', manifest: { ...PROVENANCE, ...TRUSTED } }], none)
    expect(downgrades(r)).toEqual([
      { evidence: 'provenance', version: '1.0.0', hop: 'publish', severity: 'danger' },
      { evidence: 'trustedPublisher', version: '1.0.0', hop: 'publish', severity: 'danger' },
    ])
  })

  it('no finding when the evidence is kept, or when there was none', () => {
    expect(downgrades(review([{ version: '1.0.0', manifest: APPROVED }], releaseEvidence('stage', sampleRecord(), false), '1.1.0', 'stage'))).toEqual([])
    expect(downgrades(review([{ version: '1.0.0', manifest: { name: 'lib' } }], none))).toEqual([])
    expect(downgrades(review([{ version: '1.0.0', manifest: PROVENANCE }], { ...none, provenance: true }))).toEqual([])
  })

  it('a recorded approver is kept only through a registry\'s staging, never by a direct publish', () => {
    expect(downgrades(review([{ version: '1.0.0', manifest: APPROVED }], releaseEvidence('publish', sampleRecord(), false)))).toEqual([
      { evidence: 'approver', version: '1.0.0', hop: 'publish', severity: 'danger' },
    ])
  })

  it('a trusted publisher never comes from an approver\'s machine, staged or not; a release CI staged on the registry with trusted publishing keeps it', () => {
    expect(releaseEvidence('stage', sampleRecord(), true)).toEqual({ provenance: true, trustedPublisher: false, approver: true })
    expect(releaseEvidence('native', { ...sampleRecord(), actorType: 'trusted automation' }, false)).toEqual({ provenance: 'unknown', trustedPublisher: true, approver: true })
    // Unknown is not reported as missing: the registry's item does not say whether it has provenance.
    expect(downgrades(review([{ version: '1.0.0', manifest: { ...PROVENANCE, ...TRUSTED } }], releaseEvidence('native', { ...sampleRecord(), actorType: 'trusted automation' }, false), '1.1.0', 'native'))).toEqual([])
  })

  it('looks at every earlier version as pnpm does (the compared one named first), leaving prereleases out for a stable release', () => {
    const published = [
      { version: '0.9.0', manifest: TRUSTED },
      { version: '1.0.0', manifest: { name: 'lib' } },
      { version: '2.0.0-rc.1', manifest: PROVENANCE },
    ]
    expect(downgrades(review(published, none))).toEqual([{ evidence: 'trustedPublisher', version: '0.9.0', hop: 'publish', severity: 'danger' }])
    expect(downgrades(review(published, none, '2.0.0-rc.2')).map((d) => d.evidence)).toEqual(['provenance', 'trustedPublisher'])
  })

  it('is worded with what is missing, pnpm\'s no-downgrade policy and the way to keep it; the review shows the evidence', () => {
    expect(FINDING_WORDING.TRUST_DOWNGRADE({ evidence: 'provenance', version: '1.0.0', hop: 'publish' })).toMatch(/1\.0\.0 was published with a provenance attestation.*pnpm's trustPolicy: no-downgrade refuses to install.*--provenance/)
    expect(FINDING_WORDING.TRUST_DOWNGRADE({ evidence: 'trustedPublisher', version: '1.0.0', hop: 'stage' })).toMatch(/trusted publisher.*staged on the registry and approved there by you, which never records one.*no-downgrade.*--backend registry/)
    expect(FINDING_WORDING.TRUST_DOWNGRADE({ evidence: 'approver', version: '1.0.0', hop: 'publish' })).toMatch(/published directly with your credentials and record none.*--final-hop stage/)
    const r = review([{ version: '1.0.0', manifest: { ...PROVENANCE, _npmUser: { trustedPublisher: { id: 'git\u001b[31mhub' } } } }], none)
    const text = renderReview(r, { color: (_s, t) => t })
    expect(text).toContain('Trust evidence: this release, published directly with your credentials, will carry provenance: no, trusted publisher: no, recorded approver: no')
    expect(text).toContain('  1.0.0 carries provenance (https://slsa.dev/provenance/v1), trusted publisher')
    expect(text).not.toContain('\u001b')
    expect(r.trust).toEqual({ hop: 'publish', release: none, baseline: { provenance: { detail: 'https://slsa.dev/provenance/v1' }, trustedPublisher: {} } })
  })

  it('is not judged without trust input (view of an older caller)', () => {
    const r = reviewRelease({ previous: contents('1.0.0'), previousVersion: '1.0.0', staged: contents('1.1.0'), tag: 'latest' })
    expect(r.trust).toBeUndefined()
    expect(r.findings.some((f) => f.code === 'TRUST_DOWNGRADE')).toBe(false)
  })
})
