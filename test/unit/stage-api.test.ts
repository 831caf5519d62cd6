/**
 * npm's staging API as the final hop reads it (src/npm/stage-api.ts), against a stand-in registry on
 * loopback: support detection by `GET /-/stage`, the version status (hostile answers become nothing),
 * and staging's expected outcomes as values.
 */
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectStaging, stageOnRegistry, versionStatus } from '../../src/npm/stage-api.js'
import type { Target } from '../../src/npm/publish.js'

type Answer = { status: number; body: string; type?: string }
let answer: (path: string) => Answer = () => ({ status: 404, body: '{}' })
const seen: Array<{ path: string; auth?: string; command?: string }> = []
let server: http.Server
let url: string

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization, command: req.headers['npm-command'] as string | undefined })
    const a = answer(req.url ?? '')
    res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' }).end(a.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const flat = () => ({ [`${url.replace(/^http:/, '')}:_authToken`]: 'npm_token0123456789abcdefghij' })
const target = (): Target => ({ name: 'lib', version: '1.0.0', registry: url, tag: 'latest', access: null })
const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body) })

describe('detectStaging', () => {
  it('an authenticated GET /-/stage?page=0&perPage=1 answering a staging page: supported', async () => {
    answer = () => json(200, { items: [], page: 0, perPage: 1, total: 0 })
    seen.length = 0
    expect(await detectStaging(url, flat())).toEqual({ supported: true })
    expect(seen[0]).toMatchObject({ path: '/-/stage?page=0&perPage=1', auth: 'Bearer npm_token0123456789abcdefghij', command: 'stage' })
  })

  it('404, 405 and 501: not supported; 401 and 403 or a page that is not one: cannot tell', async () => {
    for (const status of [404, 405, 501]) {
      answer = () => json(status, { error: 'no' })
      expect(await detectStaging(url, flat())).toEqual({ supported: false, status })
    }
    for (const status of [401, 403]) {
      answer = () => json(status, { error: 'no' })
      expect(await detectStaging(url, flat())).toEqual({ supported: 'unknown', status })
    }
    answer = () => json(200, { hello: 'world' })
    expect(await detectStaging(url, flat())).toEqual({ supported: 'unknown', status: 200 })
  })

  it('an HTML page is not a registry: an error, not a guess', async () => {
    answer = () => ({ status: 200, body: '<!doctype html><p>login', type: 'text/html' })
    await expect(detectStaging(url, flat())).rejects.toMatchObject({ code: 'ENOTREGISTRY' })
  })
})

describe('versionStatus', () => {
  it('one of the five words, from GET /-/package/<name>/version/<version>/status', async () => {
    for (const status of ['published', 'validating', 'staged', 'blocked', 'deleted']) {
      answer = () => json(200, { status })
      expect(await versionStatus(target(), flat())).toBe(status)
    }
    seen.length = 0
    await versionStatus({ ...target(), name: '@acme/lib' }, flat())
    expect(seen[0]?.path).toBe('/-/package/@acme%2flib/version/1.0.0/status')
  })

  it('anything else is no answer: a missing route, refused credentials, unknown or hostile words', async () => {
    for (const a of [json(404, {}), json(403, {}), json(200, { status: 'Staged' }), json(200, { status: '\u001b[2Jvalidating' }), json(200, ['validating']), json(200, JSON.parse('{"__proto__": {"status": "validating"}}'))]) {
      answer = () => a
      expect(await versionStatus(target(), flat())).toBeUndefined()
    }
  })
})

describe('stageOnRegistry', () => {
  const input = () => ({ target: target(), manifest: { name: 'lib', version: '1.0.0' }, bytes: Buffer.from('x'), flat: { ...flat(), provenance: true, otp: '123456' } })

  it('sends what npm stage publish sends (stage: true, no code, no signing on this machine) and returns the stage id', async () => {
    let sent: Record<string, unknown> = {}
    let bundleSent = ''
    const r = await stageOnRegistry({ ...input(), provenance: Buffer.from('{"bundle":1}') }, async (_m, _b, opts) => {
      sent = opts
      bundleSent = await readFile(String(opts.provenanceFile), 'utf8')
      return { stageId: '0B0C4A5E-8A7D-4A8E-9B1C-2D3E4F5A6B7C' }
    })
    expect(bundleSent).toBe('{"bundle":1}')
    expect(r).toEqual({ ok: true, stageId: '0b0c4a5e-8a7d-4a8e-9b1c-2d3e4f5a6b7c' })
    expect(sent).toMatchObject({ stage: true, npmCommand: 'stage', registry: url, defaultTag: 'latest' })
    expect(sent).not.toHaveProperty('otp')
    expect(sent).not.toHaveProperty('provenance')
  })

  it('409 is a value; a registry without the route is ENOSTAGE; an answer without a valid stage id is EBACKEND', async () => {
    const failing = (statusCode: number) => () => Promise.reject(Object.assign(new Error('x'), { statusCode, code: `E${statusCode}`, body: { error: 'already staged' } }))
    expect(await stageOnRegistry(input(), failing(409))).toEqual({ ok: false, reason: 'exists', message: 'already staged' })
    await expect(stageOnRegistry(input(), failing(405))).rejects.toMatchObject({ code: 'ENOSTAGE' })
    await expect(stageOnRegistry(input(), () => Promise.resolve({ stageId: '../../x' }))).rejects.toMatchObject({ code: 'EBACKEND' })
  })
})
