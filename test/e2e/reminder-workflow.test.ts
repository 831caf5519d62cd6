/**
 * The example reminder workflow (examples/stage-publish-reminders.yml) runs as written: its list step
 * (with the built binary in place of `npx stage-publish`) and its post step (bash, jq, openssl, curl)
 * against a local receiver that checks the HMAC signature the way a receiver of our webhooks would.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { serializeRecord } from '../../src/core/record.js'
import { pendingRecord } from '../support/record-factory.mjs'
import { BIN, ROOT, run, sandbox } from '../support/cli.js'

const DAY = 86_400_000

/** The `run:` block of the named step, as the runner would execute it. */
async function stepScript(stepName: string): Promise<string> {
  const lines = (await fs.readFile(path.join(ROOT, 'examples', 'stage-publish-reminders.yml'), 'utf8')).split('\n')
  const start = lines.findIndex((l) => l.trim() === `- name: ${stepName}`)
  expect(start, stepName).toBeGreaterThan(0)
  const runAt = lines.findIndex((l, i) => i > start && /^\s+run: /.test(l))
  const first = lines[runAt]!
  if (!first.trim().endsWith('|')) return first.replace(/^\s+run: /, '')
  const body: string[] = []
  for (const l of lines.slice(runAt + 1)) {
    if (l.trim() && !/^ {10}/.test(l)) break
    body.push(l.slice(10))
  }
  return body.join('\n')
}

interface Received {
  body: string
  signature: string | undefined
}

async function receiver(): Promise<{ url: string; received: Received[]; stop: () => Promise<void> }> {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-stage-publish-signature-256'] as string | undefined })
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, stop: () => new Promise((resolve) => server.close(() => resolve())) }
}

describe('the example reminder workflow', () => {
  it('posts the releases waiting more than 2 days, signed with HMAC-SHA256, with a text for Slack; nothing when none waits', async () => {
    const sb = await sandbox()
    const records = path.join(sb.store, 'records')
    await fs.mkdir(records, { recursive: true })
    const old = pendingRecord(Buffer.from(randomUUID()), { packageName: 'slow-lib', version: '2.1.0', createdAt: new Date(Date.now() - 3 * DAY).toISOString(), expiresAt: new Date(Date.now() + 20 * DAY).toISOString() })
    const fresh = pendingRecord(Buffer.from(randomUUID()), { packageName: 'fresh-lib', createdAt: new Date(Date.now() - 3_600_000).toISOString() })
    for (const r of [old, fresh]) await fs.writeFile(path.join(records, `${r.id}.json`), serializeRecord(r))

    const list = (await stepScript('List releases waiting more than 2 days')).replace('npx --yes stage-publish', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`)
    const post = await stepScript('Post them to the webhook')
    const hook = await receiver()
    const secret = `whsec-${randomUUID()}`
    try {
      const env = { STAGE_PUBLISH_BACKEND: sb.backend, STAGE_PUBLISH_WEBHOOK_URL: hook.url, STAGE_PUBLISH_WEBHOOK_SECRET: secret, GITHUB_REPOSITORY: 'acme/lib' }
      const listed = await run('bash', ['-eo', 'pipefail', '-c', list], { cwd: sb.dir, env: { ...sb.env, ...env } })
      expect(listed.code, listed.all).toBe(0)
      const posted = await run('bash', ['-eo', 'pipefail', '-c', post], { cwd: sb.dir, env: { ...sb.env, ...env } })
      expect(posted.code, posted.all).toBe(0)
      expect(hook.received).toHaveLength(1)
      const [got] = hook.received
      const expected = `sha256=${createHmac('sha256', secret).update(got!.body).digest('hex')}`
      expect(timingSafeEqual(Buffer.from(got!.signature ?? ''), Buffer.from(expected))).toBe(true)
      const body = JSON.parse(got!.body) as { event: string; text: string; releases: Array<{ id: string }> }
      expect(body.event).toBe('reminder')
      expect(body.text).toContain('1 staged release(s) of acme/lib waiting more than 2 days')
      expect(body.text).toContain(`slow-lib@2.1.0 (${old.id.slice(0, 8)}`)
      expect(body.releases.map((r) => r.id)).toEqual([old.id])
      expect(posted.all).not.toContain(secret)

      // Nothing waits that long: no post.
      await fs.rm(path.join(records, `${old.id}.json`))
      expect((await run('bash', ['-eo', 'pipefail', '-c', list], { cwd: sb.dir, env: { ...sb.env, ...env } })).code).toBe(0)
      const quiet = await run('bash', ['-eo', 'pipefail', '-c', post], { cwd: sb.dir, env: { ...sb.env, ...env } })
      expect(quiet.code, quiet.all).toBe(0)
      expect(quiet.stdout).toContain('Nothing waits longer than 2 days.')
      expect(hook.received).toHaveLength(1)
    } finally {
      await hook.stop()
    }
  })
})
