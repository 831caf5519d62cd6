/**
 * Webhook notifications from the real CLI to a receiver on this machine: signed events for staged,
 * approved (against the suite's Verdaccio with TOTP) and rejected, `expired` exactly once, whose
 * package.json names the webhook, and receivers that hang or fail: a warning naming the host only,
 * exit 0, within seconds. The URL's path and the secret are secrets (a Slack webhook's path is its
 * credential): neither may appear in anything the CLI prints.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, sandbox, uniqueName, type CliResult, type Sandbox } from '../support/cli.js'
import { startReceiver, verify, type Receiver } from '../support/webhook-receiver.js'

let registry: TestRegistry
const receivers: Receiver[] = []

beforeAll(async () => {
  registry = await sharedRegistry()
})

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()))
})

async function receiver(answer: Parameters<typeof startReceiver>[0] = 'ok'): Promise<Receiver> {
  const r = await startReceiver(answer)
  receivers.push(r)
  return r
}

const SECRET = 'whsec-0123456789abcdef-do-not-print'
const SLACK_PATH = '/services/T0SECRET/B0SECRET/XXXXsecretpathXXXX'

/** The webhook environment, as a CI job or an approver would set it. */
const hookEnv = (r: Receiver, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  STAGE_PUBLISH_WEBHOOK_URL: `${r.origin}${SLACK_PATH}?token=querysecret`,
  STAGE_PUBLISH_WEBHOOK_SECRET: SECRET,
  ...extra,
})

function expectNoSecret(...results: CliResult[]): void {
  for (const r of results) {
    for (const secret of [SECRET, 'T0SECRET', 'secretpath', 'querysecret']) expect(r.all).not.toContain(secret)
  }
}

async function stage(sb: Sandbox, env: NodeJS.ProcessEnv, extra: string[] = [], manifest: Record<string, unknown> = {}): Promise<{ id: string; name: string; pkg: string; result: CliResult }> {
  const name = uniqueName('hook')
  const pkg = await sb.makePackage(name, { version: '1.0.0', ...manifest })
  const result = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url, ...extra], { cwd: pkg, env })
  expect(result.code, result.all).toBe(0)
  return { id: parseJson<{ id: string }>(result.stdout).id, name, pkg, result }
}

async function approver(sb: Sandbox, dir = path.join(sb.dir, 'approver')) {
  const user = await registry.createUser()
  const npmrc = await user.writeNpmrc(dir, registry.url)
  return { user, env: { NPM_CONFIG_USERCONFIG: npmrc } }
}

describe('signed webhook events', () => {
  it('staged, approved and rejected reach the receiver, signed over the exact bytes', async () => {
    const hook = await receiver()
    const sb = await sandbox()
    const a = await stage(sb, hookEnv(hook))
    const b = await stage(sb, hookEnv(hook))
    const { user, env } = await approver(sb)
    const approve = await sb.run(['approve', a.id, '--yes', '--otp', await user.otp(), '--backend', sb.backend], { env: { ...env, ...hookEnv(hook) } })
    expect(approve.code, approve.all).toBe(0)
    const reject = await sb.run(['reject', b.id, '--yes', '--reason', 'not this one', '--backend', sb.backend], { env: hookEnv(hook) })
    expect(reject.code, reject.all).toBe(0)

    expect(hook.deliveries.map((d) => d.body.event)).toEqual(['staged', 'staged', 'approved', 'rejected'])
    for (const d of hook.deliveries) {
      expect(d.method).toBe('POST')
      expect(d.path).toBe(`${SLACK_PATH}?token=querysecret`)
      expect(d.headers['content-type']).toBe('application/json')
      expect(d.headers['x-stage-publish-event']).toBe(d.body.event)
      expect(verify(d, SECRET)).toBe(true)
      // One byte changed, or another key: the check fails (a receiver would refuse it).
      expect(verify({ headers: d.headers, raw: Buffer.concat([d.raw, Buffer.from(' ')]) }, SECRET)).toBe(false)
      expect(verify(d, `${SECRET}x`)).toBe(false)
      // Slack's incoming webhooks need `text`.
      expect(typeof d.body.text).toBe('string')
    }
    const [stagedA, , approved, rejected] = hook.deliveries.map((d) => d.body)
    expect(stagedA).toMatchObject({ schema: 1, event: 'staged', setId: null, approveCommand: `npx stage-publish approve ${a.id} --backend ${sb.backend}` })
    expect(stagedA?.releases).toEqual([
      expect.objectContaining({ id: a.id, name: a.name, version: '1.0.0', review: expect.objectContaining({ danger: 0 }) as unknown }),
    ])
    expect(stagedA?.text).toContain(`${a.name}@1.0.0 staged by`)
    expect(stagedA?.text).toContain(`npx stage-publish approve ${a.id}`)
    expect(approved).toMatchObject({ event: 'approved', by: user.name })
    expect(approved?.releases).toEqual([expect.objectContaining({ id: a.id, name: a.name, review: expect.objectContaining({ danger: 0 }) as unknown })])
    expect(rejected).toMatchObject({ event: 'rejected', reason: 'not this one' })
    expect(rejected?.releases).toEqual([expect.objectContaining({ id: b.id, name: b.name })])
    expectNoSecret(a.result, b.result, approve, reject)
  })

  it('no secret: no signature header, the same body', async () => {
    const hook = await receiver()
    const sb = await sandbox()
    await stage(sb, { STAGE_PUBLISH_WEBHOOK_URL: `${hook.origin}/hook` })
    expect(hook.deliveries).toHaveLength(1)
    expect(hook.deliveries[0]?.headers).not.toHaveProperty('x-stage-publish-signature-256')
    expect(hook.deliveries[0]?.body.event).toBe('staged')
  })

  it('expired fires once, whoever meets it first, however often it is met', async () => {
    const hook = await receiver()
    const sb = await sandbox()
    const { id } = await stage(sb, hookEnv(hook), ['--expires-in', '1s'])
    await new Promise((r) => setTimeout(r, 1200))
    const args = ['approve', id, '--yes', '--otp', '123456', '--backend', sb.backend]
    // Two approvers at once, then one more: each is refused, one event goes out.
    const runs = await Promise.all([sb.run(args, { env: hookEnv(hook) }), sb.run(args, { env: hookEnv(hook) })])
    runs.push(await sb.run(args, { env: hookEnv(hook) }))
    for (const r of runs) {
      expect(r.code, r.all).toBe(1)
      expect(r.stderr).toContain('EEXPIRED')
    }
    const expired = hook.events('expired')
    expect(expired).toHaveLength(1)
    expect(verify(expired[0] as (typeof expired)[number], SECRET)).toBe(true)
    expect(expired[0]?.body).toMatchObject({ event: 'expired', by: null })
    expect(expired[0]?.body.releases).toEqual([expect.objectContaining({ id })])
    const record = JSON.parse(await fs.readFile(path.join(sb.store, 'records', `${id}.json`), 'utf8')) as Record<string, unknown>
    expect(record.state).toBe('pending')
    expect(record.expiryNotifiedAt).toEqual(expect.any(String))
    expectNoSecret(...runs)
  })

  it("package.json stagePublish.notify.webhook of the project the command runs in, never the staged package's", async () => {
    const ciHook = await receiver()
    const approverHook = await receiver()
    const sb = await sandbox()
    // The package names a webhook in its own package.json: the CI checkout staging it is that project.
    const a = await stage(sb, {}, [], { stagePublish: { notify: { webhook: `${ciHook.origin}/ci` } } })
    expect(ciHook.events('staged')).toHaveLength(1)
    // The approver works in their own project, which names another webhook.
    const project = path.join(sb.dir, 'maintainer-project')
    await fs.mkdir(project, { recursive: true })
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'tools', private: true, stagePublish: { notify: { webhook: `${approverHook.origin}/maintainers` } } }))
    const { user, env } = await approver(sb)
    const approve = await sb.run(['approve', a.id, '--yes', '--otp', await user.otp(), '--backend', sb.backend], { cwd: project, env })
    expect(approve.code, approve.all).toBe(0)
    expect(approverHook.deliveries.map((d) => [d.path, d.body.event])).toEqual([['/maintainers', 'approved']])
    expect(ciHook.deliveries.map((d) => d.body.event)).toEqual(['staged'])
  })
})

describe('a receiver that fails costs a warning and a few seconds, never the command', () => {
  const warned = (r: CliResult, hook: Receiver, event: string, why: string | RegExp): void => {
    const line = r.stderr.split('\n').find((l) => l.includes('could not notify'))
    expect(line, r.all).toBeDefined()
    expect(line).toContain(`could not notify the webhook at ${hook.host} of ${event}: `)
    expect(line).toMatch(why)
  }

  it('hangs: staging and rejecting finish after the timeout (default 5s) with a warning', async () => {
    const hook = await receiver('hang')
    const sb = await sandbox()
    const started = Date.now()
    const { id, result } = await stage(sb, hookEnv(hook))
    const took = Date.now() - started
    expect(hook.deliveries).toHaveLength(1)
    expect(took).toBeGreaterThanOrEqual(5000)
    expect(took).toBeLessThan(15_000)
    warned(result, hook, 'staged', /no answer within 5s\. Nothing else is affected\./)

    const t2 = Date.now()
    const reject = await sb.run(['reject', id, '--yes', '--backend', sb.backend], { env: hookEnv(hook, { STAGE_PUBLISH_WEBHOOK_TIMEOUT: '1s' }) })
    expect(reject.code, reject.all).toBe(0)
    expect(Date.now() - t2).toBeLessThan(8000)
    warned(reject, hook, 'rejected', /no answer within 1s/)
    expect(reject.stdout).toContain('rejected')
    expectNoSecret(result, reject)
  })

  it('answers 500, or is not there: the approval publishes, exit 0, a warning', async () => {
    const failing = await receiver('status500')
    const sb = await sandbox()
    const { id, name } = await stage(sb, hookEnv(failing))
    const { user, env } = await approver(sb)
    const approve = await sb.run(['approve', id, '--yes', '--otp', await user.otp(), '--backend', sb.backend], { env: { ...env, ...hookEnv(failing) } })
    expect(approve.code, approve.all).toBe(0)
    expect(approve.stdout.trim()).toBe(`+ ${name}@1.0.0`)
    warned(approve, failing, 'approved', /it answered HTTP 500/)
    expect(failing.events('approved')).toHaveLength(1)

    // Nobody listening: the port of a receiver that stopped.
    const gone = await receiver()
    await gone.stop()
    const again = await stage(sb, hookEnv(gone))
    warned(again.result, gone, 'staged', /the request failed \(ECONNREFUSED\)/)
    expectNoSecret(approve, again.result)
  })

  it('a webhook setting that is not an http(s) URL is a warning, and is not echoed', async () => {
    const sb = await sandbox()
    const { result } = await stage(sb, { STAGE_PUBLISH_WEBHOOK_URL: 'file:///etc/T0SECRET' })
    expect(result.stderr).toContain('STAGE_PUBLISH_WEBHOOK_URL is not an http(s) URL; no notification is sent')
    expectNoSecret(result)
  })
})
