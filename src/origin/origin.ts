/**
 * Where a staging came from: who ran it, in which CI run, from which git commit.
 * Recorded so an approver can tell a release from their own pipeline from a stranger's.
 */
import os from 'node:os'
import type { CiInfo, GitInfo } from '../core/record.js'

export interface Origin {
  actor: string
  actorType: 'user' | 'ci'
  ci?: CiInfo
  git?: GitInfo
}

type Env = NodeJS.ProcessEnv

export async function detectOrigin(cwd: string, env: Env = process.env): Promise<Origin> {
  const [ci, git] = await Promise.all([detectCi(env), detectGit(cwd, env)])
  if (ci) return { actor: ciActor(env, ci.provider), actorType: 'ci', ci, ...(git && { git }) }
  return { actor: localActor(), actorType: 'user', ...(git && { git }) }
}

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
    const server = env.GITHUB_SERVER_URL || 'https://github.com'
    return clean({
      provider: 'github-actions',
      runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}` : undefined,
      workflow: env.GITHUB_WORKFLOW_REF || env.GITHUB_WORKFLOW,
      ref: env.GITHUB_REF,
    })
  }
  if (env.GITLAB_CI) return clean({ provider: 'gitlab', runUrl: env.CI_JOB_URL || env.CI_PIPELINE_URL, ref: env.CI_COMMIT_REF_NAME })
  if (env.CIRCLECI) return clean({ provider: 'circleci', runUrl: env.CIRCLE_BUILD_URL, ref: env.CIRCLE_BRANCH })
  if (env.BUILDKITE) return clean({ provider: 'buildkite', runUrl: env.BUILDKITE_BUILD_URL, ref: env.BUILDKITE_BRANCH })
  if (env.JENKINS_URL) return clean({ provider: 'jenkins', runUrl: env.BUILD_URL, ref: env.GIT_BRANCH })
  return { provider: (name ?? 'ci').toLowerCase().replace(/\s+/g, '-') }
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
    commit,
    branch: branch || env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || undefined,
    remote: remote ? stripCredentials(remote) : undefined,
    dirty: status === undefined ? undefined : status.length > 0,
  })
}

/** A remote URL may embed a token (https://x-access-token:TOKEN@github.com/...): it never gets stored. */
export function stripCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1')
}

function clean<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as T
}
