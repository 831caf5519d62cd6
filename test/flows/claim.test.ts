/**
 * The claim protocol (src/flows/claim.ts) on the memory backend, in-process: pending → approving →
 * approved by compare-and-set, waiting for another approver, taking over a stale claim (the clock is
 * injected) and a dead process's claim on this host, and giving a release back. A wait polls every
 * 250–500 ms of real time, so tests that wait run them side by side.
 */
import os from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import type { StagedRecord } from '../../src/core/record.js'
import type { Versioned } from '../../src/backends/types.js'
import { claim, markApproved, release, settleOthers, type Self } from '../../src/flows/claim.js'
import { prepareApproval, publishApproved } from '../../src/flows/approve-one.js'
import { harness, MINUTE, rejection, type Harness } from '../support/flow-harness.js'

let h: Harness
afterEach(async () => {
  await h?.close()
})

const GONE_PID = 4_194_305
const me: Self = { host: os.hostname(), pid: process.pid, identity: async () => 'alice' }
const timing = (waitMs = 0) => ({ claimTimeoutMs: 10 * MINUTE, waitMs })

/** Stages a release and has `by` claim it (on `host`, as process `pid`) at the clock's time. */
async function claimedBy(by: string, where: { host?: string; pid?: number } = { host: 'box-2', pid: 42 }, at = h.clock.now()): Promise<Versioned> {
  const staged = await h.stage('claim-lib', '1.0.0')
  const record: StagedRecord = { ...staged.current.record, state: 'approving', claim: { by, at: at.toISOString(), ...where } }
  const res = await h.backend.updateRecord(record, staged.current.etag)
  if (!res.updated) throw new Error('could not claim')
  return { record, etag: res.etag }
}

describe('claim', () => {
  it('takes a pending release: approving, with who, when, host and pid', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    const held = await claim(h.backend, staged.current, 'alice', timing(), h.ctx.deps, h.ctx.out, me)
    const expected = { by: 'alice', at: h.clock.now().toISOString(), host: os.hostname(), pid: process.pid }
    expect(held.record).toMatchObject({ state: 'approving', claim: expected })
    expect(await h.backend.getRecord(staged.id)).toEqual(held)
  })

  it('lets one of 8 approvers win; the others wait for it and give up with ECONFLICT', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    const approvers = Array.from({ length: 8 }, (_, i) => `approver-${i}`)
    const results = await Promise.allSettled(approvers.map((by) => claim(h.backend, staged.current, by, timing(), h.ctx.deps, h.ctx.out, { ...me, identity: async () => by })))
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    expect(won).toHaveLength(1)
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r).reason.code)).toEqual(Array(7).fill('ECONFLICT'))
    expect((await h.record(staged.id)).claim?.by).toBe(won[0]?.record.claim?.by)
  })

  it('re-reads and wins when the record changed but is still pending', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    // Someone claimed and gave it back: same content, another etag.
    const res = await h.backend.updateRecord({ ...staged.current.record, state: 'approving', claim: { by: 'bob', at: h.clock.now().toISOString() } }, staged.current.etag)
    await release(h.backend, { record: { ...staged.current.record, state: 'approving' }, etag: res.updated ? res.etag : '' })
    const held = await claim(h.backend, staged.current, 'alice', timing(), h.ctx.deps, h.ctx.out, me)
    expect(held.record.claim?.by).toBe('alice')
  })

  it('gives up with ECONFLICT when the record keeps changing', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    let writes = 0
    const busy = { ...h.backend, updateRecord: async () => (writes++, { updated: false as const, reason: 'conflict' as const }) }
    const err = await rejection(claim(busy, staged.current, 'alice', timing(), h.ctx.deps, h.ctx.out, me))
    expect(err.code).toBe('ECONFLICT')
    expect(err.message).toContain('keeps changing')
    expect(writes).toBe(20)
  })
})

describe('settleOthers: another approver holds the release', () => {
  it('waits, and reports their approval when they finish', async () => {
    h = await harness()
    const held = await claimedBy('bob')
    setTimeout(() => void markApproved(h.backend, held, 'bob', h.ctx.deps, timing(), h.ctx.out), 50)
    const settled = await settleOthers(h.backend, held, timing(5000), h.ctx.deps, h.ctx.out, me)
    expect(settled.record).toMatchObject({ state: 'approved', approvedBy: 'bob' })
    expect(h.stderr()).toContain('bob is approving claim-lib@1.0.0 right now; waiting for them to finish...')
  })

  it('gives up after --wait with ECONFLICT that says who, where, since when, and what to do', async () => {
    h = await harness()
    const held = await claimedBy('bob', { host: 'box-2', pid: 42 })
    const err = await rejection(settleOthers(h.backend, held, timing(0), h.ctx.deps, h.ctx.out, me))
    expect(err.code).toBe('ECONFLICT')
    expect(err.message).toMatch(/is being approved by bob on box-2 \(pid 42\) since /)
    expect(err.hint).toContain('--wait <duration>')
    expect(err.hint).toContain('older than 10 min')
    expect((await h.record(held.record.id)).claim?.by).toBe('bob')
  })

  it('says so when the release disappears while waiting', async () => {
    h = await harness()
    const held = await claimedBy('bob')
    setTimeout(() => h.backend.raw.records.delete(held.record.id), 50)
    expect((await rejection(settleOthers(h.backend, held, timing(5000), h.ctx.deps, h.ctx.out, me))).code).toBe('ENOTFOUND')
  })

  it('takes over a claim older than the timeout at once, and one stamped far in the future', async () => {
    h = await harness()
    const old = await claimedBy('bob')
    h.clock.advance(10 * MINUTE + 1)
    expect(await settleOthers(h.backend, old, timing(0), h.ctx.deps, h.ctx.out, me)).toBe(old)
    const taken = await claim(h.backend, old, 'alice', timing(), h.ctx.deps, h.ctx.out, me)
    expect(taken.record.claim).toMatchObject({ by: 'alice', at: h.clock.now().toISOString() })

    const future = await claimedBy('mallory', {}, new Date(h.clock.now().getTime() + 6 * MINUTE))
    expect(await settleOthers(h.backend, future, timing(0), h.ctx.deps, h.ctx.out, me)).toBe(future)
    // Just under the timeout, it is still theirs.
    const fresh = await claimedBy('bob', {}, new Date(h.clock.now().getTime() - 10 * MINUTE + 1000))
    expect((await rejection(settleOthers(h.backend, fresh, timing(0), h.ctx.deps, h.ctx.out, me))).code).toBe('ECONFLICT')
  })

  it('takes over at once our own claim on this host whose process is gone, and nobody else\'s', async () => {
    h = await harness()
    const ours = await claimedBy('alice', { host: os.hostname(), pid: GONE_PID })
    expect(await settleOthers(h.backend, ours, timing(0), h.ctx.deps, h.ctx.out, me)).toBe(ours)
    expect(h.stderr()).toContain(`pid ${GONE_PID}) is no longer running`)

    const cases = [
      claimedBy('bob', { host: os.hostname(), pid: GONE_PID }), // another approver
      claimedBy('alice', { host: 'box-2', pid: GONE_PID }), // another host
      claimedBy('alice', { host: os.hostname(), pid: process.ppid }), // a live process
      claimedBy('alice', { host: os.hostname(), pid: process.pid }), // this very process
      claimedBy('alice', { host: os.hostname() }), // no pid
    ]
    const codes = await Promise.all(cases.map(async (c) => (await rejection(settleOthers(h.backend, await c, timing(0), h.ctx.deps, h.ctx.out, me))).code))
    expect(codes).toEqual(Array(5).fill('ECONFLICT'))
  })

  it('refuses rejected and expired releases', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    const rejected = { record: { ...staged.current.record, state: 'rejected' as const, rejectedBy: 'bob', rejectReason: 'bad\u001b[31m build' }, etag: 'x' }
    const err = await rejection(settleOthers(h.backend, rejected, timing(), h.ctx.deps, h.ctx.out, me))
    expect(err.code).toBe('ESTATE')
    expect(err.message).toContain('bad\\x1b[31m build')
    h.clock.advance(7 * 24 * 60 * MINUTE)
    expect((await rejection(settleOthers(h.backend, staged.current, timing(), h.ctx.deps, h.ctx.out, me))).code).toBe('EEXPIRED')
  })
})

describe('markApproved and release', () => {
  it('marks our claim approved and drops the claim', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    const held = await claim(h.backend, staged.current, 'alice', timing(), h.ctx.deps, h.ctx.out, me)
    h.clock.advance(1000)
    const { record, byUs } = await markApproved(h.backend, held, 'alice', h.ctx.deps, timing(), h.ctx.out)
    expect(byUs).toBe(true)
    expect(record).toMatchObject({ state: 'approved', approvedBy: 'alice', approvedAt: h.clock.now().toISOString() })
    expect(await h.record(staged.id)).toEqual(record)
  })

  it('reports another approver\'s approval as theirs, and re-reads a record that changed', async () => {
    h = await harness()
    const held = await claimedBy('bob')
    const theirs = await markApproved(h.backend, held, 'bob', h.ctx.deps, timing(), h.ctx.out)
    // Our stale view of the release: the backend says it is approved already.
    const again = await markApproved(h.backend, held, 'alice', h.ctx.deps, timing(), h.ctx.out)
    expect(again).toEqual({ record: theirs.record, byUs: false })
  })

  it('never overwrites another approver\'s fresh claim, and takes a stale one', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    // Our view is the pending release; bob claimed it since.
    const bob = await claim(h.backend, staged.current, 'bob', timing(), h.ctx.deps, h.ctx.out, { host: 'box-2', pid: 42, identity: async () => 'bob' })
    expect((await rejection(markApproved(h.backend, staged.current, 'alice', h.ctx.deps, timing(0), h.ctx.out))).code).toBe('ECONFLICT')
    expect(await h.backend.getRecord(staged.id)).toEqual(bob)
    h.clock.advance(11 * MINUTE)
    const { byUs } = await markApproved(h.backend, staged.current, 'alice', h.ctx.deps, timing(0), h.ctx.out)
    expect(byUs).toBe(true)
    expect(await h.record(staged.id)).toMatchObject({ state: 'approved', approvedBy: 'alice' })
  })

  it('says to run approve again when the record cannot be marked', async () => {
    h = await harness()
    const held = await claimedBy('alice')
    const stuck = { ...h.backend, updateRecord: async () => ({ updated: false as const, reason: 'conflict' as const }) }
    const err = await rejection(markApproved(stuck, held, 'alice', h.ctx.deps, timing(), h.ctx.out))
    expect(err.code).toBe('EBACKEND')
    expect(err.hint).toContain(`approve ${held.record.id}`)
  })

  it('gives a claimed release back as pending, and leaves a record that changed since alone', async () => {
    h = await harness()
    const staged = await h.stage('claim-lib', '1.0.0')
    const held = await claim(h.backend, staged.current, 'alice', timing(), h.ctx.deps, h.ctx.out, me)
    await release(h.backend, staged.current) // a stale etag: nothing happens, nothing thrown
    expect((await h.record(staged.id)).state).toBe('approving')
    await release(h.backend, held)
    const stored = await h.record(staged.id)
    expect(stored.state).toBe('pending')
    expect(stored.claim).toBeUndefined()
  })
})

describe('the claim in an approval', () => {
  it('waits for another approver\'s fresh claim, then ECONFLICT after --wait: nothing published', async () => {
    h = await harness({ registry: { codes: ['111111'] } })
    const held = await claimedBy('bob')
    expect((await rejection(prepareApproval(held, h.ctx))).code).toBe('ECONFLICT')
    expect(h.registry.calls).toEqual([])
    expect((await h.record(held.record.id)).claim?.by).toBe('bob')
  })

  it('takes over a claim older than the timeout and publishes once', async () => {
    h = await harness({ registry: { codes: ['111111'] } })
    const held = await claimedBy('bob')
    h.clock.advance(10 * MINUTE + 1)
    const prepared = await prepareApproval(held, h.ctx)
    if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
    await publishApproved(prepared.ready, { code: '111111', accepted: false }, h.ctx)
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['ok'])
    expect(await h.record(held.record.id)).toMatchObject({ state: 'approved', approvedBy: 'alice' })
  })

  it('loses a race for the claim after the review: waits, then reports the winner\'s approval without publishing', async () => {
    h = await harness({ registry: { codes: ['111111'] }, waitMs: 5000 })
    const staged = await h.stage('claim-lib', '1.0.0')
    const prepared = await prepareApproval(staged.current, h.ctx)
    if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
    // Bob claims between our review and our publish, and finishes a moment later.
    const bob = await claim(h.backend, staged.current, 'bob', timing(), h.ctx.deps, h.ctx.out, { host: 'box-2', pid: 42, identity: async () => 'bob' })
    setTimeout(() => void markApproved(h.backend, bob, 'bob', h.ctx.deps, timing(), h.ctx.out), 50)
    const finished = await publishApproved(prepared.ready, { code: '111111', accepted: false }, h.ctx)
    expect(finished.how.alreadyApproved).toBe(true)
    expect(finished.record.approvedBy).toBe('bob')
    expect(h.registry.calls).toEqual([])
  })
})
