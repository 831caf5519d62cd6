/**
 * The wait flow in-process (memory backend, a registry in this process, a clock the test moves): failed
 * checks are retried a bounded number of times and a success resets the count; a failure that will not
 * pass by itself ends the wait at once; the deadline is the clock's.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { StagePublishError } from '../../src/errors.js'
import { waitOn } from '../../src/flows/wait.js'
import { harness, MINUTE, rejection, type Harness } from '../support/flow-harness.js'

let h: Harness
afterEach(async () => h.close())

const unreachable = () => new StagePublishError('EBACKENDUNREACHABLE', 'Could not reach the bucket')

/** The harness's backend, with getRecord failing on the calls `fail` says. */
function flaky(fail: (call: number) => Error | undefined) {
  let call = 0
  const getRecord = h.backend.getRecord.bind(h.backend)
  return { ...h.backend, getRecord: async (id: string) => {
    const err = fail(++call)
    if (err) throw err
    return getRecord(id)
  } }
}

describe('wait (flow)', () => {
  it('checks that fail and then pass: retried, warned about, and the approval is still seen', async () => {
    h = await harness()
    const { id, bytes, current } = await h.stage('lib', '1.0.0')
    let approved = false
    const backend = flaky((call) => {
      if (call >= 2 && call <= 4) return unreachable()
      if (call === 6 && !approved) {
        approved = true
        h.registry.publish('lib', '1.0.0', bytes)
        void h.backend.updateRecord({ ...current.record, state: 'approved', approvedBy: 'alice', approvedAt: h.clock.now().toISOString() }, current.etag)
      }
      return undefined
    })
    const result = await waitOn(() => Promise.resolve(backend), id, { maxIntervalMs: 5 }, h.ctx.deps, h.ctx.out)
    expect(result.outcome).toBe('approved')
    expect(result.releases).toEqual([expect.objectContaining({ id, state: 'approved', by: 'alice' })])
    expect(h.stderr().match(/a check failed \(EBACKENDUNREACHABLE/g)).toHaveLength(3)
  })

  it('five failed checks in a row end the wait with the last error, saying so', async () => {
    h = await harness()
    const { id } = await h.stage('lib', '1.0.0')
    const backend = flaky((call) => (call > 1 ? unreachable() : undefined))
    const err = await rejection(waitOn(() => Promise.resolve(backend), id, { maxIntervalMs: 5 }, h.ctx.deps, h.ctx.out))
    expect(err.code).toBe('EBACKENDUNREACHABLE')
    expect(err.message).toBe('Stopped waiting: 5 checks in a row failed. The last one: Could not reach the bucket')
  })

  it('a failure that will not pass by itself (access denied) ends it at once', async () => {
    h = await harness()
    const { id } = await h.stage('lib', '1.0.0')
    let calls = 0
    const backend = flaky((call) => {
      calls = call
      return call > 1 ? new StagePublishError('EACCESSDENIED', 'Access denied') : undefined
    })
    const err = await rejection(waitOn(() => Promise.resolve(backend), id, { maxIntervalMs: 5 }, h.ctx.deps, h.ctx.out))
    expect(err.code).toBe('EACCESSDENIED')
    expect(calls).toBe(2)
  })

  it('the deadline is the clock\'s: undecided after --timeout is a timeout, not an error', async () => {
    h = await harness()
    const { id } = await h.stage('lib', '1.0.0', {}, { expiresAt: new Date(Date.now() + 3650 * 24 * 60 * MINUTE).toISOString() })
    const backend = flaky(() => {
      h.clock.advance(MINUTE)
      return undefined
    })
    const result = await waitOn(() => Promise.resolve(backend), id, { maxIntervalMs: 5, timeoutMs: 3 * MINUTE }, h.ctx.deps, h.ctx.out)
    expect(result).toMatchObject({ outcome: 'timeout', releases: [{ id, state: 'waiting' }] })
    expect(result.waitedMs).toBeGreaterThanOrEqual(3 * MINUTE)
  })

  it('a release that expires while waiting: exit 1 territory (expired), decided by the clock', async () => {
    h = await harness()
    const { id } = await h.stage('lib', '1.0.0', {}, { expiresAt: new Date(h.clock.now().getTime() + 2 * MINUTE).toISOString() })
    const backend = flaky(() => {
      h.clock.advance(MINUTE)
      return undefined
    })
    const result = await waitOn(() => Promise.resolve(backend), id, { maxIntervalMs: 5 }, h.ctx.deps, h.ctx.out)
    expect(result).toMatchObject({ outcome: 'expired', releases: [{ state: 'expired' }] })
  })
})
