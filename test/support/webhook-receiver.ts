/**
 * A webhook receiver on 127.0.0.1 for the notification tests: it records every delivery with the exact
 * bytes received, and can answer 200, answer 500, or hang (accept and never answer).
 * `verify` checks a delivery as a receiver should: HMAC-SHA256 over the raw body, compared in constant
 * time with the `x-stage-publish-signature-256` header, before the body is trusted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Delivery {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  raw: Buffer
  body: Record<string, unknown>
  at: number
}

export interface Receiver {
  /** `http://127.0.0.1:PORT` (no trailing slash): add a path. */
  origin: string
  /** `127.0.0.1:PORT`: all a warning may name. */
  host: string
  deliveries: Delivery[]
  /** The deliveries of one event, in order. */
  events(name: string): Delivery[]
  stop(): Promise<void>
}

export type Answer = 'ok' | 'status500' | 'hang'

export async function startReceiver(answer: Answer = 'ok'): Promise<Receiver> {
  const deliveries: Delivery[] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      let body: Record<string, unknown> = {}
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
      } catch {
        body = {}
      }
      deliveries.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body, at: Date.now() })
      if (answer === 'hang') return
      res.writeHead(answer === 'ok' ? 200 : 500, { 'content-type': 'text/plain' })
      res.end(answer === 'ok' ? 'ok' : 'internal error')
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    deliveries,
    events: (name) => deliveries.filter((d) => d.body.event === name),
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** True when the delivery's signature header is the HMAC-SHA256 of its raw body under `secret`. */
export function verify(delivery: Pick<Delivery, 'headers' | 'raw'>, secret: string): boolean {
  const header = delivery.headers['x-stage-publish-signature-256']
  if (typeof header !== 'string') return false
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(delivery.raw).digest('hex')}`)
  const got = Buffer.from(header)
  return got.length === expected.length && timingSafeEqual(got, expected)
}
