/**
 * One approval, in-process (prepareApproval → publishApproved, src/flows/approve-one.ts), against the
 * memory backend and a fake registry: what is published, what the record becomes, and how a crash
 * between the publish and the mark is recovered without publishing twice.
 */
import os from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { prepareApproval, publishApproved, type Ready } from '../../src/flows/approve-one.js'
import type { OtpSession } from '../../src/flows/otp.js'
import { harness, MINUTE, rejection, type Harness, type Staged } from '../support/flow-harness.js'

let h: Harness
afterEach(async () => {
  await h?.close()
})

const CODE = '123456'
/** A pid that cannot be running: above the largest pid Linux hands out (2^22). */
const GONE_PID = 4_194_305

async function ready(staged: Staged): Promise<Ready> {
  const prepared = await prepareApproval(staged.current, h.ctx)
  if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
  return prepared.ready
}

const session = (code = CODE): OtpSession => ({ code, accepted: false })

describe('approving one release', () => {
  it('publishes the verified bytes once, with the code, and marks the record approved by the registry user', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    const finished = await publishApproved(await ready(staged), session(), h.ctx)

    expect(h.registry.calls).toEqual([expect.objectContaining({ name: 'lib-a', version: '1.0.0', otp: CODE, authType: 'legacy', registry: h.registry.url, token: h.registry.token, integrity: staged.current.record.integrity, answer: 'ok' })])
    expect(finished.how).toMatchObject({ alreadyApproved: false })
    const stored = await h.record(staged.id)
    expect(stored).toMatchObject({ state: 'approved', approvedBy: 'alice', approvedAt: h.clock.now().toISOString() })
    expect(stored.claim).toBeUndefined()
    // The approver's identity and the "already published?" check came from the registry.
    expect(h.registry.requests).toEqual(expect.arrayContaining(['GET /-/whoami', 'GET /lib-a']))
  })

  it('does nothing for a release already approved', async () => {
    h = await harness()
    const staged = await h.stage('lib-a', '1.0.0')
    const approved = { ...staged.current.record, state: 'approved' as const, approvedBy: 'bob', approvedAt: h.clock.now().toISOString() }
    const res = await h.backend.updateRecord(approved, staged.current.etag)
    const prepared = await prepareApproval({ record: approved, etag: res.updated ? res.etag : '' }, h.ctx)
    expect(prepared).toEqual({ done: { record: approved, how: { alreadyApproved: true } } })
    expect(h.registry.calls).toEqual([])
  })

  it('refuses a rejected or an expired release before reading its bytes', async () => {
    h = await harness()
    const staged = await h.stage('lib-a', '1.0.0')
    const rejected = { ...staged.current.record, state: 'rejected' as const, rejectedBy: 'bob', rejectedAt: h.clock.now().toISOString() }
    expect((await rejection(prepareApproval({ record: rejected, etag: 'x' }, h.ctx))).code).toBe('ESTATE')
    h.clock.advance(8 * 24 * 60 * MINUTE)
    expect((await rejection(prepareApproval(staged.current, h.ctx))).code).toBe('EEXPIRED')
    expect(h.registry.calls).toEqual([])
  })

  it('refuses bytes changed after staging, and an approver who is not logged in, before anything is asked', async () => {
    h = await harness()
    const staged = await h.stage('lib-a', '1.0.0')
    const other = await h.stage('lib-b', '1.0.0')
    h.backend.raw.tarballs.set(staged.id, other.bytes)
    expect((await rejection(prepareApproval(staged.current, h.ctx))).code).toBe('EINTEGRITY')
    h.ctx.conf = { ...h.ctx.conf, hasCredentials: () => false }
    expect((await rejection(prepareApproval(other.current, h.ctx))).code).toBe('ENEEDAUTH')
    expect(h.prompts.asked).toEqual([])
    expect(h.registry.calls).toEqual([])
  })

  it('refuses a version the registry already has with other bytes, and publishes nothing', async () => {
    h = await harness()
    const staged = await h.stage('lib-a', '1.0.0')
    h.registry.publish('lib-a', '1.0.0', Buffer.from('other bytes'))
    const err = await rejection(prepareApproval(staged.current, h.ctx))
    expect(err.code).toBe('EPUBLISHCONFLICT')
    expect(h.registry.calls).toEqual([])
    expect((await h.record(staged.id)).state).toBe('pending')
  })

  it('puts the release back to pending when the publish fails for another reason', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    const r = await ready(staged)
    h.registry.failNext.set('lib-a', Object.assign(new Error('boom'), { code: 'E500', statusCode: 500 }))
    expect((await rejection(publishApproved(r, session(), h.ctx))).code).toBe('EREGISTRY')
    const stored = await h.record(staged.id)
    expect(stored.state).toBe('pending')
    expect(stored.claim).toBeUndefined()
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['E500'])
  })

  it('takes E409 for the same bytes as "published meanwhile": marked approved, not sent again', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    const r = await ready(staged)
    // Someone published these very bytes after the check in prepareApproval.
    h.registry.publish('lib-a', '1.0.0', staged.bytes)
    const finished = await publishApproved(r, session(), h.ctx)
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['E409'])
    expect(finished.how).toEqual({ alreadyApproved: false, alreadyPublished: true })
    expect(await h.record(staged.id)).toMatchObject({ state: 'approved', approvedBy: 'alice' })
  })

  it('takes E409 for other bytes as a conflict, and puts the release back to pending', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    const r = await ready(staged)
    h.registry.publish('lib-a', '1.0.0', Buffer.from('not the staged bytes'))
    expect((await rejection(publishApproved(r, session(), h.ctx))).code).toBe('EPUBLISHCONFLICT')
    expect((await h.record(staged.id)).state).toBe('pending')
  })
})

describe('a crash between the publish and the mark', () => {
  /** Publishes, then fails every write that would mark the record approved (the process "dies" there). */
  async function publishThenCrash(staged: Staged): Promise<void> {
    const r = await ready(staged)
    const crashing = {
      ...h.backend,
      updateRecord: async (...args: Parameters<typeof h.backend.updateRecord>) => {
        if (args[0].state === 'approved') throw Object.assign(new Error('killed'), { code: 'EKILLED' })
        return h.backend.updateRecord(...args)
      },
    }
    const err = await rejection(publishApproved(r, session(), { ...h.ctx, backend: crashing }))
    expect(err.code).toBe('EKILLED')
  }

  it('leaves the claim; once it is stale the next approval sees the same bytes published and marks it, without publishing again', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    await publishThenCrash(staged)
    const left = await h.backend.getRecord(staged.id)
    expect(left?.record).toMatchObject({ state: 'approving', claim: { by: 'alice', host: os.hostname(), pid: process.pid } })
    expect(h.registry.calls).toHaveLength(1)

    h.clock.advance(11 * MINUTE)
    const prepared = await prepareApproval(left as NonNullable<typeof left>, h.ctx)
    expect(prepared).toMatchObject({ done: { how: { alreadyApproved: false, alreadyPublished: true } } })
    expect(h.registry.calls).toHaveLength(1)
    const stored = await h.record(staged.id)
    expect(stored).toMatchObject({ state: 'approved', approvedBy: 'alice', approvedAt: h.clock.now().toISOString() })
    expect(stored.claim).toBeUndefined()
    expect(h.stderr()).toContain('already on')
  })

  it('takes over at once the claim of a process of ours that is gone, and marks it without publishing again', async () => {
    h = await harness({ registry: { codes: [CODE] } })
    const staged = await h.stage('lib-a', '1.0.0')
    await publishThenCrash(staged)
    // The process that held the claim was killed: its pid is gone.
    const left = (await h.backend.getRecord(staged.id)) as NonNullable<Awaited<ReturnType<typeof h.backend.getRecord>>>
    const dead = { ...left.record, claim: { ...left.record.claim, by: 'alice', at: h.clock.now().toISOString(), host: os.hostname(), pid: GONE_PID } }
    const etag = h.backend.raw.writeRecord(staged.id, `${JSON.stringify(dead)}\n`)
    const prepared = await prepareApproval({ record: dead, etag }, h.ctx)
    expect(prepared).toMatchObject({ done: { how: { alreadyPublished: true } } })
    expect(h.stderr()).toContain(`Taking over lib-a@1.0.0: your earlier approval on this host (pid ${GONE_PID}) is no longer running`)
    expect(h.registry.calls).toHaveLength(1)
    expect((await h.record(staged.id)).state).toBe('approved')
  })
})
