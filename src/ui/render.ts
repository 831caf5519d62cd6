/** Words for records, lists and approval summaries. Pure: takes a Style, returns text. */
import { isWaiting, type DetailedRecord, type RecordState, type StagedRecord } from '../core/record.js'
import type { Style } from './output.js'
import type { ContentDifference } from '../core/pin.js'
import { formatBytes, formatTime, shortIntegrity } from './format.js'
import { inline } from './sanitize.js'
import { groupBySet, type ListRow } from '../core/release-set.js'
import { renderProvenance, type ProvenanceShown } from './render-provenance.js'

const stateColor: Record<RecordState, Parameters<Style>[0]> = {
  pending: 'cyan',
  approving: 'magenta',
  approved: 'green',
  rejected: 'red',
  expired: 'dim',
}

export const styledState = (state: RecordState, style: Style): string => style(stateColor[state], state)

/** The npm-style contents block printed while staging (npm lib/utils/tar.js logTar). File names come from the package: inline(). */
export function renderContents(r: Pick<DetailedRecord, 'packageName' | 'version' | 'files' | 'bundled' | 'size' | 'unpackedSize' | 'shasum' | 'integrity' | 'fileCount'>, style: Style): string {
  const lines = [`${style('bold', 'package:')} ${inline(r.packageName)}@${inline(r.version)}`, style('bold', 'Tarball Contents')]
  for (const f of r.files) if (!f.path.startsWith('node_modules/')) lines.push(`${formatBytes(f.size).padStart(9)} ${inline(f.path)}`)
  if (r.bundled.length) lines.push(style('bold', 'Bundled Dependencies'), ...r.bundled.map((b) => `  ${inline(b)}`))
  lines.push(
    style('bold', 'Tarball Details'),
    `name: ${inline(r.packageName)}`,
    `version: ${inline(r.version)}`,
    `package size: ${formatBytes(r.size)}`,
    `unpacked size: ${formatBytes(r.unpackedSize)}`,
    `shasum: ${inline(r.shasum)}`,
    `integrity: ${inline(shortIntegrity(r.integrity))}`,
    `total files: ${r.fileCount}`,
  )
  return lines.join('\n')
}

/**
 * What the bytes prove, computed by the flows from a tarball whose digest matched its record
 * (src/flows/facts.ts `factsOf`), never copied from the record: a record can claim any file list.
 */
export interface VerifiedFacts {
  /** name and version of the package.json inside the verified tarball. */
  name: string
  version: string
  /** sha512 and sha1 of the verified bytes. */
  integrity: string
  shasum: string
  /** Packed bytes, the sum of the files' sizes, and the number of files. */
  size: number
  unpackedSize: number
  fileCount: number
  files: Array<{ path: string; size: number }>
  bundled: string[]
  /** What the bytes were checked against: the recorded sha512, or only the sha1 a registry lists. */
  checkedAgainst: 'integrity' | 'shasum'
  /** The provenance staged with the bytes: what its verified bundle proves, or why it is not verified. Absent: none staged. */
  provenance?: ProvenanceShown
}

/** Why there are no verified facts, in words ("the tarball does not match its record", "--no-review"). */
export interface Unverified {
  unverified: string
}

const CLAIM_HEADING = 'What the record says (the stager\'s claim, not verified):'

/** Everything only the record can say, under a heading that says so. */
function claimLines(r: StagedRecord, now: Date, options: { registry: boolean }): string[] {
  const lines = [`  staged by:   ${inline(r.actor)} (${inline(r.actorType)})`]
  if (r.git?.commit) {
    const branch = r.git.branch ? ` on ${inline(r.git.branch)}` : ''
    const dirty = r.git.dirty ? ' (uncommitted changes)' : ''
    lines.push(`  from commit: ${inline(r.git.commit)}${branch}${dirty}${r.git.remote ? ` of ${inline(r.git.remote)}` : ''}`)
  }
  if (r.ci) lines.push(`  CI run:      ${inline(r.ci.provider)}${r.ci.runUrl ? ` ${inline(r.ci.runUrl)}` : ''}`)
  if (options.registry) lines.push(`  registry:    ${inline(r.registry)}`)
  lines.push(
    `  tag:         ${inline(r.tag)}`,
    `  access:      ${inline(r.access ?? 'default')}`,
    ...(r.setId ? [`  release set: ${inline(r.setId)}`] : []),
    `  staged:      ${inline(formatTime(r.createdAt, now))}`,
  )
  return lines
}

/** The verified block. Its lines keep the `integrity:   sha512-…` shape at the start of a line that scripts (the demo) read. */
function factLines(facts: VerifiedFacts, style: Style, options: { checked: boolean }): string[] {
  const checked =
    facts.checkedAgainst === 'integrity'
      ? style('green', '(verified: the bytes match the recorded sha512)')
      : style('green', `(of the downloaded bytes, which match the shasum ${inline(facts.shasum)} the registry lists)`)
  return [
    style('bold', 'Verified from the tarball\'s bytes:'),
    `size:        ${formatBytes(facts.size)} packed, ${formatBytes(facts.unpackedSize)} unpacked, ${facts.fileCount} file${facts.fileCount === 1 ? '' : 's'}`,
    `shasum:      ${inline(facts.shasum)}`,
    `integrity:   ${inline(facts.integrity)}${options.checked ? ` ${checked}` : ''}`,
    ...renderProvenance(facts.provenance, style),
  ]
}

const isVerified = (facts: VerifiedFacts | Unverified): facts is VerifiedFacts => !('unverified' in facts)

/**
 * Everything about one release (view). Package content — name@version, sizes, counts, integrity,
 * the file list — comes only from `facts`; without them, only why. The rest is the record's word.
 */
export function renderRecord(r: StagedRecord, state: RecordState, facts: VerifiedFacts | Unverified, now: Date, style: Style): string {
  const title = isVerified(facts)
    ? `${style('bold', `${inline(facts.name)}@${inline(facts.version)}`)}  ${styledState(state, style)}`
    : `${style('bold', `${inline(r.packageName)}@${inline(r.version)}`)}  ${styledState(state, style)}  ${style('yellow', '(name and version as the record says)')}`
  const lines = [title, `id:          ${inline(r.id)}`, '']
  if (isVerified(facts)) {
    lines.push(...factLines(facts, style, { checked: false }))
  } else {
    lines.push(
      `${style('yellow', 'Not verified:')} ${inline(facts.unverified)}`,
      '  No sizes, file counts or files are shown: only bytes that match their record are described.',
    )
  }
  lines.push('', style('bold', CLAIM_HEADING), ...claimLines(r, now, { registry: true }))
  // A decided release waits for nothing: its expiry is no longer news.
  if (isWaiting(state)) lines.push(`  expires:     ${r.expiresAt ? inline(formatTime(r.expiresAt, now)) : 'never (the registry keeps it until it is approved or rejected)'}`)
  if (state === 'expired') lines.push(`  expired:     ${inline(formatTime(r.expiresAt, now))} without approval`)
  if (r.claim && r.state === 'approving') lines.push(`  approving:   by ${inline(r.claim.by)} since ${inline(formatTime(r.claim.at, now))}`)
  if (r.approvedAt) lines.push(`  approved:    by ${inline(r.approvedBy ?? 'unknown')} ${inline(formatTime(r.approvedAt, now))}`)
  if (r.rejectedAt) lines.push(`  rejected:    by ${inline(r.rejectedBy ?? 'unknown')} ${inline(formatTime(r.rejectedAt, now))}${r.rejectReason ? `: ${inline(r.rejectReason)}` : ''}`)
  if (isVerified(facts)) {
    lines.push('', style('bold', `Files (${facts.fileCount}, from the verified bytes)`), ...facts.files.map((f) => `${formatBytes(f.size).padStart(9)} ${inline(f.path)}`))
  }
  return lines.join('\n')
}

/**
 * The block shown before the confirmation and the one-time password prompt. Only verified bytes
 * can be approved, so `facts` is required: what is published is described by them alone.
 */
export function renderApprovalSummary(r: StagedRecord, facts: VerifiedFacts, registry: string, now: Date, style: Style): string {
  return [
    style('bold', `Approve ${inline(facts.name)}@${inline(facts.version)}?`),
    `publish to:  ${inline(registry)}${registry !== r.registry ? style('yellow', ` (staged for ${inline(r.registry)})`) : ''}`,
    `id:          ${inline(r.id)}`,
    ...factLines(facts, style, { checked: true }),
    style('bold', CLAIM_HEADING),
    ...claimLines(r, now, { registry: false }),
  ].join('\n')
}

type ListRowItem = { record: Pick<StagedRecord, 'id' | 'packageName' | 'version' | 'tag' | 'actor' | 'createdAt' | 'setId'>; state: RecordState }

/** The table of `list`, newest first; the releases of a release set stay together under a row of their own. */
export function renderList(items: ListRowItem[], now: Date, style: Style): string {
  return renderListTable(items, now, style, 0).text
}

/**
 * renderList with at most `limit` releases (0: all): the newest ones, and the rest of a release set that
 * reached the limit (a set is shown whole or not at all). `hidden`: how many releases were left out.
 */
export function renderListTable(items: ListRowItem[], now: Date, style: Style, limit: number): { text: string; hidden: number } {
  const { rows, hidden } = limitListRows(items, limit)
  return { text: listTable(rows, now, style), hidden }
}

/** The rows renderListTable shows, and how many releases it leaves out. */
export function limitListRows<T extends ListRowItem>(items: T[], limit: number): { rows: ListRow<T>[]; hidden: number } {
  const rows = groupBySet(items, limit > 0 ? limit : Infinity)
  let shown = 0
  for (const row of rows) if (row.kind === 'item') shown++
  return { rows, hidden: items.length - shown }
}

function listTable(rows: ListRow<ListRowItem>[], now: Date, style: Style): string {
  const cells = (row: (typeof rows)[number]): string[] =>
    row.kind === 'set'
      ? [`set ${inline(row.setId.slice(0, 8))}`, `release set of ${row.size} package${row.size === 1 ? '' : 's'}`, '', '', '', '']
      : [
          `${row.inSet ? '  ' : ''}${inline(row.item.record.id.slice(0, 8))}`,
          `${inline(row.item.record.packageName)}@${inline(row.item.record.version)}`,
          inline(row.item.record.tag),
          row.item.state,
          inline(row.item.record.actor),
          inline(formatTime(row.item.record.createdAt, now)),
        ]
  const table = rows.map(cells)
  const header = ['ID', 'PACKAGE', 'TAG', 'STATE', 'STAGED BY', 'STAGED']
  // A loop, not Math.max(...cells): a spread of 100,000 arguments overflows the stack.
  const widths = header.map((h, i) => table.reduce((w, row) => Math.max(w, (row[i] as string).length), h.length))
  const fmt = (row: string[], color?: (i: number, cell: string) => string) =>
    row.map((cell, i) => (color ? color(i, cell.padEnd(widths[i] as number)) : cell.padEnd(widths[i] as number))).join('  ').trimEnd()
  return [
    style('bold', fmt(header)),
    ...rows.map((row, n) => {
      const line = table[n] as string[]
      if (row.kind === 'set') return style('bold', fmt(line))
      const { state } = row.item
      return fmt(line, (i, cell) => (i === 3 ? styledState(state, style).replace(state, cell) : cell))
    }),
  ].join('\n')
}

/** How the approval policy judged the review: what it refuses, what was let through and why. */
export function renderPolicy(
  policy: { refuse?: string },
  result: { blocked: Array<{ code: string }>; allowed: Array<{ code: string }> },
  style: Style,
): string {
  if (!policy.refuse) return ''
  const codes = (list: Array<{ code: string }>): string => [...new Set(list.map((f) => inline(f.code)))].join(', ')
  const lines = [`${style('bold', 'Policy:')}     refuses ${inline(policy.refuse)} findings${policy.refuse === 'danger' ? '' : ' and above'}`]
  if (result.allowed.length) lines.push(`  allowed:   ${codes(result.allowed)} ${style('dim', '(--allow or stagePublish.policy.allow)')}`)
  lines.push(result.blocked.length ? `  ${style('red', 'blocked:')}   ${codes(result.blocked)}` : `  ${style('green', 'passed')}`)
  return lines.join('\n')
}

const MAX_DIFFERENCES = 20

/** One line per file that differs between the staged tarball and a local packing (approve --verify-local). */
export function describeDifferences(differences: ContentDifference[]): string {
  const line = (d: ContentDifference): string => {
    const p = inline(d.path)
    switch (d.kind) {
      case 'only-staged':
        return `  + ${p}: only in the staged tarball (${formatBytes(d.size)})`
      case 'only-local':
        return `  - ${p}: only in the local packing (${formatBytes(d.size)})`
      case 'size':
        return `  ~ ${p}: ${formatBytes(d.stagedSize)} staged, ${formatBytes(d.localSize)} local`
      case 'bytes':
        return `  ~ ${p}: same size, different bytes (first at byte ${d.offset})`
      case 'mode':
        return `  ~ ${p}: mode ${d.stagedMode} staged, ${d.localMode} local`
      case 'duplicate':
        return `  ! ${p}: appears ${d.count} times in one tarball`
    }
  }
  const lines = differences.slice(0, MAX_DIFFERENCES).map(line)
  if (differences.length > MAX_DIFFERENCES) lines.push(`  … and ${differences.length - MAX_DIFFERENCES} more`)
  return lines.join('\n')
}
