/** Words for a batch approval: the plan before the confirmation, and the summary at the end. Pure. */
import type { BatchSummary } from '../core/batch.js'
import type { Style } from './output.js'
import { inline } from './sanitize.js'

export interface PlanEntry {
  name: string
  version: string
  registry: string
  /** Already published or approved: shown, not published again. */
  done?: 'already-approved' | 'already-published'
  dependsOn: string[]
}

export function renderPlan(entries: PlanEntry[], cycles: string[][], setId: string | null, style: Style): string {
  const todo = entries.filter((e) => !e.done)
  const lines = [style('bold', `Approve ${todo.length} release${todo.length === 1 ? '' : 's'}${setId ? ` of release set ${inline(setId)}` : ''}, published in this order:`)]
  let n = 0
  for (const e of entries) {
    const what = `${inline(e.name)}@${inline(e.version)}`
    if (e.done) {
      lines.push(`   ${style('dim', `- ${what} (${e.done === 'already-approved' ? 'already approved' : 'already published'})`)}`)
      continue
    }
    const after = e.dependsOn.length ? style('dim', ` after ${e.dependsOn.map(inline).join(', ')}`) : ''
    lines.push(`  ${String(++n).padStart(2)}. ${what} → ${inline(e.registry)}${after}`)
  }
  for (const c of cycles) lines.push(style('yellow', `  note: ${c.map(inline).join(', ')} depend on each other; they are published by name, so one of them briefly points at an unpublished version`))
  lines.push(style('dim', 'One confirmation and one one-time password for all of them; a release is published only after every release it depends on was.'))
  return lines.join('\n')
}


export function renderSummary(summary: BatchSummary, resume: string, style: Style): string {
  const what = (e: { name: string; version: string }): string => `${inline(e.name)}@${inline(e.version)}`
  const total = summary.order.length
  const lines: string[] = []
  for (const p of summary.published) {
    if (p.how === 'published') lines.push(`+ ${what(p)}`)
  }
  lines.push('', style('bold', `${summary.setId ? `Release set ${inline(summary.setId)}: ` : ''}${summary.published.length} of ${total} published`))
  for (const p of summary.published) {
    const how = p.how === 'published' ? '' : style('dim', p.how === 'already-approved' ? ' (already approved before)' : ' (the same bytes were already published)')
    lines.push(`  ${style('green', 'published')}  ${what(p)}${how}`)
  }
  for (const f of summary.failed) {
    lines.push(`  ${style('red', 'failed')}     ${what(f)}: ${inline(f.error.code)}: ${inline(f.error.summary)}`)
    if (f.error.detail) lines.push(style('dim', `             ${inline(f.error.detail)}`))
  }
  for (const p of summary.pending) {
    const why =
      p.reason === 'approvals'
        ? `${p.count} of ${p.required} approvals, ${p.required - p.count} more needed; not published yet`
        : p.reason === 'dependency'
        ? `it depends on ${p.on.map(inline).join(', ')}, which ${p.on.length === 1 ? 'was' : 'were'} not published`
        : p.reason === 'otp'
          ? inline(p.error.summary)
          : 'not tried: the run stopped before it'
    lines.push(`  ${style('yellow', 'pending')}    ${what(p)}: ${why}`)
  }
  if (!summary.complete) {
    const one = summary.failed.length + summary.pending.length === 1
    const otp = summary.pending.some((p) => p.reason === 'otp')
    const when = [summary.failed.length ? 'once the cause is fixed' : '', otp ? 'with a fresh one-time password' : ''].filter(Boolean).join(', ')
    lines.push('', `Nothing else was published; the ${one ? 'release that was not is' : 'releases that were not are'} still pending. To publish ${one ? 'it' : 'them'}${when ? ` ${when}` : ''}, run:`, `  ${inline(resume)}`)
    lines.push(style('dim', 'What is published already is not published again.'))
  }
  return lines.join('\n')
}
