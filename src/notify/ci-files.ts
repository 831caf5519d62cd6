/**
 * Writes the CI reports where the CI system reads them. Thin: the words come from src/ui/ci-github.ts
 * and src/ui/ci-gitlab.ts; this appends or writes the files the runner names and returns what failed
 * (the caller warns: a report that cannot be written never fails a staging that succeeded).
 *   GitHub Actions (GITHUB_ACTIONS=true): $GITHUB_STEP_SUMMARY (appended), $GITHUB_OUTPUT (appended),
 *     `::warning` commands on stderr (stdout stays one JSON document with --json).
 *   GitLab CI (GITLAB_CI=true): a dotenv report at $STAGE_PUBLISH_DOTENV, default stage-publish.env in
 *     $CI_PROJECT_DIR (where `artifacts: reports: dotenv: stage-publish.env` looks), else in the working directory.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Writable } from 'node:stream'
import type { StagedReport } from '../ui/ci-report.js'
import { githubAnnotations, githubOutputValues, githubOutputs, githubSummary } from '../ui/ci-github.js'
import { gitlabDotenv, gitlabDotenvValues } from '../ui/ci-gitlab.js'

export type CiKind = 'github' | 'gitlab'

/** The CI whose report files we write, by its own variables (both set them to the string `true`). */
export function ciKind(env: NodeJS.ProcessEnv): CiKind | null {
  if (env.GITHUB_ACTIONS === 'true') return 'github'
  if (env.GITLAB_CI === 'true') return 'gitlab'
  return null
}

/** The dotenv report's default file name, in the job's project folder ($CI_PROJECT_DIR), which artifact paths are relative to. */
export const DEFAULT_DOTENV = 'stage-publish.env'

export interface CiWriteResult {
  /** The files written. */
  wrote: string[]
  /** What could not be done, in words without secrets (the caller warns). */
  problems: string[]
}

export async function writeCiReport(report: StagedReport, env: NodeJS.ProcessEnv, cwd: string, stderr: Writable): Promise<CiWriteResult> {
  const kind = ciKind(env)
  const result: CiWriteResult = { wrote: [], problems: [] }
  const attempt = async (what: string, file: string, write: (file: string) => Promise<void>): Promise<void> => {
    try {
      await write(file)
      result.wrote.push(file)
    } catch (err) {
      result.problems.push(`could not write the ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (kind === 'github') {
    if (env.GITHUB_STEP_SUMMARY) await attempt('job summary ($GITHUB_STEP_SUMMARY)', env.GITHUB_STEP_SUMMARY, (f) => fs.appendFile(f, githubSummary(report)))
    if (env.GITHUB_OUTPUT) {
      const text = githubOutputs(githubOutputValues(report), `ghadelimiter_${randomUUID()}`)
      await attempt('step outputs ($GITHUB_OUTPUT)', env.GITHUB_OUTPUT, (f) => fs.appendFile(f, text))
    }
    const lines = githubAnnotations(report)
    if (lines.length) stderr.write(`${lines.join('\n')}\n`)
  } else if (kind === 'gitlab') {
    const file = path.resolve(cwd, env.STAGE_PUBLISH_DOTENV || path.join(env.CI_PROJECT_DIR || '.', DEFAULT_DOTENV))
    const { text, dropped } = gitlabDotenv(gitlabDotenvValues(report))
    if (dropped.length) result.problems.push(`left ${dropped.join(', ')} out of the dotenv report (GitLab refuses reports of 5 KB or more)`)
    await attempt(`dotenv report (${file})`, file, (f) => fs.writeFile(f, text))
  }
  return result
}
