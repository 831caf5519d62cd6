/** Words for `doctor` (src/flows/doctor.ts): one line per check with what to do, and the --json value. Pure. */
import type { Style } from './output.js'
import { inline } from './sanitize.js'

/** ok: fine; info: worth knowing; warn: works, but should be fixed; error: broken (exit 1); skip: could not be checked because an earlier check failed. */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'error' | 'skip'

export interface DoctorCheck {
  /** Stable name: config, backend, registry, login, two-factor, staging-api, ci-token. */
  name: string
  status: CheckStatus
  /** What was found. May hold text from a registry or a store (made safe when rendered). */
  summary: string
  /** What to do about it. */
  hint?: string
}

/** What `doctor` found (src/flows/doctor.ts returns it; defined here because ui does not import flows). */
export interface DoctorResult {
  role: 'ci' | 'approver'
  checks: DoctorCheck[]
}

export const doctorOk = (result: DoctorResult): boolean => result.checks.every((c) => c.status !== 'error')

const LABEL: Record<CheckStatus, [string, Parameters<Style>[0]]> = {
  ok: ['ok   ', 'green'],
  info: ['info ', 'dim'],
  warn: ['warn ', 'yellow'],
  error: ['error', 'red'],
  skip: ['skip ', 'dim'],
}

export function renderDoctor(result: DoctorResult, style: Style): string {
  const width = Math.max(...result.checks.map((c) => c.name.length))
  const lines = result.checks.map((c) => {
    const [label, colour] = LABEL[c.status]
    const line = `${style(colour, label)} ${c.name.padEnd(width)}  ${inline(c.summary)}`
    return c.hint && c.status !== 'ok' ? `${line}\n${' '.repeat(width + 8)}${style('dim', `→ ${inline(c.hint)}`)}` : line
  })
  const errors = result.checks.filter((c) => c.status === 'error').length
  const warnings = result.checks.filter((c) => c.status === 'warn').length
  lines.push(errors ? `${errors} problem${errors === 1 ? '' : 's'} to fix${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}.` : `Nothing is broken${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}. Checked as ${result.role === 'ci' ? 'CI (stages releases)' : 'an approver'}.`)
  return lines.join('\n')
}

export const doctorJson = (result: DoctorResult): unknown => ({ ok: doctorOk(result), role: result.role, checks: result.checks })
