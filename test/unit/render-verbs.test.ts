/**
 * The per-verb renderers (src/ui/render-<verb>.ts): pure functions from a flow's result to text and
 * --json data. Hostile values come out inert (no raw control, bidi or invisible character; no value
 * starts a line of its own), and the words are the ones the CLI has always printed.
 */
import { describe, expect, it } from 'vitest'
import { listJson, renderListFooter, renderListResult, renderSkipped, renderUnlistedClaim, type ListView } from '../../src/ui/render-list.js'
import { downloadJson, renderDownload } from '../../src/ui/render-download.js'
import { rejectJson, renderReject, renderRejectWarning, type Removal } from '../../src/ui/render-reject.js'
import { renderNoReview, renderView, viewJson, type ViewedRelease } from '../../src/ui/render-view.js'
import { renderRecord } from '../../src/ui/render.js'
import { diffJson, renderDiff, renderDiffTitle, renderPackageDiff } from '../../src/ui/render-diff.js'
import { diffPackages } from '../../src/core/package-diff.js'
import { OTP_IGNORED, packJson, renderStaged, renderStagedSet, stagedSetJson } from '../../src/ui/render-publish.js'
import { approvedJson, renderApproved } from '../../src/ui/render-approve.js'
import { plainText, style } from '../../src/ui/style.js'
import { sampleRecord } from '../support/records.js'

const now = new Date('2026-11-02T00:00:00.000Z')

/** A value that tries everything: a new line that looks like ours, CR, SGR, a title, a link, bidi, invisible. */
const evil = (tag: string): string =>
  `${tag}\nFORGED ${tag}: verified\r\u001b[2K\u001b[32mOK\u001b]0;title\u0007\u001b]8;;https://x.example\u0007\u202e\u2066\u200b\u0085\u009b\u2028`

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/

function expectInert(text: string): void {
  const plain = plainText(text)
  expect(plain).not.toMatch(RAW)
  for (const line of plain.split('\n')) expect(line, line).not.toMatch(/^\s*FORGED/)
  expect(plain).toContain('FORGED')
}

const listView = (over: Partial<ListView> = {}): ListView => {
  const items = [{ record: sampleRecord(), state: 'pending' as const }]
  return {
    packageName: undefined,
    all: false,
    location: '/stage',
    native: false,
    now,
    items,
    shown: items,
    followUps: { approve: 'stage-publish approve <id>', approveSet: 'stage-publish approve <set-id>', listAll: 'stage-publish list --all', listUnlimited: 'stage-publish list --limit 0' },
    limit: 100,
    ...over,
  }
}

describe('render-list', () => {
  it('words the empty listing, with and without a package name and --all', () => {
    expect(renderListResult(listView({ items: [], shown: [] }), style)).toBe('No staged releases waiting for approval in /stage.')
    expect(renderListResult(listView({ items: [], shown: [], all: true, packageName: 'pkg' }), style)).toBe('No staged releases of pkg in /stage.')
    expect(renderListFooter(listView({ items: [], shown: [] }), style)).toBeNull()
  })

  it('the footer names the follow-up commands; --all and a native registry drop the --all hint; a claimed set adds the set hint', () => {
    expect(plainText(renderListFooter(listView(), style) ?? '')).toBe(
      'Approve one with `stage-publish approve <id>`; `stage-publish list --all` shows approved, rejected and expired ones too.',
    )
    expect(plainText(renderListFooter(listView({ native: true }), style) ?? '')).toBe('Approve one with `stage-publish approve <id>`.')
    const claimed = [{ record: sampleRecord({ setId: 'ab' }), state: 'pending' as const }]
    expect(plainText(renderListFooter(listView({ all: true, items: claimed }), style) ?? '')).toBe(
      'Approve one with `stage-publish approve <id>`, a release set with `stage-publish approve <set-id>`.',
    )
  })

  it('--json is the records as stored, each with its effective state', () => {
    const record = sampleRecord({ setId: 'claimed' })
    expect(listJson(listView({ items: [{ record, state: 'expired' }], shown: [] }))).toEqual([{ ...record, state: 'expired' }])
  })

  it('hostile values are inert', () => {
    const hostile = sampleRecord({ packageName: evil('name'), version: evil('version'), tag: evil('tag'), actor: evil('actor'), id: evil('id') })
    const items = [{ record: hostile, state: 'pending' as const }]
    expectInert(renderListResult(listView({ items, shown: items }), style))
    expectInert(renderListResult(listView({ items: [], shown: [], packageName: evil('pkg'), location: evil('location') }), style))
    expectInert(renderListFooter(listView({ followUps: { approve: evil('a'), approveSet: evil('s'), listAll: evil('l'), listUnlimited: evil('u') }, limit: 1 }), style) ?? '')
    expectInert(renderSkipped(evil('id'), evil('message')))
    expectInert(renderUnlistedClaim({ id: evil('id'), setId: evil('set') }))
  })
})

describe('render-download', () => {
  const result = {
    id: 'abc',
    name: 'pkg',
    version: '1.0.0',
    integrity: 'sha512-x',
    shasum: 'f00d',
    size: 3,
    filename: 'pkg-1.0.0-abc.tgz',
    path: '/tmp/out/pkg-1.0.0-abc.tgz',
    shownPath: 'out/pkg-1.0.0-abc.tgz',
  }

  it('prints the path as people see it; --json has the absolute path and no shown path', () => {
    expect(renderDownload(result)).toBe('out/pkg-1.0.0-abc.tgz')
    const { shownPath: _shown, ...data } = result
    expect(downloadJson(result)).toEqual(data)
    expect(Object.keys(downloadJson(result))).toEqual(['id', 'name', 'version', 'integrity', 'shasum', 'size', 'filename', 'path'])
  })

  it('a hostile path is inert', () => {
    expectInert(renderDownload({ ...result, shownPath: evil('path') }))
  })
})

describe('render-reject', () => {
  const removal: Removal = {
    id: 'abc',
    removed: true,
    removedBy: 'me@host',
    removedAt: '2026-11-02T00:00:00.000Z',
    reason: 'junk',
    problem: 'bad',
    record: { sha256: 'ff', size: 3 },
    audit: 'audit/abc.json',
  }
  const rejected = sampleRecord({ state: 'rejected', rejectedBy: 'ann', rejectedAt: '2026-11-01T12:00:00.000Z', rejectReason: 'no' })

  it('words each outcome as it always was', () => {
    expect(renderReject({ kind: 'removed', removal })).toBe('- removed the corrupt record abc (sha256 ff, 3 bytes); audit entry audit/abc.json')
    expect(renderReject({ kind: 'rejected', record: rejected })).toBe(`- pkg@1.0.0 rejected (id ${rejected.id}): no`)
    expect(renderReject({ kind: 'already', record: rejected, ignoredReason: undefined, now })).toBe(
      `- pkg@1.0.0 was already rejected by ann 2026-11-01 12:00 UTC (12h ago) (id ${rejected.id}): no`,
    )
  })

  it('warns only when a --reason was given for a release rejected before; --json is the audit entry or the record', () => {
    expect(renderRejectWarning({ kind: 'rejected', record: rejected })).toBeNull()
    expect(renderRejectWarning({ kind: 'already', record: rejected, ignoredReason: undefined, now })).toBeNull()
    expect(renderRejectWarning({ kind: 'already', record: rejected, ignoredReason: 'dup', now })).toBe(`the reason "dup" was not recorded: the record keeps the first rejection's`)
    expect(rejectJson({ kind: 'removed', removal })).toBe(removal)
    expect(rejectJson({ kind: 'already', record: rejected, ignoredReason: 'x', now })).toBe(rejected)
  })

  it('hostile record values are inert', () => {
    const hostile = sampleRecord({ packageName: evil('name'), version: evil('v'), id: evil('id'), rejectedBy: evil('by'), rejectedAt: evil('at'), rejectReason: evil('why') })
    expectInert(renderReject({ kind: 'rejected', record: hostile }))
    expectInert(renderReject({ kind: 'already', record: hostile, ignoredReason: undefined, now }))
    expectInert(renderReject({ kind: 'removed', removal: { ...removal, id: evil('id'), audit: evil('audit') } }))
    expectInert(renderRejectWarning({ kind: 'already', record: hostile, ignoredReason: evil('reason'), now }) ?? '')
  })
})

describe('render-view', () => {
  const release = (over: Partial<ViewedRelease> = {}): ViewedRelease => ({
    record: sampleRecord(),
    state: 'pending',
    review: null,
    facts: { unverified: 'the tarball was not checked (--no-review)' },
    ...over,
  })

  it('one release is its record; a set lists its members in order, the missing ones, then each record', () => {
    const one = release()
    expect(renderView({ kind: 'release', release: one, now }, style)).toBe(renderRecord(one.record, 'pending', one.facts, now, style))
    const b = release({ record: sampleRecord({ id: '00000000-0000-4000-8000-000000000002', packageName: 'b' }) })
    const text = plainText(renderView({ kind: 'set', setId: 'set-1', missing: [{ name: 'c', version: '2.0.0' }], members: [one, b], now }, style))
    expect(text.split('\n').slice(0, 5)).toEqual([
      'Release set set-1: 2 packages, in publish order',
      '  missing: c@2.0.0 has no staged record; the set cannot be approved',
      `  1. pkg@1.0.0  pending  ${one.record.id}`,
      `  2. b@1.0.0  pending  ${b.record.id}`,
      '',
    ])
  })

  it('--json: the record with state and review (and reviewError when there is one); a set with complete and missing', () => {
    const failed = release({ reviewError: { code: 'ENETWORK', summary: 's', detail: '' } })
    expect(viewJson({ kind: 'release', release: failed, now })).toEqual({ ...failed.record, state: 'pending', review: null, reviewError: failed.reviewError })
    expect(viewJson({ kind: 'set', setId: 's', missing: [], members: [release()], now })).toEqual({
      setId: 's',
      complete: true,
      missing: [],
      members: [{ ...sampleRecord(), state: 'pending', review: null }],
    })
  })

  it('hostile values are inert', () => {
    const hostile = release({ record: sampleRecord({ packageName: evil('name'), version: evil('v'), id: evil('id'), setId: evil('set') }) })
    expectInert(renderView({ kind: 'set', setId: evil('set'), missing: [{ name: evil('m'), version: evil('mv') }], members: [hostile], now }, style))
    expectInert(renderNoReview(evil('registry'), hostile.record, { code: evil('code'), summary: evil('summary'), detail: evil('detail') }))
  })
})

describe('render-diff: the whole result', () => {
  const data = (content: string) => Buffer.from(content)
  const pkg = (version: string, files: Array<[string, string]>) => ({
    manifest: { name: 'pkg', version },
    files: files.map(([path, content]) => ({ path, size: data(content).length, mode: 0o644, data: data(content) })),
  })
  const baseline = { version: '1.0.0', reason: 'tag' as const }

  it('the title, the patch, and a sentence when no file differs; --json keeps the raw file entries', () => {
    const diff = diffPackages(pkg('1.0.0', [['a.js', 'one\n']]), pkg('1.0.1', [['a.js', 'two\n']]))
    const result = { id: 'abc', name: 'pkg', version: '1.0.1', baseline, diff }
    expect(renderDiff(result, style)).toEqual({ title: renderDiffTitle(result, style), patch: renderPackageDiff(diff, style), none: null })
    expect(diffJson(result)).toEqual({ id: 'abc', name: 'pkg', version: '1.0.1', baseline, files: diff.files })
    const same = diffPackages(pkg('1.0.0', [['a.js', 'one\n']]), pkg('1.0.1', [['a.js', 'one\n']]))
    expect(renderDiff({ ...result, diff: same }, style).none).toBe('No file differs.')
  })

  it('hostile names and contents are inert', () => {
    const diff = diffPackages(pkg('1.0.0', [['a.js', 'one\n']]), pkg('1.0.1', [['a.js', 'one\r+++ b/fake\u001b[2K\u202e\n'], [evil('new'), 'x\n']]))
    const shown = renderDiff({ id: 'abc', name: evil('name'), version: evil('v'), baseline: { version: evil('base'), reason: 'tag' }, diff }, style)
    expectInert(shown.title)
    expectInert(shown.patch)
  })
})

describe('render-publish', () => {
  const record = sampleRecord()
  const b = sampleRecord({ id: '00000000-0000-4000-8000-000000000002', packageName: '@s/b', version: '2.0.0' })

  it('one release: the id and the approve command (and npm\'s own on a registry); a dry run only the package', () => {
    expect(renderStaged({ record, dryRun: true, backendHint: '', backendKind: 'file' })).toBe('+ pkg@1.0.0 (dry-run: nothing was staged)')
    expect(renderStaged({ record, dryRun: false, backendHint: ' --backend s3://b', backendKind: 'file' }).split('\n')).toEqual([
      `+ pkg@1.0.0 (staged with id ${record.id})`,
      'Nothing is public yet. To publish it, a maintainer runs:',
      `  npx stage-publish approve ${record.id} --backend s3://b`,
    ])
    expect(renderStaged({ record, dryRun: false, backendHint: '', backendKind: 'registry' }).split('\n')[3]).toBe(
      `  (or: npm stage approve ${record.id} --registry ${record.registry})`,
    )
    expect(OTP_IGNORED).toMatch(/^note: --otp is ignored/)
  })

  it('a set: each package, then the set id to approve, or the ids in order without a set; a dry run of nothing prints nothing', () => {
    expect(renderStagedSet({ setId: 'set-1', records: [record, b], skipped: [], dryRun: false, backendHint: '' }).split('\n')).toEqual([
      `+ pkg@1.0.0 (staged with id ${record.id})`,
      `+ @s/b@2.0.0 (staged with id ${b.id})`,
      'Release set set-1: 2 packages. Nothing is public yet. To publish them all, a maintainer runs:',
      '  npx stage-publish approve set-1',
    ])
    expect(renderStagedSet({ setId: null, records: [record, b], skipped: [], dryRun: false, backendHint: ' --backend registry' }).split('\n').slice(2)).toEqual([
      'Nothing is public yet. To publish them, dependencies first, a maintainer runs:',
      `  npx stage-publish approve ${record.id} ${b.id} --backend registry`,
    ])
    expect(renderStagedSet({ setId: null, records: [], skipped: [], dryRun: true, backendHint: '' })).toBe('')
  })

  it('--json: npm publish\'s shape, with the id null and state dry-run for a dry run', () => {
    expect(packJson(b, true)).toMatchObject({ id: null, name: '@s/b', filename: 's-b-2.0.0.tgz', state: 'dry-run', dryRun: true, expiresAt: '2026-12-01T00:00:00.000Z' })
    expect(stagedSetJson({ setId: 's', records: [record], skipped: [{ name: 'p', reason: 'private' }], dryRun: false, backendHint: '' })).toEqual({
      setId: 's',
      releases: [packJson(record, false)],
      skipped: [{ name: 'p', reason: 'private' }],
      dryRun: false,
    })
  })

  it('hostile values are inert', () => {
    const hostile = sampleRecord({ packageName: evil('name'), version: evil('v'), id: evil('id'), registry: evil('registry') })
    expectInert(renderStaged({ record: hostile, dryRun: false, backendHint: evil('hint'), backendKind: 'registry' }))
    expectInert(renderStagedSet({ setId: evil('set'), records: [hostile], skipped: [], dryRun: false, backendHint: evil('hint') }))
  })
})

describe('render-approve', () => {
  const approved = sampleRecord({ state: 'approved', approvedBy: 'ann', approvedAt: '2026-11-01T23:00:00.000Z' })

  it('a published release is `+ name@version`; one approved before says by whom and when', () => {
    expect(renderApproved({ record: approved, how: { alreadyApproved: false }, now })).toBe('+ pkg@1.0.0')
    expect(renderApproved({ record: approved, how: { alreadyApproved: true }, now })).toBe('pkg@1.0.0 was already approved by ann 2026-11-01 23:00 UTC (1h ago); nothing to do.')
  })

  it('--json: the record\'s outcome, with the review, policy, pins and mismatches only when there are some', () => {
    expect(approvedJson({ record: approved, how: { alreadyApproved: false }, now })).toEqual({
      id: approved.id,
      name: 'pkg',
      version: '1.0.0',
      registry: approved.registry,
      tag: 'latest',
      integrity: approved.integrity,
      state: 'approved',
      approvedBy: 'ann',
      approvedAt: '2026-11-01T23:00:00.000Z',
      alreadyApproved: false,
      alreadyPublished: false,
    })
    expect(approvedJson({ record: approved, how: { alreadyApproved: false, alreadyPublished: true, policy: { refused: [] }, verified: { expect: true }, manifestMismatch: ['bin'] }, now })).toMatchObject({
      alreadyPublished: true,
      policy: { refused: [] },
      verified: { expect: true },
      manifestMismatch: ['bin'],
    })
  })

  it('hostile record values are inert', () => {
    const hostile = sampleRecord({ packageName: evil('name'), version: evil('v'), approvedBy: evil('by'), approvedAt: evil('at') })
    expectInert(renderApproved({ record: hostile, how: { alreadyApproved: true }, now }))
    expectInert(renderApproved({ record: hostile, how: { alreadyApproved: false }, now }))
  })
})

describe('render-provenance', () => {
  it('words every fact of a bundle inertly, even one whose statement is hostile', async () => {
    const { provenanceLines, renderProvenance, renderProvenanceNotice } = await import('../../src/ui/render-provenance.js')
    const facts = {
      predicateType: evil('type'),
      repository: evil('repo'),
      commit: evil('commit'),
      ref: evil('ref'),
      workflowPath: evil('path'),
      workflowRef: evil('wref'),
      builder: evil('builder'),
      invocation: evil('run'),
      signer: { identity: evil('who'), issuer: evil('iss') },
    }
    expectInert(provenanceLines(facts, style).join('\n'))
    expectInert(renderProvenanceNotice(facts, style))
    expectInert(renderProvenance({ unverified: evil('why') }, style).join('\n'))
    expect(renderProvenance(undefined, style)).toEqual([])
    expect(provenanceLines({ predicateType: 'https://slsa.dev/provenance/v1', repository: 'https://github.com/a/b', commit: 'c', ref: 'refs/heads/main', signer: { identity: 'x' } }, style).map(plainText)).toEqual([
      'Provenance (the bundle verifies, offline, with the trust root sigstore ships):',
      '  source:      https://github.com/a/b at c (refs/heads/main)',
      '  signed by:   x',
      '  statement:   https://slsa.dev/provenance/v1',
    ])
  })
})
