/**
 * Webhook events from the approval flows in-process (memory backend, fake registry, a real HTTP
 * receiver): a batch or release set is one `approved` event listing what this run published, and
 * `expired` goes out once, marked on the record by compare-and-set, and only when a webhook is set.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { approveBatch } from '../../src/flows/approve-batch.js'
import { prepareApproval } from '../../src/flows/approve-one.js'
import { waitOn } from '../../src/flows/wait.js'
import { harness, MINUTE, rejection, scriptedPrompts, START, type Harness } from '../support/flow-harness.js'
import { startReceiver, verify, type Receiver } from '../support/webhook-receiver.js'

let h: Harness
let hook: Receiver | undefined
afterEach(async () => {
  await h?.close()
  await hook?.stop()
  hook = undefined
})

describe('approved', () => {
  it('a release set approved in one run is one event, in publish order, with each review; already-approved ones are left out', async () => {
    hook = await startReceiver()
    h = await harness({ json: true, registry: { codes: ['111111'], replay: true }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111'] }) })
    Object.assign(h.ctx.deps.env, { STAGE_PUBLISH_WEBHOOK_URL: `${hook.origin}/hook`, STAGE_PUBLISH_WEBHOOK_SECRET: 's3cret' })
    const { setId, members } = await h.stageSet([
      { name: 'app', version: '2.0.0', manifest: { dependencies: { core: '^2.0.0' } } },
      { name: 'core', version: '2.0.0' },
    ])
    await approveBatch({ releases: members.map((m) => m.current), setId }, h.ctx)
    expect(hook.deliveries).toHaveLength(1)
    const [d] = hook.deliveries
    expect(d && verify(d, 's3cret')).toBe(true)
    expect(d?.body).toMatchObject({ event: 'approved', setId })
    const releases = d?.body.releases as Array<{ name: string; review: { danger: number } | null }>
    expect(releases.map((r) => r.name)).toEqual(['core', 'app'])
    expect(releases.every((r) => r.review && typeof r.review.danger === 'number')).toBe(true)

    // Approving the same set again publishes nothing and says nothing.
    await approveBatch({ releases: await Promise.all(members.map(async (m) => ({ record: await h.record(m.id), etag: (await h.backend.getRecord(m.id))?.etag ?? '' }))), setId }, h.ctx)
    expect(hook.deliveries).toHaveLength(1)
  })
})

describe('expired', () => {
  it('goes out once: the first to mark the record sends it', async () => {
    hook = await startReceiver()
    h = await harness()
    Object.assign(h.ctx.deps.env, { STAGE_PUBLISH_WEBHOOK_URL: `${hook.origin}/hook` })
    const { id, current } = await h.stage('lib', '1.0.0', {}, { expiresAt: new Date(START + MINUTE).toISOString() })
    h.clock.advance(2 * MINUTE)
    expect((await rejection(prepareApproval(current, h.ctx))).code).toBe('EEXPIRED')
    const marked = await h.record(id)
    expect(marked.expiryNotifiedAt).toBe(h.clock.now().toISOString())
    expect(marked.state).toBe('pending')
    // A second approver holding the record as it was before the mark: its compare-and-set loses, nothing is sent.
    expect((await rejection(prepareApproval(current, h.ctx))).code).toBe('EEXPIRED')
    const latest = await h.backend.getRecord(id)
    expect((await rejection(prepareApproval(latest ?? current, h.ctx))).code).toBe('EEXPIRED')
    expect(hook.events('expired')).toHaveLength(1)
    expect(hook.events('expired')[0]?.body.releases).toEqual([expect.objectContaining({ id, name: 'lib', version: '1.0.0', review: null })])
  })

  it('a wait that sees the release expire sends it (once, even for a second wait)', async () => {
    hook = await startReceiver()
    h = await harness()
    Object.assign(h.ctx.deps.env, { STAGE_PUBLISH_WEBHOOK_URL: `${hook.origin}/hook` })
    const { id } = await h.stage('lib', '1.0.0', {}, { expiresAt: new Date(START + MINUTE).toISOString() })
    h.clock.advance(2 * MINUTE)
    for (let i = 0; i < 2; i++) {
      const result = await waitOn(() => Promise.resolve(h.backend), id, { maxIntervalMs: 5 }, h.ctx.deps, h.ctx.out)
      expect(result).toMatchObject({ outcome: 'expired' })
    }
    expect(hook.events('expired')).toHaveLength(1)
    expect((await h.record(id)).expiryNotifiedAt).toBe(h.clock.now().toISOString())
  })

  it('without a webhook the record is not touched', async () => {
    h = await harness()
    const { id, current } = await h.stage('lib', '1.0.0', {}, { expiresAt: new Date(START + MINUTE).toISOString() })
    h.clock.advance(2 * MINUTE)
    expect((await rejection(prepareApproval(current, h.ctx))).code).toBe('EEXPIRED')
    expect((await h.backend.getRecord(id))?.etag).toBe(current.etag)
  })
})
