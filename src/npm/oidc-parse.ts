/**
 * Trusted publishing (OIDC), the pure part: which CI we are in and where its id token comes from,
 * read as npm reads it (npm lib/utils/oidc.js, ci-info's vendor rules), and the strict reading of
 * what the CI's token service and the registry's exchange endpoint answer. Their bodies are hostile:
 * parsed once, bounded by the caller, and only a sanitised one-line message ever reaches our text.
 * No I/O here (./oidc.ts does it); nothing returned or thrown contains a token.
 */
import { StagePublishError } from '../errors.js'
import { toSafeText } from '../core/text.js'

export type OidcProvider = 'GitHub Actions' | 'GitLab CI/CD' | 'CircleCI'

/** Where this CI's id token comes from, or why there is none. */
export type OidcPlan =
  | { provider: OidcProvider; source: 'NPM_ID_TOKEN'; idToken: string }
  | { provider: 'GitHub Actions'; source: 'request'; requestUrl: string; requestToken: string }
  | { provider: OidcProvider; source: 'none' }

/** Answers of the CI's token service and of the registry are read up to this many bytes. */
export const MAX_OIDC_BODY = 64 * 1024
/** A JWT far longer than any provider issues is not one. */
const MAX_ID_TOKEN = 16 * 1024
/** The registry's token goes into an Authorization header: printable ASCII, no space, bounded. */
const REGISTRY_TOKEN = /^[\x21-\x7e]{1,4096}$/
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/

/**
 * npm tries trusted publishing only on GitHub Actions, GitLab CI/CD and CircleCI, as ci-info
 * detects them (`CI=false` turns detection off). NPM_ID_TOKEN wins everywhere; GitHub Actions
 * otherwise hands out tokens on request when the job has `permissions: id-token: write`.
 */
export function planOidc(env: NodeJS.ProcessEnv): OidcPlan | undefined {
  if (env.CI === 'false') return undefined
  const provider: OidcProvider | undefined = env.GITHUB_ACTIONS ? 'GitHub Actions' : env.GITLAB_CI ? 'GitLab CI/CD' : env.CIRCLECI ? 'CircleCI' : undefined
  if (!provider) return undefined
  if (env.NPM_ID_TOKEN) return { provider, source: 'NPM_ID_TOKEN', idToken: env.NPM_ID_TOKEN }
  if (provider === 'GitHub Actions' && env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return { provider, source: 'request', requestUrl: env.ACTIONS_ID_TOKEN_REQUEST_URL, requestToken: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN }
  }
  return { provider, source: 'none' }
}

/** The audience npm asks for: `npm:` and the registry's host name (no port), e.g. `npm:registry.npmjs.org`. */
export const audienceFor = (registry: string): string => `npm:${new URL(registry).hostname}`

/** What to change in the CI so it has an id token for `audience`. */
export function idTokenHint(provider: OidcProvider, audience: string): string {
  switch (provider) {
    case 'GitHub Actions':
      // Written so that our own redaction (which hides what follows "token:") leaves it readable.
      return 'Give the job the `id-token`: `write` permission in the workflow\'s `permissions` (GitHub then sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN), or set NPM_ID_TOKEN.'
    case 'GitLab CI/CD':
      return `Declare the token in the job: \`id_tokens: { NPM_ID_TOKEN: { aud: "${audience}" } }\`.`
    case 'CircleCI':
      return `Set NPM_ID_TOKEN in the job, e.g. \`export NPM_ID_TOKEN=$(circleci run oidc get --claims '{"aud":"${audience}"}')\`.`
  }
}

/**
 * An id token we are about to send to the registry: a compact JWT whose audience is this registry's.
 * A token minted for another audience (a cloud provider's) is someone else's credential: never sent.
 */
export function checkIdToken(token: string, audience: string, where: string, hint: string): string {
  const bad = (why: string) => new StagePublishError('EOIDC', `${where} is not an OIDC id token for ${audience}: ${why}`, { hint })
  const m = token.length <= MAX_ID_TOKEN ? COMPACT_JWS.exec(token) : null
  if (!m) throw bad('it is not a JSON Web Token')
  let claims: unknown
  try {
    claims = JSON.parse(Buffer.from(m[2] as string, 'base64url').toString('utf8'))
  } catch {
    throw bad('its claims are not JSON')
  }
  const aud = (claims as { aud?: unknown } | null)?.aud
  const auds = Array.isArray(aud) ? aud : [aud]
  if (!auds.includes(audience)) {
    const shown = auds.filter((a): a is string => typeof a === 'string').map((a) => JSON.stringify(toSafeText(a, 100)))
    throw bad(`its audience is ${shown.length ? shown.join(', ') : 'missing'}, so it was not sent`)
  }
  return token
}

/**
 * npm's rule for turning provenance on by itself after a successful exchange (lib/utils/oidc.js):
 * the id token says the repository is public (GitHub `repository_visibility`, GitLab
 * `project_visibility` with SIGSTORE_ID_TOKEN set; never CircleCI). npm also requires the package to
 * be public on the registry and `provenance` not set by the user: the caller's part.
 */
export function publicRepository(idToken: string, provider: OidcProvider, env: NodeJS.ProcessEnv): boolean {
  const payload = COMPACT_JWS.exec(idToken)?.[2]
  if (!payload || provider === 'CircleCI') return false
  let claims: Record<string, unknown> | undefined
  try {
    claims = jsonObject(Buffer.from(payload, 'base64url'))
  } catch {
    return false
  }
  if (provider === 'GitHub Actions') return claims?.repository_visibility === 'public'
  return claims?.project_visibility === 'public' && Boolean(env.SIGSTORE_ID_TOKEN)
}

/** A JSON object, or undefined for anything else (an HTML page, a number, invalid JSON). */
function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * The one line of an error body we repeat: its `message` or `error` string, made safe and short.
 * Anything else (HTML, a huge blob) is not echoed at all.
 */
export function serverMessage(body: Buffer): string | undefined {
  const o = jsonObject(body)
  const raw = [o?.message, o?.error].find((v): v is string => typeof v === 'string' && v.trim() !== '')
  return raw === undefined ? undefined : toSafeText(raw.replace(/\s+/g, ' ').trim(), 300)
}

/** GitHub's answer to the id-token request: 200 `{ "value": "<jwt>" }`. */
export function parseGithubIdToken(status: number, body: Buffer, audience: string): string {
  const hint = idTokenHint('GitHub Actions', audience)
  if (status !== 200) {
    const msg = serverMessage(body)
    throw new StagePublishError('EOIDC', `GitHub Actions refused to issue an id token for ${audience} (HTTP ${status}${msg ? `: ${msg}` : ''})`, { hint })
  }
  const value = jsonObject(body)?.value
  if (typeof value !== 'string' || !value) throw new StagePublishError('EOIDC', 'GitHub Actions answered the id-token request without a token', { hint })
  return checkIdToken(value, audience, 'The id token GitHub Actions issued', hint)
}

/** The registry's answer to the exchange: 2xx `{ "token": "<token>" }`; anything else is not a token. */
export function parseExchangeToken(status: number, body: Buffer, where: string): string {
  const token = status >= 200 && status < 300 ? jsonObject(body)?.token : undefined
  if (typeof token !== 'string' || !REGISTRY_TOKEN.test(token)) {
    throw new StagePublishError('EOIDC', `${where} answered the token exchange (HTTP ${status}) without a usable token`, {
      hint: 'Is this registry one that supports trusted publishing? Nothing was staged.',
    })
  }
  return token
}

export interface RefusalContext {
  packageName: string
  /** The registry, without credentials. */
  where: string
  provider: OidcProvider
  /** Whether the registry has published versions of the package (from its package document); undefined when it would not say. */
  packageExists: boolean | undefined
}

const TRUST_HOW = (name: string) =>
  `On npmjs.com: the package's Settings → Trusted Publisher, or \`npm trust github ${name} --file <workflow.yml> --allow-stage-publish\` (gitlab, circleci alike).`

/** Why the registry would not exchange the id token, in words: what it means and what to change. */
export function exchangeRefusal(status: number, body: Buffer, ctx: RefusalContext): StagePublishError {
  const msg = serverMessage(body)
  const said = `${ctx.where} answered ${status}${msg ? `: ${msg}` : ''}`
  const what = `${ctx.where} would not exchange the ${ctx.provider} id token for a token to stage ${ctx.packageName}`
  if (status === 404 && ctx.packageExists === false) {
    return new StagePublishError('EOIDC', `${what}: the package does not exist there yet, and a trusted publisher can only be configured for an existing package (${said})`, {
      hint: `Publish the first version with a maintainer's own credentials (or stage it with a token: \`npm login\` / NODE_AUTH_TOKEN), then add a trusted publisher that allows staging. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  if (status === 404 && ctx.packageExists === undefined) {
    return new StagePublishError('EOIDC', `${what}: the package does not exist there yet, or it has no trusted publisher that matches this ${ctx.provider} job (${said})`, {
      hint: `A trusted publisher can only be configured for an existing package, and it must name this repository and workflow file (and environment, if any) and allow staging. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  if (status === 404) {
    return new StagePublishError('EOIDC', `${what}: the package has no trusted publisher that matches this ${ctx.provider} job (${said})`, {
      hint: `Add one that names this repository and workflow file (and environment, if the job uses one), and allows staging. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  if (msg && /stage|permission|not (allowed|permitted)/i.test(msg)) {
    return new StagePublishError('EOIDC', `${what}: its trusted publisher does not allow staging (${said})`, {
      hint: `stage-publish stages (\`npm stage publish\`): the trusted publisher must allow stage publish, not only publish. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  if (status === 400 || status === 401 || status === 403) {
    return new StagePublishError('EOIDC', `${what}: the id token does not match a trusted publisher of the package, or it expired (${said})`, {
      hint: `Check that the trusted publisher names this repository, workflow file and environment exactly, and that the job's id token is fresh. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  return new StagePublishError('EOIDC', `${what} (${said})`, { hint: 'Nothing was staged; try again, or stage with a token.' })
}

/**
 * The registry refused the stage request made with the exchanged token (npm's registry: 403
 * "OIDC permission denied for this action"): the trusted publisher allows publishing, not staging.
 */
export function stageRefusal(status: number | undefined, message: string, ctx: Pick<RefusalContext, 'packageName' | 'where' | 'provider'>): StagePublishError | undefined {
  const what = `${ctx.where} refused to stage ${ctx.packageName} with the short-lived token from trusted publishing (${ctx.provider}): ${String(status)} ${toSafeText(message, 300)}`
  // Only a refusal that speaks of permissions is the trust configuration's; any other 403 stays as the registry said it.
  if (status === 403 && /oidc|permission|not (allowed|permitted)|stag/i.test(message)) {
    return new StagePublishError('EOIDC', what, {
      hint: `The package's trusted publisher allows \`npm publish\` but not \`npm stage publish\`; stage-publish needs the stage permission. ${TRUST_HOW(ctx.packageName)}`,
    })
  }
  if (status === 401) {
    return new StagePublishError('EOIDC', what, { hint: 'The token lives only minutes: run the job again. Nothing was staged.' })
  }
  return undefined
}
