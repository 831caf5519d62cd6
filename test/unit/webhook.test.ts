/**
 * One webhook delivery (src/notify/webhook.ts) against real local HTTP servers: the signature is the
 * HMAC of the exact bytes sent, a redirect is not followed (the body and signature go to the named
 * host only), and a receiver that hangs before or after its status line costs at most the timeout.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { postWebhook, signBody, webhookHost } from '../../src/notify/webhook.js'
import { verify } from '../support/webhook-receiver.js'

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) => void
const servers: Array<{ server: http.Server; sockets: Set<Socket> }> = []

async function serve(handler: Handler): Promise<{ url: string; hits: Buffer[] }> {
  const hits: Buffer[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      hits.push(raw)
      handler(req, res, raw)
    })
  })
  server.on('connection', (s: Socket) => sockets.add(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push({ server, sockets })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => server.close(() => r()))
  }
})

const body = Buffer.from('{"event":"staged","text":"é ✓"}')

describe('postWebhook', () => {
  it('signs the exact bytes it sends', async () => {
    let headers: http.IncomingHttpHeaders = {}
    const s = await serve((req, res) => {
      headers = req.headers
      res.end('ok')
    })
    expect(await postWebhook({ url: new URL(`${s.url}/x`), secret: 'k', timeoutMs: 2000 }, 'staged', body)).toEqual({ ok: true, status: 200 })
    expect(s.hits[0]?.equals(body)).toBe(true)
    expect(verify({ headers, raw: s.hits[0] as Buffer }, 'k')).toBe(true)
    expect(headers['x-stage-publish-signature-256']).toBe(signBody('k', body))
    expect(headers['x-stage-publish-event']).toBe('staged')
  })

  it('does not follow a redirect: the other host gets nothing', async () => {
    const elsewhere = await serve((_req, res) => res.end('ok'))
    const s = await serve((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/steal` })
      res.end()
    })
    expect(await postWebhook({ url: new URL(s.url), secret: 'k', timeoutMs: 2000 }, 'staged', body)).toEqual({ ok: false, why: 'it answered HTTP 307' })
    expect(elsewhere.hits).toHaveLength(0)
  })

  it('a receiver that never answers, or never finishes its answer, costs at most the timeout', async () => {
    const silent = await serve(() => undefined)
    let t = Date.now()
    expect(await postWebhook({ url: new URL(silent.url), timeoutMs: 300 }, 'staged', body)).toEqual({ ok: false, why: 'no answer within 0.3s' })
    expect(Date.now() - t).toBeLessThan(1500)

    const dribble = await serve((_req, res) => {
      res.writeHead(200)
      res.write('partial')
    })
    t = Date.now()
    expect(await postWebhook({ url: new URL(dribble.url), timeoutMs: 300 }, 'staged', body)).toEqual({ ok: true, status: 200 })
    expect(Date.now() - t).toBeLessThan(1500)
  })

  it('names the host only, and refuses schemes other than http(s)', async () => {
    expect(webhookHost(new URL('https://user:pw@hooks.slack.com/services/T0/B0/secret?token=x'))).toBe('hooks.slack.com')
    expect(await postWebhook({ url: new URL('file:///etc/passwd'), timeoutMs: 100 }, 'staged', body)).toEqual({ ok: false, why: 'file URLs are not supported (use https)' })
  })
})
