/**
 * The exchange's network side (src/npm/oidc.ts) against small servers on 127.0.0.1: the request npm
 * sends, and every wait and every body bounded (a silent service, a refused connection, an endless body).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { exchangeIdToken, withRegistryToken } from '../../src/npm/oidc.js'
import { StagePublishError } from '../../src/errors.js'
import { startBadServer } from '../support/bad-server.js'

const jwt = (claims: unknown) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`
const ID_TOKEN = jwt({ aud: 'npm:127.0.0.1', secret: 'id-token-secret-value' })
const LIMITS = { timeoutMs: 300, deadlineMs: 800 }

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()))
})

async function server(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  stops.push(() => new Promise<void>((resolve) => {
    s.closeAllConnections()
    s.close(() => resolve())
  }))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`
}

async function failure(p: Promise<unknown>): Promise<StagePublishError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(StagePublishError)
  return err as StagePublishError
}

const input = (registry: string, plan: Parameters<typeof exchangeIdToken>[0]['plan'] = { provider: 'GitLab CI/CD', source: 'NPM_ID_TOKEN', idToken: ID_TOKEN }) => ({
  plan,
  packageName: '@acme/w',
  registry,
  flat: { userAgent: 'npm/11 test' },
  packageExists: true,
  env: {},
})

describe('exchangeIdToken', () => {
  it('POSTs to the registry\'s exchange route as npm does: the escaped name, the id token as bearer, npm-command: stage, no body', async () => {
    const seen: Array<{ method?: string; url?: string; auth?: string; command?: string | string[]; body: string }> = []
    const url = await server((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, command: req.headers['npm-command'], body })
        res.writeHead(201, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ token: 'registry-token-123' }))
      })
    })
    // A registry URL with a path: npm's route is on the origin.
    expect(await exchangeIdToken(input(`${url}some/path/`), LIMITS)).toEqual({ token: 'registry-token-123', publicRepository: false })
    expect(seen).toEqual([{ method: 'POST', url: '/-/npm/v1/oidc/token/exchange/package/@acme%2fw', auth: `Bearer ${ID_TOKEN}`, command: 'stage', body: '' }])
  })

  it('GitHub Actions: asks the runner\'s service with its bearer and the audience appended to its own query', async () => {
    const seen: string[] = []
    const gh = await server((req, res) => {
      seen.push(`${req.url ?? ''} ${req.headers.authorization ?? ''}`)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ count: 1, value: jwt({ aud: 'npm:127.0.0.1', repository_visibility: 'public' }) }))
    })
    const reg = await server((req, res) => {
      seen.push(`${req.method ?? ''} ${req.headers.authorization?.startsWith('Bearer eyJ') ? 'id token' : 'other'}`)
      res.writeHead(201)
      res.end(JSON.stringify({ token: 'tok' }))
    })
    const token = await exchangeIdToken(input(reg, { provider: 'GitHub Actions', source: 'request', requestUrl: `${gh}idtoken?api-version=2.0`, requestToken: 'req-token' }), LIMITS)
    expect(token).toEqual({ token: 'tok', publicRepository: true })
    expect(seen).toEqual(['/idtoken?api-version=2.0&audience=npm%3A127.0.0.1 Bearer req-token', 'POST id token'])
  })

  it('the registry\'s network settings (an .npmrc proxy, ca) apply to the exchange only, not to GitHub\'s service (as in npm)', async () => {
    let asked = 0
    const gh = await server((_req, res) => {
      asked++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ value: ID_TOKEN }))
    })
    const deadProxy = await server((_req, res) => res.end())
    await stops.pop()?.()
    const plan = { provider: 'GitHub Actions' as const, source: 'request' as const, requestUrl: `${gh}idtoken`, requestToken: 'r' }
    const e = await failure(exchangeIdToken({ ...input('http://127.0.0.1:9/', plan), flat: { proxy: deadProxy } }, LIMITS))
    expect(asked).toBe(1)
    expect(e.code).toBe('EREGISTRYUNREACHABLE')
    expect(e.message).toContain('to exchange the GitHub Actions id token')
  })

  it('a registry that accepts the connection and never answers: EREGISTRYUNREACHABLE within the limit', async () => {
    const silent = await startBadServer('silent')
    stops.push(() => silent.stop())
    const started = Date.now()
    const e = await failure(exchangeIdToken(input(silent.url), LIMITS))
    expect(Date.now() - started).toBeLessThan(3000)
    expect(e.code).toBe('EREGISTRYUNREACHABLE')
    expect(e.message).toContain('did not answer in time to exchange the GitLab CI/CD id token for @acme/w')
    expect(silent.requests).toHaveLength(1)
  })

  it('a silent GitHub token service and a closed port: bounded, and said in words', async () => {
    const silent = await startBadServer('silent')
    stops.push(() => silent.stop())
    const plan = { provider: 'GitHub Actions' as const, source: 'request' as const, requestUrl: `${silent.url}idtoken`, requestToken: 'req-token-secret' }
    const started = Date.now()
    const e = await failure(exchangeIdToken(input('http://127.0.0.1:9/', plan), LIMITS))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(e.code).toBe('EREGISTRYUNREACHABLE')
    expect(e.message).toBe("Could not get an id token from GitHub Actions' id-token service (no answer in time)")

    const closed = await server((_req, res) => res.end())
    await stops.pop()?.()
    const refused = await failure(exchangeIdToken(input(closed), LIMITS))
    expect(refused.code).toBe('EREGISTRYUNREACHABLE')
    expect(refused.message).toContain('ECONNREFUSED')
    for (const m of [e, refused]) expect(`${m.message}${m.hint ?? ''}`).not.toMatch(/req-token-secret|id-token-secret/)
  })

  it('an endless answer is cut off at the limit; a declared huge one is not read', async () => {
    let written = 0
    const endless = await server((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(16 * 1024, 0x20)
      const pump = () => {
        while (written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length
        if (written < 50 * 1024 * 1024) res.once('drain', pump)
      }
      res.write('{"token":"')
      pump()
    })
    const e = await failure(exchangeIdToken(input(endless), { timeoutMs: 5000, deadlineMs: 10_000 }))
    expect(e.code).toBe('EOIDC')
    expect(e.message).toContain('not a token answer')
    expect(written).toBeLessThan(50 * 1024 * 1024)

    const declared = await server((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) })
      res.write('{"message":"')
    })
    const d = await failure(exchangeIdToken(input(declared), LIMITS))
    expect(d.message).toContain('is 104857600 bytes long: not a token answer')
  })

  it('withRegistryToken: the token is the credential of that registry, as npm sets it', () => {
    expect(withRegistryToken({ registry: 'https://r.example/npm/', other: 1 }, 'https://r.example/npm/', 't')).toEqual({ registry: 'https://r.example/npm/', other: 1, '//r.example/npm/:_authToken': 't' })
  })
})
