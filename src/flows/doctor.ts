/**
 * `stage-publish doctor`: checks the set-up for the role this machine plays, one check after the other,
 * each bounded in time (CHECK_LIMIT_MS, on top of every request's own network limits):
 *   config       npm's configuration and which backend is used
 *   backend      reachable, and the identity may do what its role needs (src/backends/probe*.ts)
 *   registry     the registry answers (`/-/ping`)
 *   login        who the npm credentials are (`whoami`): approvers must be logged in
 *   two-factor   approvers: the account's 2FA mode (`auth-and-writes` expected)
 *   staging-api  whether the registry implements npm's staging API
 *   ci-token     CI: whether the npm credentials present could publish without staging
 * Nothing is written that stays (the probes say how), nothing secret is reported.
 */
import { StagePublishError, isStagePublishError } from '../errors.js'
import type { Role } from '../backends/probe.js'
import type { DoctorCheck, DoctorResult } from '../ui/render-doctor.js'
import { readProjectStageConfig, type BackendRequest, type Deps } from './context.js'

export interface DoctorRequest extends BackendRequest {
  /** Which role to check for (default: ci on a CI runner, approver elsewhere). */
  role?: Role
}

/** A check that takes longer than this is reported as not answering; the next one runs. */
export const CHECK_LIMIT_MS = 30_000

type Flat = Record<string, unknown>

export async function runDoctor(request: DoctorRequest, deps: Deps): Promise<DoctorResult> {
  const { isCi } = await import('../origin/origin.js')
  const ci = await isCi(deps.env)
  const role: Role = request.role ?? (ci.isCI ? 'ci' : 'approver')
  const checks: DoctorCheck[] = []
  const add = (check: DoctorCheck) => checks.push(check)

  // ---- npm configuration and the backend it names ----
  const { loadNpmConfig, registryFor } = await import('../npm/config.js')
  const { chooseBackend, normaliseRegistryUrl, parseBackendUrl } = await import('../backends/index.js')
  let conf: Awaited<ReturnType<typeof loadNpmConfig>>
  let choice: ReturnType<typeof chooseBackend>
  let pkgName = ''
  try {
    conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: { ...(request.registry && { registry: request.registry }), ...(request.userconfig && { userconfig: request.userconfig }) } })
    const project = await readProjectStageConfig(deps.cwd)
    pkgName = await packageName(project.dir)
    choice = chooseBackend({ flag: request.backend, env: deps.env, packageBackend: project.backend, packageDir: project.dir })
    parseBackendUrl(choice.url, deps.cwd)
  } catch (err) {
    add(failed('config', err))
    return { role, checks }
  }
  const registry = request.registry ? normaliseRegistryUrl(request.registry) : registryFor(pkgName, conf.flat)
  const parsed = parseBackendUrl(choice.url, deps.cwd)
  const from = { flag: '--backend', env: 'STAGE_PUBLISH_BACKEND', 'package.json': 'package.json stagePublish.backend', default: 'the default' }[choice.source]
  add({ name: 'config', status: 'ok', summary: `checking as ${role === 'ci' ? 'CI (stages releases)' : 'an approver'}${role === 'ci' && ci.name ? ` on ${ci.name}` : ''}; backend ${displayBackend(choice.url)} (${from}); registry ${registry}`, hint: 'Use --role ci or --role approver to check the other role.' })

  // ---- the backend ----
  const backendRegistry = parsed.kind === 'registry' ? (parsed.registry ? normaliseRegistryUrl(parsed.registry) : registry) : undefined
  if (role === 'ci' && choice.source === 'default') {
    add({ name: 'backend', status: 'error', summary: 'no backend is named, and staging refuses the default local directory on a CI runner', hint: 'Name a shared backend: --backend s3://<bucket>/<prefix>, STAGE_PUBLISH_BACKEND, or package.json "stagePublish": { "backend": ... }.' })
  } else if (parsed.kind === 'registry') {
    add(await bounded('backend', () => registryBackendCheck(backendRegistry as string, conf.flat)))
  } else {
    add(await bounded('backend', () => storeCheck(parsed, choice.url, role)))
  }

  // ---- the registry ----
  const account = await import('../npm/account.js')
  const reach = await bounded('registry', async () => {
    const ping = await account.pingRegistry(registry, conf.flat)
    return ping.ok ? { name: 'registry', status: 'ok', summary: `${registry} answers` } : failed('registry', ping.error)
  })
  add(reach)
  const later = ['login', ...(role === 'approver' ? ['two-factor'] : []), 'staging-api', ...(role === 'ci' ? ['ci-token'] : [])]
  if (reach.status === 'error') {
    for (const name of later) add({ name, status: 'skip', summary: `not checked: ${registry} does not answer` })
    return { role, checks }
  }

  const oidc = Boolean(deps.env.ACTIONS_ID_TOKEN_REQUEST_URL || deps.env.NPM_ID_TOKEN)
  let user: string | undefined
  add(
    await bounded('login', async () => {
      const who = await account.whoAmI(registry, conf.flat)
      if (who.ok) {
        user = who.username
        return { name: 'login', status: 'ok', summary: `logged in to ${registry} as ${who.username}` }
      }
      if (who.reason === 'error') return failed('login', who.error)
      if (role === 'approver') return { name: 'login', status: 'error', summary: `not logged in to ${registry}`, hint: `Approving publishes with your own npm credentials: run \`npm login --registry ${registry}\`.` }
      if (parsed.kind !== 'registry') return { name: 'login', status: 'ok', summary: `no npm login in CI: none is needed to stage to ${parsed.kind === 's3' ? 'S3' : 'a directory'}` }
      if (oidc) return { name: 'login', status: 'info', summary: 'no npm token: staging to the registry will use trusted publishing (OIDC)' }
      return { name: 'login', status: 'error', summary: `no npm credentials for ${registry}: staging to the registry needs a token that may stage, or trusted publishing`, hint: 'Give the job a stage-only token (NODE_AUTH_TOKEN with setup-node) or configure trusted publishing for the package.' }
    }),
  )

  if (role === 'approver') {
    if (user === undefined) add({ name: 'two-factor', status: 'skip', summary: 'not checked: not logged in' })
    else add(await bounded('two-factor', () => twoFactorCheck(registry, conf.flat)))
  }

  add(
    await bounded('staging-api', async () => {
      const support = await account.stagingSupport(registry, conf.flat)
      const uses = parsed.kind === 'registry' ? 'the registry backend needs it' : '--backend registry and a final hop through the registry\'s staging need it; file: and s3: backends do not'
      if (support === 'yes') return { name: 'staging-api', status: 'ok', summary: `${registry} implements npm's staging API` }
      if (support === 'no') return { name: 'staging-api', status: parsed.kind === 'registry' ? 'error' : 'info', summary: `${registry} does not implement npm's staging API (${uses})`, ...(parsed.kind === 'registry' && { hint: 'Stage to --backend s3://<bucket>/<prefix> or file:<dir> instead.' }) }
      if (support === 'needs-login') return { name: 'staging-api', status: 'info', summary: `${registry} asks for a login before saying whether it implements npm's staging API` }
      return { name: 'staging-api', status: 'warn', summary: support.error.message }
    }),
  )

  if (role === 'ci') add(await bounded('ci-token', () => ciTokenCheck(registry, conf.flat, user, parsed.kind, oidc)))
  return { role, checks }
}

/** A check that fails with an error becomes an error line; one that does not end in time, too. */
async function bounded(name: string, check: () => Promise<DoctorCheck>): Promise<DoctorCheck> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<DoctorCheck>((resolve) => {
    timer = setTimeout(() => resolve({ name, status: 'error', summary: `no answer within ${CHECK_LIMIT_MS / 1000} s`, hint: 'Check the network, any proxy, and the URL.' }), CHECK_LIMIT_MS)
  })
  try {
    return await Promise.race([check().catch((err: unknown) => failed(name, err)), limit])
  } finally {
    clearTimeout(timer)
  }
}

function failed(name: string, err: unknown): DoctorCheck {
  if (!isStagePublishError(err)) throw err
  return { name, status: 'error', summary: `${err.code}: ${err.message}`, ...(err.hint && { hint: err.hint }) }
}

const displayBackend = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@')

async function packageName(dir: string | undefined): Promise<string> {
  if (!dir) return ''
  const { promises: fs } = await import('node:fs')
  const path = await import('node:path')
  try {
    const { name } = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }
    return typeof name === 'string' ? name : ''
  } catch {
    return ''
  }
}

async function storeCheck(parsed: { kind: 'file'; dir: string } | { kind: 's3'; url: string }, url: string, role: Role): Promise<DoctorCheck> {
  const { probeLocal } = await import('../backends/probe.js')
  let report
  if (parsed.kind === 'file') report = await probeLocal(parsed.dir, role)
  else {
    const { probeS3 } = await import('../backends/probe-s3.js')
    report = await probeS3(url, role)
  }
  if (report.error) return failed('backend', report.error)
  const needs = role === 'ci' ? 'create staged releases' : 'read, approve and reject staged releases'
  const notes = report.notes.length ? `; ${report.notes.join('; ')}` : ''
  if (report.denied.length) {
    return {
      name: 'backend',
      status: 'error',
      summary: `${displayBackend(url)}: this identity cannot ${needs}: refused: ${report.denied.join(', ')}${notes}`,
      hint: parsed.kind === 's3' ? 'Grant what is refused (docs/backends.md, "S3", lists each role\'s policy), or use the credentials meant for this role.' : 'Fix the permissions of the directory (staging and approving both write there), or name another one with --backend file:<dir>.',
    }
  }
  const extra = report.notes.some((n) => /can also list/.test(n))
  return { name: 'backend', status: extra ? 'warn' : 'ok', summary: `${displayBackend(url)}: can ${needs} (${report.allowed.join(', ')})${notes}`, ...(extra && { hint: 'Give CI a role with s3:PutObject only (docs/backends.md, "S3": CI role).' }) }
}

async function registryBackendCheck(registry: string, flat: Flat): Promise<DoctorCheck> {
  const { stagingSupport } = await import('../npm/account.js')
  const support = await stagingSupport(registry, flat)
  if (support === 'yes') return { name: 'backend', status: 'ok', summary: `the staging API of ${registry} answers with these credentials (whether they may stage or approve shows only when they do)` }
  if (support === 'no') throw new StagePublishError('ENOSTAGE', `${registry} does not implement npm's staging API`, { hint: 'Stage to --backend s3://<bucket>/<prefix> or file:<dir> instead.' })
  if (support === 'needs-login') return { name: 'backend', status: 'error', summary: `the staging API of ${registry} refuses these credentials`, hint: `Log in with \`npm login --registry ${registry}\` (approvers), or give CI a token that may stage.` }
  throw support.error
}

async function twoFactorCheck(registry: string, flat: Flat): Promise<DoctorCheck> {
  const { twoFactorMode } = await import('../npm/account.js')
  const mode = await twoFactorMode(registry, flat)
  const enable = 'Run `npm profile enable-2fa auth-and-writes`.'
  switch (mode) {
    case 'auth-and-writes':
      return { name: 'two-factor', status: 'ok', summary: '2FA is on for sign-in and writes (auth-and-writes): each approval needs a one-time password' }
    case 'auth-only':
      return { name: 'two-factor', status: 'warn', summary: '2FA is on for sign-in only (auth-only): publishing with your credentials needs no one-time password', hint: `Approvals are meant to need a second factor. ${enable}` }
    case 'pending':
      return { name: 'two-factor', status: 'warn', summary: '2FA enrolment was started but not finished', hint: `Finish it with a code from your authenticator, or start again: ${enable}` }
    case 'none':
      return { name: 'two-factor', status: 'error', summary: '2FA is off: anyone holding your npm token could publish without you', hint: enable }
    case 'unknown':
      return { name: 'two-factor', status: 'warn', summary: `${registry} does not report the account's 2FA mode (npm's profile API)`, hint: 'Make sure publishing with your account asks for a one-time password.' }
  }
}

/**
 * In CI, an npm token that can publish makes staging optional: anyone who can run the job could
 * `npm publish` instead. What can be known: whether there is a token at all, whether the registry
 * accepts it, and, where npm's token API lists it, whether it is read-only. A token that may stage but
 * not publish is not distinguishable from one that may publish through that API, hence a warning.
 */
async function ciTokenCheck(registry: string, flat: Flat, user: string | undefined, backendKind: string, oidc: boolean): Promise<DoctorCheck> {
  const { tokenFor, tokenIsReadOnly } = await import('../npm/account.js')
  const token = tokenFor(registry, flat)
  const recommend =
    backendKind === 'registry'
      ? 'Use a stage-only token (one that may stage but not publish) or trusted publishing (OIDC) for staging.'
      : `Staging to ${backendKind === 's3' ? 'S3' : 'a directory'} needs no npm token in CI: remove it (NODE_AUTH_TOKEN, NPM_TOKEN, //host/:_authToken), or make it read-only.`
  if (!token) return { name: 'ci-token', status: 'ok', summary: `no npm token for ${registry} in this job${oidc ? ' (trusted publishing is available)' : ''}: nothing here can publish without staging` }
  if (user === undefined) return { name: 'ci-token', status: 'info', summary: `an npm token for ${registry} is set, but the registry does not accept it`, hint: recommend }
  const readOnly = await tokenIsReadOnly(registry, flat, token)
  if (readOnly === true) return { name: 'ci-token', status: 'ok', summary: `the npm token in this job (${user}) is read-only: it cannot publish` }
  return {
    name: 'ci-token',
    status: 'warn',
    summary: readOnly === false ? `the npm token in this job (${user}) is not read-only: it may publish directly, bypassing staging` : `an npm token accepted as ${user} is set in this job; the registry does not say whether it may publish: if it can, staging can be bypassed`,
    hint: recommend,
  }
}
