/**
 * Trusted publishing (OIDC) for staging, the way npm does it (npm lib/utils/oidc.js): in a supported
 * CI, get the job's id token (NPM_ID_TOKEN, or GitHub Actions' token service with the audience
 * `npm:<registry host>`), and exchange it at
 *   POST <registry origin>/-/npm/v1/oidc/token/exchange/package/<escaped name>
 *   Authorization: Bearer <id token>, npm-command: stage
 * for a short-lived registry token that may stage (or publish) that one package. The token is used
 * for the stage request only: reads, list, view, approve and reject never see it (npm's registry
 * refuses them to such tokens anyway).
 *
 * Unlike npm, which stays silent when the exchange fails, the outcome is a value the flow words:
 * a refusal is explained (./oidc-parse.ts). Every wait is bounded (core/network-limits.ts) and every
 * body is read up to MAX_OIDC_BODY bytes. Nothing here prints, and no error carries a token.
 */
import { createRequire } from 'node:module'
import { StagePublishError, redact } from '../errors.js'
import { NETWORK_LIMITS } from '../core/network-limits.js'
import { readStreamBounded } from '../backends/bounded-read.js'
import { MAX_OIDC_BODY, audienceFor, checkIdToken, exchangeRefusal, idTokenHint, parseExchangeToken, parseGithubIdToken, publicRepository, type OidcPlan } from './oidc-parse.js'
import { registryError } from './publish.js'

export { audienceFor, idTokenHint, planOidc, stageRefusal, type OidcPlan, type OidcProvider } from './oidc-parse.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>

interface FetchResponse {
  status: number
  headers: { get(name: string): string | null }
  body: AsyncIterable<Uint8Array> & { destroy?: () => unknown }
}
type Fetch = (url: string, opts: Flat) => Promise<FetchResponse>

export interface OidcLimits {
  /** One attempt. */
  timeoutMs: number
  /** The whole call, retries and connecting included. */
  deadlineMs: number
}

const DEFAULT_LIMITS: OidcLimits = { timeoutMs: NETWORK_LIMITS.readTimeoutMs, deadlineMs: NETWORK_LIMITS.readDeadlineMs }

export interface ExchangeInput {
  plan: Exclude<OidcPlan, { source: 'none' }>
  packageName: string
  /** The registry the package is staged on (ends with '/'). */
  registry: string
  /** npm's flat options: proxy, CA and TLS settings for both requests. */
  flat: Flat
  /** Whether the registry has published versions of the package (undefined: it would not say): words a 404 right. */
  packageExists: boolean | undefined
  /** For npm's provenance rule (SIGSTORE_ID_TOKEN on GitLab). */
  env: NodeJS.ProcessEnv
}

export interface ExchangedToken {
  /** The short-lived registry token: for the stage request only, never printed or stored. */
  token: string
  /** The id token says the repository is public, by npm's rule for automatic provenance (see publicRepository). */
  publicRepository: boolean
}

/** The short-lived registry token for staging `packageName`, or a StagePublishError that says why not. */
export async function exchangeIdToken(input: ExchangeInput, limits: OidcLimits = DEFAULT_LIMITS): Promise<ExchangedToken> {
  const { plan, registry } = input
  const audience = audienceFor(registry)
  const idToken =
    plan.source === 'request'
      ? await requestGithubIdToken(plan, audience, input.flat, limits)
      : checkIdToken(plan.idToken, audience, 'NPM_ID_TOKEN', idTokenHint(plan.provider, audience))

  const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
  // A path that starts with '/': on the registry's origin, whatever path the registry URL has (as npm does).
  const url = new URL(`/-/npm/v1/oidc/token/exchange/package/${npa(input.packageName).escapedName}`, registry).href
  const where = redact(new URL(registry).origin + '/')
  let res: FetchResponse
  let body: Buffer
  try {
    res = await fetchOnce(url, { method: 'POST', headers: { authorization: `Bearer ${idToken}`, 'npm-command': 'stage' }, retries: 0 }, input.flat, limits)
    body = await boundedBody(res, `The answer of ${where} to the token exchange`)
  } catch (err) {
    throw registryError(err, registry, `exchange the ${plan.provider} id token for ${input.packageName}`)
  }
  if (res.status >= 200 && res.status < 300) {
    return { token: parseExchangeToken(res.status, body, where), publicRepository: publicRepository(idToken, plan.provider, input.env) }
  }
  throw exchangeRefusal(res.status, body, { packageName: input.packageName, where, provider: plan.provider, packageExists: input.packageExists })
}

/** npm's flat options with `token` as the credential for `registry` (npm sets `//host/path/:_authToken`). */
export function withRegistryToken(flat: Flat, registry: string, token: string): Flat {
  const u = new URL(registry)
  return { ...flat, [`//${u.host}${u.pathname}:_authToken`]: token }
}

/** GitHub Actions' id-token service: GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>, Bearer <request token>. */
async function requestGithubIdToken(plan: Extract<OidcPlan, { source: 'request' }>, audience: string, flat: Flat, limits: OidcLimits): Promise<string> {
  const hint = idTokenHint('GitHub Actions', audience)
  let url: URL
  try {
    url = new URL(plan.requestUrl)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)')
  } catch {
    // The URL is not printed: its query may hold more than an address.
    throw new StagePublishError('EOIDC', 'ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL, so no id token could be requested', { hint })
  }
  url.searchParams.append('audience', audience)
  const what = "GitHub Actions' id-token service"
  try {
    // As npm does, without the registry's TLS and proxy settings: an .npmrc `ca` for a private registry would
    // replace the certificates GitHub's service is checked with.
    const res = await fetchOnce(url.href, { method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${plan.requestToken}` }, retries: 1 }, { userAgent: flat.userAgent }, limits)
    return parseGithubIdToken(res.status, await boundedBody(res, `The answer of ${what}`), audience)
  } catch (err) {
    if (err instanceof StagePublishError) throw err
    throw new StagePublishError('EREGISTRYUNREACHABLE', `Could not get an id token from ${what} (${timedOut(err) ? 'no answer in time' : networkCode(err)})`, {
      hint: 'Nothing was staged. Run the job again; if it keeps failing, stage with a token instead.',
      cause: err,
    })
  }
}

async function fetchOnce(url: string, req: { method: string; headers: Record<string, string>; retries: number }, flat: Flat, limits: OidcLimits): Promise<FetchResponse> {
  const fetch = require('make-fetch-happen') as Fetch
  return fetch(url, {
    method: req.method,
    headers: { ...req.headers, ...(typeof flat.userAgent === 'string' && { 'user-agent': flat.userAgent }) },
    // The network settings npm would use (npm-registry-fetch passes the same), and no cache: a token is never stored.
    ca: flat.ca,
    cert: flat.cert,
    key: flat.key,
    proxy: flat.httpsProxy || flat.proxy,
    noProxy: flat.noProxy,
    strictSSL: flat.strictSSL,
    localAddress: flat.localAddress,
    timeout: limits.timeoutMs,
    retry: { retries: req.retries, factor: 2, minTimeout: 500, maxTimeout: 2000 },
    signal: AbortSignal.timeout(limits.deadlineMs),
  })
}

async function boundedBody(res: FetchResponse, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'))
  if (declared > MAX_OIDC_BODY) {
    res.body.destroy?.()
    throw new StagePublishError('EOIDC', `${what} is ${declared} bytes long: not a token answer`, { hint: 'Nothing was staged.' })
  }
  try {
    return await readStreamBounded(res.body, { maxBytes: MAX_OIDC_BODY, what })
  } catch (err) {
    if (err instanceof StagePublishError) throw new StagePublishError('EOIDC', `${err.message}: not a token answer`, { hint: 'Nothing was staged.' })
    throw err
  }
}

const TIMEOUTS = new Set(['ETIMEDOUT', 'ERR_SOCKET_TIMEOUT', 'ECONNECTIONTIMEOUT', 'EIDLETIMEOUT', 'ERESPONSETIMEOUT', 'ETRANSFERTIMEOUT'])
function timedOut(err: unknown): boolean {
  const e = err as { code?: string; type?: string; name?: string }
  return TIMEOUTS.has(String(e.code)) || e.type === 'request-timeout' || e.type === 'body-timeout' || e.type === 'aborted' || e.name === 'AbortError' || e.name === 'TimeoutError'
}
const networkCode = (err: unknown): string => {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'network error'
}

