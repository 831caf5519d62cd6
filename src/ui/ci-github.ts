/**
 * GitHub Actions, worded: the job summary (markdown), the step outputs (the $GITHUB_OUTPUT file) and
 * `::warning` workflow commands for danger findings. Pure: the adapter (src/notify/ci-files.ts) writes.
 * How workflow commands are escaped, and how other text is kept from being one: ./ci-commands.ts.
 */
import { redact } from '../errors.js'
import type { ReportedFinding, ReportedRelease, StagedReport } from './ci-report.js'
import { inline } from './sanitize.js'
import { workflowCommand } from './ci-commands.js'

/**
 * Markdown that shows `text` literally: terminal-safe and on one line (inline()), then every ASCII
 * punctuation character backslash-escaped (CommonMark: any of them may be), so no link, image, HTML
 * tag, table cell, emphasis or heading can be made of it; `<`, `>`, `&` and quotes as entities.
 */
export function markdownText(text: string): string {
  return inline(text).replace(/[!"#$%'()*+,\-./:;=?@[\\\]^_`{|}~]/g, '\\$&').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
const LABEL: Record<string, string> = { danger: '🛑 danger', warn: '⚠️ warn', info: 'info' }

/** The runner refuses a step summary over 128 KiB (actions/runner CreateStepSummaryCommand); ours stays well below. */
export const MAX_SUMMARY_CHARS = 64 * 1024

/** The job summary: a heading, then per release what it is, its digests and review, then the approve command. */
export function githubSummary(report: StagedReport): string {
  const md = markdownText
  const what = report.setId ? `release set ${md(report.setId)} (${plural(report.releases.length, 'package')})` : report.releases.length === 1 ? 'a release' : plural(report.releases.length, 'release')
  const head = [`### stage-publish: staged ${what}, nothing is public yet`, '']
  // The command is ours (ids, the backend the user named): a fenced block a maintainer can copy.
  // A fence of more backticks than the text holds cannot be closed by it.
  const command = redact(report.approveCommand.replace(/[\r\n]/g, ' '))
  const fence = '`'.repeat(Math.max(3, ...[...command.matchAll(/`+/g)].map((m) => m[0].length + 1)))
  const tail = ['To publish, a maintainer runs:', '', `${fence}sh`, command, fence, '']
  let size = [...head, ...tail].join('\n').length
  const body: string[] = []
  let shown = 0
  for (const r of report.releases) {
    const block = releaseBlock(r)
    size += block.length + 1
    if (size > MAX_SUMMARY_CHARS) break
    body.push(block)
    shown++
  }
  const left = report.releases.length - shown
  if (left) body.push(`… and ${plural(left, 'more release')}: \`stage-publish view ${report.setId ?? '<id>'}\` shows them.`, '')
  return `${[...head, ...body, ...tail].join('\n')}\n`
}

function releaseBlock(r: ReportedRelease): string {
  const md = markdownText
  const lines = [`#### ${md(r.name)}\\@${md(r.version)}`, '', `- id: ${md(r.id)}`]
  if (r.integrity) lines.push(`- integrity: ${md(r.integrity)}`)
  lines.push(`- shasum: ${md(r.shasum)}`, `- tag: ${md(r.tag)}, registry: ${md(r.registry)}`)
  if (r.expiresAt) lines.push(`- expires: ${md(r.expiresAt)}`)
  if (r.review) {
    const { danger, warn, info } = r.review
    lines.push(`- review: **${plural(danger, 'danger')}**, ${plural(warn, 'warning')}, ${plural(info, 'note')}`)
    for (const f of r.review.top) lines.push(`  - ${LABEL[f.severity] ?? f.severity} ${md(f.message)} (${md(f.code)})`)
  } else {
    lines.push(`- review: not available (${md(r.reviewError ?? 'unknown reason')}); the approver sees it before publishing`)
  }
  lines.push('')
  return lines.join('\n')
}

/** The step outputs, name → value. `id`/`integrity`/`shasum` only when one release was staged. */
export function githubOutputValues(report: StagedReport): Array<[string, string]> {
  const { releases } = report
  const values: Array<[string, string]> = []
  const one = releases.length === 1 ? releases[0] : undefined
  if (one) {
    values.push(['id', one.id])
    if (one.integrity) values.push(['integrity', one.integrity])
    values.push(['shasum', one.shasum])
  }
  if (report.setId) values.push(['set-id', report.setId])
  values.push(['ids', JSON.stringify(releases.map((r) => r.id))])
  values.push(['releases', JSON.stringify(releases.map((r) => ({ id: r.id, name: r.name, version: r.version, integrity: r.integrity, shasum: r.shasum })))])
  values.push(['danger', String(releases.reduce((n, r) => n + (r.review?.danger ?? 0), 0))])
  values.push(['approve-command', redact(report.approveCommand)])
  return values
}

/**
 * The $GITHUB_OUTPUT text, every value in the multi-line form `name<<DELIMITER` … `DELIMITER`
 * (@actions/core's prepareKeyValueMessage): a value can hold no line that ends it early, because the
 * delimiter is random and a value containing it is refused.
 */
export function githubOutputs(values: Array<[string, string]>, delimiter: string): string {
  if (!/^ghadelimiter_[0-9a-f-]{36}$/.test(delimiter)) throw new Error('the output delimiter must be ghadelimiter_<uuid>')
  return values
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new Error(`bad output name ${inline(name)}`)
      if (value.includes(delimiter)) throw new Error(`the value of output ${name} contains the delimiter`)
      return `${name}<<${delimiter}\n${value}\n${delimiter}\n`
    })
    .join('')
}

/** `::warning` lines, one per danger finding (title: the package and the code). */
export function githubAnnotations(report: StagedReport): string[] {
  const lines: string[] = []
  for (const r of report.releases) {
    for (const f of r.review?.dangers ?? []) lines.push(annotation(`${r.name}@${r.version}`, r.id, f))
  }
  return lines
}

function annotation(what: string, id: string, f: ReportedFinding): string {
  // The line is a `warning` to the runner, so the legacy `##[` form inside is never parsed; it is
  // neutralised anyway, so a runner that did would still find nothing to run.
  const inert = (text: string): string => text.replace(/##\[/g, '#\\x23[')
  return workflowCommand('warning', { title: inert(`stage-publish: ${inline(what)} ${f.code}`) }, inert(`${f.message} (staged release ${id}; review it before approving)`))
}
