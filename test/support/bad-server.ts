/**
 * Servers on 127.0.0.1 that are not what the client hoped for, to test that every network call ends:
 *   silent  accepts connections and never answers (a hung registry, proxy or bucket)
 *   html    answers every request with 200 and an HTML page (a web server, a captive portal)
 *   garbage answers every request with 200, content-type application/json, and a body that is not JSON
 *   plain   a plain web server (python -m http.server): GET is 404 with an HTML page, other methods 501
 * `requests` counts what reached it (publish retries show up there).
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'

export interface BadServer {
  /** `http://127.0.0.1:PORT/` */
  url: string
  /** `127.0.0.1:PORT` */
  host: string
  /** Requests (silent: connections) received, in order. */
  readonly requests: Array<{ method: string; path: string }>
  stop(): Promise<void>
}

export async function startBadServer(kind: 'silent' | 'html' | 'garbage' | 'plain'): Promise<BadServer> {
  const requests: Array<{ method: string; path: string }> = []
  const sockets = new Set<net.Socket>()
  const server =
    kind === 'silent'
      ? net.createServer((socket) => {
          requests.push({ method: 'CONNECT', path: '' })
          socket.on('error', () => undefined)
          // Reads whatever comes and never writes a byte back.
          socket.resume()
        })
      : http.createServer((req, res) => {
          requests.push({ method: req.method ?? '', path: req.url ?? '' })
          req.resume()
          req.on('end', () => {
            if (kind === 'plain') {
              res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 501, { 'content-type': 'text/html; charset=utf-8' })
              res.end('<!DOCTYPE HTML><html><body><h1>Error response</h1><p>Nothing here.</p></body></html>\n')
            } else if (kind === 'html') {
              res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
              res.end('<!doctype html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n')
            } else {
              res.writeHead(200, { 'content-type': 'application/json' })
              res.end('{"name": "half a document",')
            }
          })
        })
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let stopped: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}/`,
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })),
  }
}
