/** Words for records, lists and approval summaries. Pure: takes a Style, returns text. */
import type { DetailedRecord, RecordState, StagedRecord } from '../core/record.js'
import type { Style } from './output.js'
import type { ContentDifference } from '../core/pin.js'
import { formatBytes, formatTime, safe, shortIntegrity } from './format.js'
import { groupBySet } from '../core/release-set.js'

const stateColor: Record<RecordState, Parameters<Style>[0]> = {
  pending: 'cyan',
  approving: 'magenta',
  approved: 'green',
  rejected: 'red',
  expired: 'dim',
}

export const styledState = (state: RecordState, style: Style): string => style(stateColor[state], state)

/** The npm-style contents block printed while staging (npm lib/utils/tar.js logTar). */
export function renderContents(r: Pick<DetailedRecord, 'packageName' | 'version' | 'files' | 'bundled' | 'size' | 'unpackedSize' | 'shasum' | 'integrity' | 'fileCount'>, style: Style): string {
  const lines = [`${style('bold', 'package:')} ${r.packageName}@${r.version}`, style('bold', 'Tarball Contents')]
  for (const f of r.files) if (!f.path.startsWith('node_modules/')) lines.push(`${formatBytes(f.size).padStart(9)} ${f.path}`)
  if (r.bundled.length) lines.push(style('bold', 'Bundled Dependencies'), ...r.bundled.map((b) => `  ${b}`))
  lines.push(
    style('bold', 'Tarball Details'),
    `name: ${r.packageName}`,
    `version: ${r.version}`,
    `package size: ${formatBytes(r.size)}`,
    `unpacked size: ${formatBytes(r.unpackedSize)}`,
    `shasum: ${r.shasum}`,
    `integrity: ${shortIntegrity(r.integrity)}`,
    `total files: ${r.fileCount}`,
  )
  return lines.join('\n')
}

function originLines(r: StagedRecord): string[] {
  const lines = [`staged by:   ${r.actor} (${r.actorType})`]
  if (r.git?.commit) {
    const branch = r.git.branch ? ` on ${r.git.branch}` : ''
    const dirty = r.git.dirty ? ' (uncommitted changes)' : ''
    lines.push(`from commit: ${r.git.commit}${branch}${dirty}${r.git.remote ? ` of ${r.git.remote}` : ''}`)
  }
  if (r.ci) lines.push(`CI run:      ${r.ci.provider}${r.ci.runUrl ? ` ${r.ci.runUrl}` : ''}`)
  return lines
}

/**
 * Everything about one release, with its file list (view). A registry's record lacks the tarball
 * facts until its bytes are verified: what is unknown is said to be.
 */
export function renderRecord(r: StagedRecord, state: RecordState, now: Date, style: Style): string {
  const lines = [
    `${style('bold', `${r.packageName}@${r.version}`)}  ${styledState(state, style)}`,
    `id:          ${r.id}`,
    ...(r.setId ? [`release set: ${r.setId}`] : []),
    `registry:    ${r.registry}`,
    `tag:         ${r.tag}`,
    `access:      ${r.access ?? 'default'}`,
    ...originLines(r),
    `staged:      ${formatTime(r.createdAt, now)}`,
    // A decided release waits for nothing: its expiry is no longer news.
    ...(state === 'pending' || state === 'approving' ? [`expires:     ${r.expiresAt ? formatTime(r.expiresAt, now) : 'never (the registry keeps it until it is approved or rejected)'}`] : []),
    ...(state === 'expired' ? [`expired:     ${formatTime(r.expiresAt, now)} without approval`] : []),
  ]
  if (r.claim && r.state === 'approving') lines.push(`approving:   by ${r.claim.by} since ${formatTime(r.claim.at, now)}`)
  if (r.approvedAt) lines.push(`approved:    by ${r.approvedBy ?? 'unknown'} ${formatTime(r.approvedAt, now)}`)
  if (r.rejectedAt) lines.push(`rejected:    by ${r.rejectedBy ?? 'unknown'} ${formatTime(r.rejectedAt, now)}${r.rejectReason ? `: ${r.rejectReason}` : ''}`)
  lines.push(
    r.size === undefined ? 'size:        unknown (the tarball could not be verified)' : `size:        ${formatBytes(r.size)} packed, ${formatBytes(r.unpackedSize ?? 0)} unpacked, ${r.fileCount ?? 0} files`,
    `shasum:      ${r.shasum}`,
    `integrity:   ${r.integrity ?? 'unknown (the tarball could not be verified)'}`,
  )
  if (r.files) lines.push('', style('bold', 'Files'), ...r.files.map((f) => `${formatBytes(f.size).padStart(9)} ${f.path}`))
  return lines.join('\n')
}

/** The block shown before the confirmation and the one-time password prompt. */
export function renderApprovalSummary(r: DetailedRecord, registry: string, now: Date, style: Style, checkedAgainst: 'integrity' | 'shasum' = 'integrity'): string {
  return [
    style('bold', `Approve ${r.packageName}@${r.version}?`),
    `registry:    ${registry}${registry !== r.registry ? style('yellow', ` (staged for ${r.registry})`) : ''}`,
    `tag:         ${r.tag}`,
    `access:      ${r.access ?? 'default'}`,
    ...originLines(r),
    `staged:      ${formatTime(r.createdAt, now)}`,
    `size:        ${formatBytes(r.size)} packed, ${formatBytes(r.unpackedSize)} unpacked, ${r.fileCount} files`,
    checkedAgainst === 'integrity'
      ? `integrity:   ${r.integrity} ${style('green', '(verified)')}`
      : `integrity:   ${r.integrity} ${style('green', `(of the downloaded bytes, which match the shasum ${r.shasum} the registry lists)`)}`,
    `id:          ${r.id}`,
  ].join('\n')
}

/** The table of `list`, newest first; the releases of a release set stay together under a row of their own. */
export function renderList(items: Array<{ record: StagedRecord; state: RecordState }>, now: Date, style: Style): string {
  const rows = groupBySet(items)
  const cells = (row: (typeof rows)[number]): string[] =>
    row.kind === 'set'
      ? [`set ${row.setId.slice(0, 8)}`, `release set of ${row.size} package${row.size === 1 ? '' : 's'}`, '', '', '', '']
      : [
          `${row.inSet ? '  ' : ''}${row.item.record.id.slice(0, 8)}`,
          `${row.item.record.packageName}@${row.item.record.version}`,
          row.item.record.tag,
          row.item.state,
          row.item.record.actor,
          formatTime(row.item.record.createdAt, now),
        ]
  const table = rows.map(cells)
  const header = ['ID', 'PACKAGE', 'TAG', 'STATE', 'STAGED BY', 'STAGED']
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)))
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
  const codes = (list: Array<{ code: string }>): string => [...new Set(list.map((f) => f.code))].join(', ')
  const lines = [`${style('bold', 'Policy:')}     refuses ${policy.refuse} findings${policy.refuse === 'danger' ? '' : ' and above'}`]
  if (result.allowed.length) lines.push(`  allowed:   ${codes(result.allowed)} ${style('dim', '(--allow or stagePublish.policy.allow)')}`)
  lines.push(result.blocked.length ? `  ${style('red', 'blocked:')}   ${codes(result.blocked)}` : `  ${style('green', 'passed')}`)
  return lines.join('\n')
}

const MAX_DIFFERENCES = 20

/** One line per file that differs between the staged tarball and a local packing (approve --verify-local). */
export function describeDifferences(differences: ContentDifference[]): string {
  const line = (d: ContentDifference): string => {
    const p = safe(d.path)
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
