/**
 * Where a staging came from: who ran it, in which CI run, from which git commit.
 * Recorded so an approver can tell a release from their own pipeline from a stranger's.
 */
import os from 'node:os'
import type { CiInfo, GitInfo } from '../core/record.js'
import { COMMIT_RE, httpUrlRule, remoteRule } from '../core/field-rules.js'
import { RECORD_LIMITS } from '../core/record-schema.js'
import { toSafeText } from '../core/text.js'
import { stripCredentials } from '../core/url.js'

export interface Origin {
  actor: string
  actorType: 'user' | 'ci'
  ci?: CiInfo
  git?: GitInfo
}

type Env = NodeJS.ProcessEnv

/**
 * Everything here ends up in the record, which is read back with the record schema: URLs lose their
 * credentials (a CI may put a token in a clone URL), and text from the environment or git is made
 * safe (no control or bidi characters, bounded), so what we write is always a record we can read.
 */
export async function detectOrigin(cwd: string, env: Env = process.env): Promise<Origin> {
  const [ci, git] = await Promise.all([detectCi(env), detectGit(cwd, env)])
  if (ci) return { actor: safe(ciActor(env, ci.provider)), actorType: 'ci', ci, ...(git && { git }) }
  return { actor: safe(localActor()), actorType: 'user', ...(git && { git }) }
}

const safe = (text: string, max: number = RECORD_LIMITS.text): string => toSafeText(text, max) || 'unknown'

/** A URL we may record: without credentials, and only if it is one (an odd value is left out, not stored). */
function safeUrl(url: string | undefined, rule: (url: string) => string | undefined): string | undefined {
  if (!url) return undefined
  const stripped = stripCredentials(url)
  return stripped.length <= RECORD_LIMITS.url && toSafeText(stripped, RECORD_LIMITS.url) === stripped && !rule(stripped) ? stripped : undefined
}

const optionalText = (text: string | undefined, max: number = RECORD_LIMITS.text): string | undefined => (text ? toSafeText(text, max) || undefined : undefined)

export async function isCi(env: Env = process.env): Promise<{ isCI: boolean; name: string | null }> {
  // ci-info reads process.env when it loads; a different env (tests) is judged by the same variables.
  if (env === process.env) {
    const ciInfo = (await import('ci-info')).default
    return { isCI: ciInfo.isCI, name: ciInfo.name }
  }
  const isCI = env.CI !== undefined && env.CI !== 'false' && env.CI !== '0'
  return { isCI: isCI || !!env.GITHUB_ACTIONS, name: env.GITHUB_ACTIONS ? 'GitHub Actions' : isCI ? 'CI' : null }
}

async function detectCi(env: Env): Promise<CiInfo | undefined> {
  const { isCI, name } = await isCi(env)
  if (!isCI) return undefined
  if (env.GITHUB_ACTIONS) {
    const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
    return ciInfo({
      provider: 'github-actions',
      runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}` : undefined,
      workflow: env.GITHUB_WORKFLOW_REF || env.GITHUB_WORKFLOW,
      ref: env.GITHUB_REF,
    })
  }
  if (env.GITLAB_CI) return ciInfo({ provider: 'gitlab', runUrl: env.CI_JOB_URL || env.CI_PIPELINE_URL, ref: env.CI_COMMIT_REF_NAME })
  if (env.CIRCLECI) return ciInfo({ provider: 'circleci', runUrl: env.CIRCLE_BUILD_URL, ref: env.CIRCLE_BRANCH })
  if (env.BUILDKITE) return ciInfo({ provider: 'buildkite', runUrl: env.BUILDKITE_BUILD_URL, ref: env.BUILDKITE_BRANCH })
  if (env.JENKINS_URL) return ciInfo({ provider: 'jenkins', runUrl: env.BUILD_URL, ref: env.GIT_BRANCH })
  return { provider: (name ?? 'ci').toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 64) || 'ci' }
}

/** Every CI URL is recorded without credentials; workflow and ref as safe text. */
function ciInfo(raw: { provider: string; runUrl?: string | undefined; workflow?: string | undefined; ref?: string | undefined }): CiInfo {
  return clean({
    provider: raw.provider,
    runUrl: safeUrl(raw.runUrl, httpUrlRule),
    workflow: optionalText(raw.workflow, RECORD_LIMITS.longText),
    ref: optionalText(raw.ref),
  })
}

function ciActor(env: Env, provider: string): string {
  const who = env.GITHUB_ACTOR || env.GITLAB_USER_LOGIN || env.BUILDKITE_BUILD_CREATOR || env.CIRCLE_USERNAME
  return who ? `${who} (${provider})` : provider
}

export function localActor(): string {
  let user = 'unknown'
  try {
    user = os.userInfo().username
  } catch {
    // No passwd entry (some containers): fall back to the environment.
    user = process.env.USER || process.env.LOGNAME || 'unknown'
  }
  return `${user}@${os.hostname()}`
}

async function detectGit(cwd: string, env: Env): Promise<GitInfo | undefined> {
  // node:child_process rather than execa: four short git calls don't need it, and loading execa
  // (about 100 modules) was a tenth of the time staging takes.
  const { execFile } = await import('node:child_process')
  const git = (...args: string[]) =>
    new Promise<string | undefined>((resolve) => {
      const child = execFile('git', args, { cwd, timeout: 5000, env: { ...env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout) =>
        resolve(err ? undefined : String(stdout).trim()),
      )
      child.stdin?.end()
    })
  const commit = await git('rev-parse', 'HEAD')
  if (!commit) return undefined
  const [branch, remote, status] = await Promise.all([
    git('symbolic-ref', '--short', '-q', 'HEAD'),
    git('config', '--get', 'remote.origin.url'),
    git('status', '--porcelain', '--untracked-files=no'),
  ])
  return clean({
    commit: COMMIT_RE.test(commit) ? commit : undefined,
    branch: optionalText(branch || env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || undefined),
    // A remote may embed a token (https://x-access-token:TOKEN@github.com/..., ?access_token=...): it never gets stored.
    remote: safeUrl(remote, remoteRule),
    dirty: status === undefined ? undefined : status.length > 0,
  })
}

function clean<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as T
}
