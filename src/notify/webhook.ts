/**
 * One webhook delivery: POST the JSON body, signed when a secret is set, within a bounded time.
 * GitHub's webhook convention: `x-stage-publish-signature-256: sha256=<hex HMAC-SHA256 of the exact
 * body bytes>`, so a receiver checks the bytes it read before parsing them.
 * Never throws and never prints: the caller gets what happened as a value and warns. The URL is a
 * secret (a Slack incoming webhook's path is its credential): only its host is ever named.
 * No redirect is followed (a 3xx is a failure), so the body and signature go to that host only.
 */
import { createHmac, randomUUID } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'

export interface WebhookTarget {
  url: URL
  /** STAGE_PUBLISH_WEBHOOK_SECRET: the HMAC key. */
  secret?: string
  /** The whole delivery (DNS, connect, send, status line) must fit in this. */
  timeoutMs: number
}

export type Delivery = { ok: true; status: number } | { ok: false; why: string }

export const SIGNATURE_HEADER = 'x-stage-publish-signature-256'

export const signBody = (secret: string, body: Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

/** How a webhook is named in messages: its host (and port), never its path, query or credentials. */
export const webhookHost = (url: URL): string => url.host

export function postWebhook(target: WebhookTarget, event: string, body: Buffer): Promise<Delivery> {
  const { url } = target
  const send = url.protocol === 'https:' ? https.request : url.protocol === 'http:' ? http.request : undefined
  if (!send) return Promise.resolve({ ok: false, why: `${url.protocol.replace(/:$/, '')} URLs are not supported (use https)` })
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'stage-publish',
    'x-stage-publish-event': event,
    'x-stage-publish-delivery': randomUUID(),
    ...(target.secret && { [SIGNATURE_HEADER]: signBody(target.secret, body) }),
  }
  return new Promise((resolve) => {
    let settled = false
    const done = (d: Delivery): void => {
      if (settled) return
      settled = true
      resolve(d)
    }
    // No pooled socket (agent: false): nothing outlives the delivery, so the command exits when it is done.
    const req = send(url, { method: 'POST', headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0
      res.on('error', () => undefined)
      res.on('end', () => {
        clearTimeout(timer)
        req.destroy()
      })
      // The answer's body is not needed; read it so the connection can close, within the same deadline.
      res.resume()
      done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, why: `it answered HTTP ${status}` })
    })
    const timer = setTimeout(() => {
      done({ ok: false, why: `no answer within ${Math.round(target.timeoutMs / 100) / 10}s` })
      req.destroy()
    }, target.timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // The code only (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED...): a message could quote the URL.
      done({ ok: false, why: err.code ? `the request failed (${err.code})` : 'the request failed' })
    })
    req.end(body)
  })
}
