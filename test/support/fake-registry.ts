/**
 * An npm registry in this process, for fast tests of the approval flows: the reads the flows make go to
 * it over HTTP through the real code (npm-registry-fetch for packuments and whoami, npm-profile for a
 * web sign-in's doneUrl), and `publishFn` stands in for libnpmpublish's publish (Deps.publishFn), with
 * a registry's answers: EOTP without an accepted code, a web-auth challenge, E409 for a version that
 * exists, or success, which makes the version visible to the next read. Every call is recorded.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PublishFn } from '../../src/npm/publish.js'

export interface PublishCall {
  name: string
  version: string
  otp?: string
  authType?: unknown
  registry?: unknown
  /** The token for this registry in the options libnpmpublish got: the approver's own credentials. */
  token?: unknown
  /** sha512 of the bytes sent. */
  integrity: string
  /** What the registry answered: `ok`, or the error code. */
  answer: string
}

export interface Published {
  integrity: string
  shasum: string
  manifest: Record<string, unknown>
}

export interface FakeRegistryOptions {
  /** What /-/whoami answers. */
  username?: string
  /**
   * How the registry asks for proof of presence:
   *  - `otp` (default): a publish without an accepted code gets EOTP;
   *  - `web`: a publish without a token gets EOTP with authUrl/doneUrl; doneUrl hands out the token
   *    after `webPolls` polls answered 202;
   *  - `none`: no second factor.
   */
  twoFactor?: 'otp' | 'web' | 'none'
  /** Codes the registry accepts (from the approver's authenticator). */
  codes?: string[]
  /** Whether an accepted code works again (npmjs within its window) or is used up (Verdaccio). */
  replay?: boolean
  webPolls?: number
}

export interface FakeRegistry {
  url: string
  token: string
  published: Map<string, Map<string, Published>>
  calls: PublishCall[]
  /** Every HTTP request the server answered, as `GET /path`. */
  requests: string[]
  /** What the next publish of `name` answers instead of the usual rules (an error to throw), once. */
  failNext: Map<string, Error>
  /** Puts a version on the registry as if someone published it. */
  publish(name: string, version: string, bytes: Buffer, manifest?: Record<string, unknown>): void
  publishFn: PublishFn
  close(): Promise<void>
}

/** A manifest's own `dist` fields (a test's `attestations`), kept in what the registry serves. */
const distOf = (manifest: Record<string, unknown>): Record<string, unknown> =>
  manifest.dist && typeof manifest.dist === 'object' && !Array.isArray(manifest.dist) ? (manifest.dist as Record<string, unknown>) : {}

const sha512 = (bytes: Buffer) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`

export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const twoFactor = options.twoFactor ?? 'otp'
  const accepted = new Set(options.codes ?? [])
  const used = new Set<string>()
  const webToken = 'web-token-0001'
  let polls = 0
  const published = new Map<string, Map<string, Published>>()
  const requests: string[] = []

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(`${req.method} ${url.pathname}`)
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
    if (url.pathname === '/-/whoami') {
      json(200, { username: options.username ?? 'alice' })
      return
    }
    if (url.pathname === '/-/weblogin/done') {
      polls++
      if (polls <= (options.webPolls ?? 1)) json(202, {}, { 'retry-after': '0' })
      else json(200, { token: webToken })
      return
    }
    const name = decodeURIComponent(url.pathname.slice(1))
    const versions = published.get(name)
    if (!versions) {
      json(404, { error: 'not found' })
      return
    }
    const doc = {
      name,
      'dist-tags': { latest: [...versions.keys()].at(-1) },
      versions: Object.fromEntries(
        [...versions].map(([v, p]) => [v, { ...p.manifest, name, version: v, dist: { ...distOf(p.manifest), integrity: p.integrity, shasum: p.shasum, tarball: `${base}${name}/-/x-${v}.tgz` } }]),
      ),
    }
    json(200, doc)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

  const put = (name: string, version: string, bytes: Buffer, manifest: Record<string, unknown> = {}) => {
    const versions = published.get(name) ?? new Map<string, Published>()
    versions.set(version, { integrity: sha512(bytes), shasum: createHash('sha1').update(bytes).digest('hex'), manifest })
    published.set(name, versions)
  }

  const registry: FakeRegistry = {
    url: base,
    token: 'npm_fakeRegistryToken0123456789',
    published,
    calls: [],
    requests,
    failNext: new Map(),
    publish: put,
    async publishFn(manifest, tarball, opts) {
      const name = String(manifest.name)
      const version = String(manifest.version)
      const otp = typeof opts.otp === 'string' ? opts.otp : undefined
      const call: PublishCall = { name, version, ...(otp !== undefined && { otp }), authType: opts.authType, registry: opts.registry, token: opts[`${base.replace(/^http:/, '')}:_authToken`], integrity: sha512(tarball), answer: 'ok' }
      registry.calls.push(call)
      const fail = (err: Error & { code?: string }): never => {
        call.answer = err.code ?? 'error'
        throw err
      }
      const forced = registry.failNext.get(name)
      if (forced) {
        registry.failNext.delete(name)
        fail(forced)
      }
      if (twoFactor === 'web' && otp !== webToken) {
        fail(Object.assign(new Error('otp'), { code: 'EOTP', body: { authUrl: `${base}-/weblogin/auth`, doneUrl: `${base}-/weblogin/done` } }))
      }
      if (twoFactor === 'otp' && (otp === undefined || !accepted.has(otp) || (used.has(otp) && !options.replay))) {
        fail(Object.assign(new Error('otp'), { code: 'EOTP' }))
      }
      if (otp !== undefined) used.add(otp)
      if (published.get(name)?.has(version)) fail(Object.assign(new Error('conflict'), { code: 'E409', body: { error: 'cannot modify pre-existing version' } }))
      put(name, version, tarball, manifest)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  return registry
}
