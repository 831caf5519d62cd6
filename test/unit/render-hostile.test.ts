/**
 * Every renderer, fed values an attacker controls (record fields, manifest fields, file names,
 * registry messages): no raw control, bidi or invisible character comes out, and no value can
 * start a line of its own. And view / the approval summary describe package content only from
 * the verified facts.
 */
import { describe, expect, it } from 'vitest'
import { reviewRelease } from '../../src/core/review.js'
import { diffPackages } from '../../src/core/package-diff.js'
import { summarizeBatch } from '../../src/core/batch.js'
import type { TarballFile } from '../../src/npm/tarball.js'
import { describeDifferences, renderApprovalSummary, renderContents, renderList, renderPolicy, renderRecord, type VerifiedFacts } from '../../src/ui/render.js'
import { renderReview, reviewColors } from '../../src/ui/render-review.js'
import { renderPlan, renderSummary } from '../../src/ui/render-batch.js'
import { renderDiffTitle, renderPackageDiff } from '../../src/ui/render-diff.js'
import { plainText, style } from '../../src/ui/style.js'
import { sampleRecord } from '../support/records.js'

const now = new Date('2026-11-02T00:00:00.000Z')

/** A value that tries everything: a new line that looks like ours, CR, SGR, a title, a link, bidi, invisible. */
const evil = (tag: string): string => `${tag}\nFORGED ${tag}: verified\r\u001b[2K\u001b[32mOK\u001b]0;title\u0007\u001b]8;;https://x.example\u0007\u202e\u2066\u200b\u0085\u009b\u2028`

/** Raw characters that must never reach a terminal (our markers aside, which Output turns into SGR). */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/

function expectInert(text: string): void {
  const plain = plainText(text)
  expect(plain).not.toMatch(RAW)
  for (const line of plain.split('\n')) expect(line, line).not.toMatch(/^\s*FORGED/)
  expect(plain).toContain('FORGED') // the value is shown, escaped, on the line it belongs to
}

const file = (path: string, content: string, mode = 0o644): TarballFile => {
  const data = Buffer.from(content)
  return { path, size: data.length, mode, data }
}

const hostileRecord = sampleRecord({
  packageName: evil('name'),
  version: evil('version'),
  tag: evil('tag'),
  actor: evil('actor'),
  git: { commit: evil('commit'), branch: evil('branch'), remote: evil('remote'), dirty: true },
  ci: { provider: evil('provider'), runUrl: evil('url') },
  rejectedAt: '2026-11-01T01:00:00.000Z',
  rejectedBy: evil('rejecter'),
  rejectReason: evil('reason'),
  approvedAt: evil('approvedAt'),
  approvedBy: evil('approver'),
  createdAt: evil('created'),
  registry: evil('registry'),
  setId: evil('set'),
  files: [{ path: evil('claimed-file'), size: 1, mode: 0o644 }],
})

const facts = (over: Partial<VerifiedFacts> = {}): VerifiedFacts => ({
  name: 'pkg',
  version: '1.0.0',
  integrity: 'sha512-verified',
  shasum: 'f00d',
  size: 300,
  unpackedSize: 700,
  fileCount: 2,
  files: [
    { path: 'index.js', size: 500 },
    { path: 'package.json', size: 200 },
  ],
  bundled: [],
  checkedAgainst: 'integrity',
  ...over,
})

describe('renderers with hostile values', () => {
  it('renderRecord (view), verified and not', () => {
    expectInert(renderRecord(hostileRecord, 'rejected', facts({ files: [{ path: evil('file'), size: 1 }] }), now, style))
    expectInert(renderRecord(hostileRecord, 'rejected', { unverified: evil('why') }, now, style))
  })

  it('renderApprovalSummary', () => {
    expectInert(renderApprovalSummary(hostileRecord, facts({ name: evil('fact-name') }), evil('target'), now, style))
  })

  it('renderList', () => {
    const text = renderList([{ record: hostileRecord, state: 'pending' }, { record: sampleRecord({ setId: evil('set2'), id: evil('id') }), state: 'pending' }], now, style)
    expectInert(text)
    expect(plainText(text).split('\n')).toHaveLength(5) // the header, then two release sets of one release each
  })

  it('renderContents (staging)', () => {
    expectInert(
      renderContents(
        { packageName: evil('n'), version: '1.0.0', files: [{ path: evil('f'), size: 1, mode: 0o644 }], bundled: [evil('b')], size: 1, unpackedSize: 1, shasum: evil('s'), integrity: evil('i'), fileCount: 1 },
        style,
      ),
    )
  })

  it('renderPolicy and describeDifferences', () => {
    expectInert(renderPolicy({ refuse: evil('refuse') }, { blocked: [{ code: evil('code') }], allowed: [] }, style))
    expectInert(describeDifferences([{ path: evil('p'), kind: 'only-staged', size: 1 }]))
  })

  it('renderPlan and renderSummary (batch)', () => {
    expectInert(renderPlan([{ name: evil('n'), version: evil('v'), registry: evil('r'), dependsOn: [evil('d')] }], [[evil('c1'), 'x']], evil('set'), style))
    const members = [
      { id: '1', name: evil('a'), version: '1.0.0', dependsOn: [] },
      { id: '2', name: evil('b'), version: '1.0.0', dependsOn: [] },
      { id: '3', name: evil('c'), version: '1.0.0', dependsOn: [evil('a')] },
    ]
    const summary = summarizeBatch(
      members,
      new Map([
        ['1', { status: 'failed' as const, error: { code: 'E403', summary: evil('registry says'), detail: evil('detail') } }],
        ['2', { status: 'pending' as const, reason: 'otp' as const, error: { code: 'EOTP', summary: evil('otp'), detail: '' } }],
        ['3', { status: 'pending' as const, reason: 'dependency' as const, on: [evil('a')] }],
      ]),
      evil('set'),
    )
    expectInert(renderSummary(summary, evil('resume'), style))
  })

  it('renderReview: dependency names and ranges, script bodies, bin names, file names', () => {
    const manifest = (version: string, extra: Record<string, unknown>) => ({ name: 'pkg', version, ...extra })
    const previous = { manifest: manifest('1.0.0', {}), files: [file('package.json', '{}'), file(evil('removed'), 'x')] }
    const staged = {
      manifest: manifest('1.0.1', {
        scripts: { postinstall: evil('script body'), [evil('script name')]: 'x' },
        dependencies: { [evil('dep')]: evil('range'), ok: 'git+https://evil.example/x.git' },
        bin: { [evil('bin')]: evil('bin target') },
        main: evil('main'),
      }),
      files: [file('package.json', '{}'), file(evil('added'), 'y'), file(`lib/${evil('nested')}.js`, 'z', 0o755)],
    }
    const review = reviewRelease({ previous, previousVersion: '1.0.0', staged, tag: 'latest', gitRef: evil('ref'), distTags: { latest: '1.0.0' }, publishedVersions: ['1.0.0'] })
    expectInert(renderReview(review, { color: reviewColors(style) }))
  })

  it('renderPackageDiff: file names, and file contents that try to forge diff lines', () => {
    const previous = { manifest: { name: 'pkg', version: '1.0.0' }, files: [file('a.js', 'one\n')] }
    const staged = { manifest: { name: 'pkg', version: '1.0.1' }, files: [file('a.js', 'one\r+++ b/fake\u001b[2K\u202e\n'), file(evil('new'), 'x\n')] }
    const title = renderDiffTitle({ name: evil('name'), version: '1.0.1', baseline: { version: evil('base'), reason: 'tag' } }, style)
    expectInert(title)
    expect(title.split('\n')).toHaveLength(1)
    const text = renderPackageDiff(diffPackages(previous, staged), style)
    expectInert(text)
    // Content keeps its own line structure (a diff needs it), but a CR cannot pull text to the start of a line.
    expect(plainText(text)).toContain('+one\\x0d+++ b/fake\\x1b[2K\\u{202e}')
  })
})

describe('show only what the bytes prove', () => {
  const claims99 = sampleRecord({
    fileCount: 99,
    size: 1,
    unpackedSize: 2,
    integrity: 'sha512-claimed',
    files: Array.from({ length: 99 }, (_, i) => ({ path: `claimed-${i}.js`, size: 7, mode: 0o644 })),
  })

  it('view lists the verified files, sizes and counts, never the record\'s', () => {
    const text = plainText(renderRecord(claims99, 'pending', facts(), now, style))
    expect(text).toContain('index.js')
    expect(text).toContain('package.json')
    expect(text).toContain('2 files')
    expect(text).toContain('Files (2, from the verified bytes)')
    expect(text).toContain('300 B packed, 700 B unpacked')
    expect(text).toMatch(/^integrity: {3}sha512-verified$/m)
    expect(text).not.toMatch(/claimed-|99 files|sha512-claimed/)
  })

  it('view without verified bytes shows no file list or sizes, only why', () => {
    const text = plainText(renderRecord(claims99, 'pending', { unverified: 'EINTEGRITY: the staged tarball does not match its record' }, now, style))
    expect(text).toContain('Not verified: EINTEGRITY: the staged tarball does not match its record')
    expect(text).not.toMatch(/claimed-|99 files|sha512-claimed|packed|Files/)
  })

  it('puts what only the record can say under a heading that says it is the stager\'s claim', () => {
    const text = plainText(renderRecord(sampleRecord({ git: { commit: 'abc123', branch: 'main' }, ci: { provider: 'github', runUrl: 'https://ci/run/1' } }), 'pending', facts(), now, style))
    const heading = text.indexOf("What the record says (the stager's claim, not verified):")
    expect(heading).toBeGreaterThan(text.indexOf('Verified from the tarball'))
    for (const claim of ['staged by:   me@host', 'from commit: abc123 on main', 'CI run:      github https://ci/run/1', 'tag:         latest', 'expires:']) {
      expect(text.indexOf(claim), claim).toBeGreaterThan(heading)
    }
  })

  it('the approval summary takes name, version, sizes, counts and integrity from the facts', () => {
    const text = plainText(renderApprovalSummary(claims99, facts({ name: 'pkg', version: '1.0.0' }), 'http://127.0.0.1:4873/', now, style))
    expect(text).toContain('Approve pkg@1.0.0?')
    expect(text).toContain('300 B packed, 700 B unpacked, 2 files')
    expect(text).toContain('\nintegrity:   sha512-verified (verified: the bytes match the recorded sha512)')
    expect(text).not.toMatch(/99 files|sha512-claimed/)
    expect(text.indexOf("the stager's claim, not verified")).toBeGreaterThan(text.indexOf('integrity:'))
    const bySha1 = plainText(renderApprovalSummary(claims99, facts({ checkedAgainst: 'shasum' }), 'http://127.0.0.1:4873/', now, style))
    expect(bySha1).toContain('which match the shasum f00d the registry lists')
  })
})
