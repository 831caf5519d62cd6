/**
 * A stand-in for the two services trusted publishing talks to, in front of a real registry:
 *
 * 1. GitHub Actions' id-token service, as the runner serves it: `GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>`
 *    with `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` → 200 `{ "count": 1, "value": "<jwt>" }`
 *    whose `aud` is the requested audience and whose claims are this job's (`githubClaims`). A wrong
 *    request token is 401, a missing audience 400.
 * 2. npm's exchange endpoint, as npm's lib/utils/oidc.js calls it:
 *    `POST /-/npm/v1/oidc/token/exchange/package/<escaped name>` with `Authorization: Bearer <id token>`.
 *    The id token must be one this stand-in signed (HS256; `issueIdToken()` plays GitLab and CircleCI),
 *    unexpired, with `aud` = `npm:<host name>`. The package must have a trust configuration
 *    (`trust()`) whose claims all match the token's, else 404 `{ "message": "OIDC token exchange error -
 *    package not found" }` (npm's wording). Then 201 `{ "token": <the trust's registry token> }`: a real
 *    token of a Verdaccio user, so that what follows really happens on the registry.
 *
 * Everything else is forwarded to the registry, except that a request carrying an exchanged token is
 * refused as npm's registry refuses it (403 `{ "error": "OIDC permission denied for this action" }`)
 * unless it is a stage (`POST /-/stage/package/<name>`) or a publish (`PUT /<name>`) of the package it
 * was exchanged for, and that package's trust allows it. `requests` logs every request, and whether it carried an exchanged or an id token.
 * `exchange` (a function of the request) replaces the exchange's answer, for hostile answers.
 */
import { createHmac, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TrustConfig {
  /** Claims the id token must carry, e.g. `{ repository: 'acme/widgets' }`. */
  claims: Record<string, string>
  /** npm's permission names: `createPackage` (publish), `createStagedPackage` (stage publish). */
  permissions: Array<'createPackage' | 'createStagedPackage'>
  /** The registry token handed out for this package. */
  token: string
}

export interface StandInRequest {
  method: string
  path: string
  /** The request carried a token this stand-in handed out in an exchange. */
  exchangedToken: boolean
  /** The bearer was an id token this stand-in signed. */
  idToken: boolean
  npmCommand?: string
  status?: number
}

export interface ExchangeCall {
  packageName: string
  /** Verified claims of the id token presented, or null when it was not valid. */
  claims: Record<string, unknown> | null
  npmCommand?: string
  status: number
}

export type ExchangeOverride = (packageName: string) => { status: number; body: string | Buffer; headers?: Record<string, string> } | 'hang' | undefined

export interface OidcStandIn {
  url: string
  host: string
  /** What to put in ACTIONS_ID_TOKEN_REQUEST_URL. */
  githubRequestUrl: string
  /** What to put in ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  githubRequestToken: string
  /** Claims of the id tokens the GitHub route issues. */
  githubClaims: Record<string, string>
  readonly requests: StandInRequest[]
  readonly exchanges: ExchangeCall[]
  /** Every id token the GitHub route issued. */
  readonly issuedIdTokens: string[]
  trust(packageName: string, config: TrustConfig): void
  /** An id token signed by this stand-in (what GitLab's id_tokens or `circleci run oidc get` would give). */
  issueIdToken(claims: Record<string, unknown>): string
  exchange: ExchangeOverride | undefined
  /** Packages `GET /-/package/<name>/visibility` answers `{ public: true }` for (npm's libnpmaccess.getVisibility). */
  publicPackages: Set<string>
  stop(): Promise<void>
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

export async function startOidcStandIn(upstreamUrl: string, opts: { githubClaims?: Record<string, string> } = {}): Promise<OidcStandIn> {
  const upstream = new URL(upstreamUrl)
  const key = randomBytes(32)
  const trusts = new Map<string, TrustConfig>()
  // Exchanged token → the package it was exchanged for, and that package's trust.
  const exchanged = new Map<string, { packageName: string; trust: TrustConfig }>()
  const requests: StandInRequest[] = []
  const exchanges: ExchangeCall[] = []
  const issuedIdTokens: string[] = []
  const githubRequestToken = `ghreq-${randomBytes(18).toString('hex')}`
  const agent = new http.Agent({ keepAlive: true })
  // The stand-in listens on 127.0.0.1: the audience npm asks for is `npm:127.0.0.1` (host name, no port).
  const hostname = '127.0.0.1'

  const sign = (claims: Record<string, unknown>): string => {
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`
    return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`
  }
  const verify = (token: string): Record<string, unknown> | null => {
    const [h, p, sig] = token.split('.')
    if (!h || !p || !sig || createHmac('sha256', key).update(`${h}.${p}`).digest('base64url') !== sig) return null
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null
    return claims
  }
  const now = () => Math.floor(Date.now() / 1000)
  const issueIdToken = (claims: Record<string, unknown>) => sign({ iss: 'https://stand-in.invalid', iat: now(), exp: now() + 300, ...claims })

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const drain = (req: http.IncomingMessage) => new Promise<void>((resolve) => {
    req.on('end', resolve)
    req.on('error', () => resolve())
    req.resume()
  })

  const standIn: OidcStandIn = {
    url: '',
    host: '',
    githubRequestUrl: '',
    githubRequestToken,
    githubClaims: { repository: 'acme/widgets', workflow_ref: 'acme/widgets/.github/workflows/release.yml@refs/heads/main', repository_visibility: 'private', ...opts.githubClaims },
    requests,
    exchanges,
    issuedIdTokens,
    trust: (name, config) => void trusts.set(name, config),
    issueIdToken,
    exchange: undefined,
    publicPackages: new Set(),
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
      agent.destroy()
    }),
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid')
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    const npmCommand = typeof req.headers['npm-command'] === 'string' ? req.headers['npm-command'] : undefined
    const entry: StandInRequest = { method, path: req.url ?? '/', exchangedToken: auth !== undefined && exchanged.has(auth), idToken: auth !== undefined && verify(auth) !== null, ...(npmCommand && { npmCommand }) }
    requests.push(entry)

    if (url.pathname === '/_github/idtoken') {
      await drain(req)
      const audiences = url.searchParams.getAll('audience')
      if (method !== 'GET' || auth !== githubRequestToken) {
        send(res, (entry.status = 401), { message: 'Bad credentials' })
        return
      }
      if (audiences.length !== 1) {
        send(res, (entry.status = 400), { message: 'exactly one audience is required' })
        return
      }
      const value = issueIdToken({ aud: audiences[0], sub: `repo:${standIn.githubClaims.repository}:ref:refs/heads/main`, ...standIn.githubClaims })
      issuedIdTokens.push(value)
      send(res, (entry.status = 200), { count: 1, value })
      return
    }

    const exchangeMatch = /^\/-\/npm\/v1\/oidc\/token\/exchange\/package\/(.+)$/.exec(url.pathname)
    if (exchangeMatch && method === 'POST') {
      await drain(req)
      const packageName = decodeURIComponent(exchangeMatch[1] as string)
      const claims = auth ? verify(auth) : null
      const call: ExchangeCall = { packageName, claims, ...(npmCommand && { npmCommand }), status: 0 }
      exchanges.push(call)
      const override = standIn.exchange?.(packageName)
      if (override === 'hang') return
      if (override) {
        call.status = entry.status = override.status
        res.writeHead(override.status, { 'content-type': 'application/json', ...override.headers })
        res.end(override.body)
        return
      }
      const reply = (status: number, body: unknown): void => {
        call.status = entry.status = status
        send(res, status, body)
      }
      if (!claims) {
        reply(401, { message: 'OIDC token exchange error - invalid token' })
        return
      }
      if (claims.aud !== `npm:${hostname}`) {
        reply(401, { message: `OIDC token exchange error - audience must be npm:${hostname}` })
        return
      }
      const trust = trusts.get(packageName)
      if (!trust || Object.entries(trust.claims).some(([k, v]) => claims[k] !== v)) {
        reply(404, { message: 'OIDC token exchange error - package not found' })
        return
      }
      exchanged.set(trust.token, { packageName, trust })
      reply(201, { token: trust.token })
      return
    }

    const visibility = /^\/-\/package\/(.+)\/visibility$/.exec(url.pathname)
    if (visibility && method === 'GET' && standIn.publicPackages.has(decodeURIComponent(visibility[1] as string))) {
      await drain(req)
      send(res, (entry.status = 200), { public: true })
      return
    }

    const grant = auth ? exchanged.get(auth) : undefined
    if (grant) {
      const { trust } = grant
      // Scoped to one package, as npm's exchanged tokens are.
      const escaped = grant.packageName.replace('/', '%2f')
      const stage = method === 'POST' && (url.pathname === `/-/stage/package/${escaped}` || url.pathname === `/-/stage/package/${grant.packageName}`)
      const publish = method === 'PUT' && (url.pathname === `/${escaped}` || url.pathname === `/${grant.packageName}`)
      const allowed = (stage && trust.permissions.includes('createStagedPackage')) || (publish && trust.permissions.includes('createPackage'))
      if (!allowed) {
        await drain(req)
        entry.status = 403
        send(res, 403, { error: 'OIDC permission denied for this action' })
        return
      }
    }
    // Forward to the registry as it is.
    const upReq = http.request({ hostname: upstream.hostname, port: upstream.port, method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent })
    upReq.on('response', (upRes) => {
      entry.status = upRes.statusCode
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    })
    upReq.on('error', (err) => {
      if (res.headersSent) res.destroy()
      else send(res, 502, { error: `stand-in: ${err.message}` })
    })
    req.pipe(upReq)
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy()
      else send(res, 500, { error: `stand-in: ${String(err)}` })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  standIn.url = `http://127.0.0.1:${port}/`
  standIn.host = `127.0.0.1:${port}`
  // The runner's URL has a query of its own; npm appends `&audience=`.
  standIn.githubRequestUrl = `${standIn.url}_github/idtoken?api-version=2.0`
  return standIn
}
