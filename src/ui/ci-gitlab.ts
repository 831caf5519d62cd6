/**
 * GitLab CI, worded: the staging result as a dotenv report (`artifacts: reports: dotenv:`), which later
 * jobs receive as variables. GitLab's rules (docs "Pass dotenv variables", and its limits): ASCII
 * letters, digits and `_` in names; no empty lines, comments, spaces, quotes handling or newlines in
 * values; at most 5 KB and 20 variables on the smallest plans. Every value here is ours (ids, digests,
 * counts): one that breaks a rule is left out rather than written broken. Pure.
 */
import type { StagedReport } from './ci-report.js'

/** GitLab refuses a dotenv report of 5 KB or more. */
export const DOTENV_MAX_BYTES = 5 * 1024 - 1

const NAME = /^[A-Za-z0-9_]+$/
const VALUE = /^[\x21-\x7e]*$/

export function gitlabDotenvValues(report: StagedReport): Array<[string, string]> {
  const { releases } = report
  const values: Array<[string, string]> = []
  const one = releases.length === 1 ? releases[0] : undefined
  if (one) {
    values.push(['STAGE_PUBLISH_ID', one.id])
    if (one.integrity) values.push(['STAGE_PUBLISH_INTEGRITY', one.integrity])
    values.push(['STAGE_PUBLISH_SHASUM', one.shasum])
  }
  if (report.setId) values.push(['STAGE_PUBLISH_SET_ID', report.setId])
  values.push(['STAGE_PUBLISH_DANGER', String(releases.reduce((n, r) => n + (r.review?.danger ?? 0), 0))])
  // Comma-separated ids (no spaces, no quotes: both would be kept literally by GitLab's parser).
  values.push(['STAGE_PUBLISH_IDS', releases.map((r) => r.id).join(',')])
  return values
}

/** The dotenv text: `NAME=value` lines; STAGE_PUBLISH_IDS last, dropped when the file would be too large. */
export function gitlabDotenv(values: Array<[string, string]>): { text: string; dropped: string[] } {
  const dropped: string[] = []
  let lines = values.filter(([name, value]) => {
    const ok = NAME.test(name) && VALUE.test(value)
    if (!ok) dropped.push(name)
    return ok
  }).map(([name, value]) => `${name}=${value}\n`)
  while (lines.join('').length > DOTENV_MAX_BYTES && lines.length) {
    const last = lines[lines.length - 1] as string
    dropped.push(last.slice(0, last.indexOf('=')))
    lines = lines.slice(0, -1)
  }
  return { text: lines.join(''), dropped }
}
