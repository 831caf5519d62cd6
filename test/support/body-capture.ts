/**
 * A forwarding proxy that keeps the JSON body of every write it passes to a registry, so a test can
 * assert exactly what a publish sent (the `_attachments` libnpmpublish built), and what the registry
 * answered. node:http only; bodies are kept as parsed JSON (null when not JSON).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface CapturedWrite {
  method: string
  path: string
  body: unknown
  status?: number
  answer?: string
}

export interface BodyCapture {
  url: string
  writes: CapturedWrite[]
  close(): Promise<void>
}

export async function captureBodies(registryUrl: string): Promise<BodyCapture> {
  const target = new URL(registryUrl)
  const writes: CapturedWrite[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const write: CapturedWrite | undefined = req.method === 'GET' || req.method === 'HEAD' ? undefined : { method: req.method ?? '', path: req.url ?? '', body: parse(raw) }
      if (write) writes.push(write)
      const headers = { ...req.headers, host: target.host }
      const up = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
        const out: Buffer[] = []
        answer.on('data', (c: Buffer) => out.push(c))
        answer.on('end', () => {
          if (write) {
            write.status = answer.statusCode
            write.answer = Buffer.concat(out).toString('utf8')
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          res.end(Buffer.concat(out))
        })
      })
      up.on('error', () => {
        res.writeHead(502)
        res.end()
      })
      up.end(raw)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    writes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function parse(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    return null
  }
}
