/**
 * Batch approval (approveBatch, src/flows/approve-batch.ts) in-process: one confirmation and one code for the
 * whole batch, a fresh code when the registry refuses a used one, dependencies published first, and a
 * release that fails holding back what depends on it, and release sets: approved whole, a member held
 * for the set's packages it depends on. Outcomes are read from the --json summary, the publish calls
 * and the stored records.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { approveBatch } from '../../src/flows/approve-batch.js'
import { prepareApproval, requireSetDependencies } from '../../src/flows/approve-one.js'
import type { BatchSummary } from '../../src/core/batch.js'
import type { Versioned } from '../../src/backends/types.js'
import { harness, rejection, scriptedPrompts, type Harness, type HarnessOptions } from '../support/flow-harness.js'

let h: Harness
afterEach(async () => {
  await h?.close()
})

/** app → lib → core, and an unrelated tool; staged in an order that is not the publish order. */
async function stageFamily() {
  const app = await h.stage('app', '1.0.0', { dependencies: { lib: '^1.0.0' } })
  const lib = await h.stage('lib', '1.0.0', { dependencies: { core: '^1.0.0' } })
  const core = await h.stage('core', '1.0.0')
  return { app, lib, core }
}

const selection = (...staged: Array<{ current: Versioned }>) => ({ releases: staged.map((s) => s.current), setId: null })
const summary = (): BatchSummary => JSON.parse(h.stdout()) as BatchSummary
const states = async (...ids: string[]) => Promise.all(ids.map(async (id) => (await h.record(id)).state))
const published = () => h.registry.calls.filter((c) => c.answer === 'ok').map((c) => c.name)

async function batch(options: HarnessOptions) {
  h = await harness({ json: true, ...options })
  return stageFamily()
}

describe('approveBatch', () => {
  it('asks once to confirm and once for a code, and publishes dependencies first with that code', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111'], replay: true }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111'] }) })
    await approveBatch(selection(app, lib, core), h.ctx)

    expect(h.prompts.asked).toEqual([
      { kind: 'confirm', message: `Publish these 3 releases to ${h.registry.url}?` },
      { kind: 'otp', message: 'One-time password from your authenticator:' },
    ])
    expect(h.registry.calls.map((c) => [c.name, c.otp, c.answer])).toEqual([
      ['core', '111111', 'ok'],
      ['lib', '111111', 'ok'],
      ['app', '111111', 'ok'],
    ])
    expect(await states(app.id, lib.id, core.id)).toEqual(['approved', 'approved', 'approved'])
    expect(summary()).toMatchObject({ complete: true, published: [{ name: 'core', how: 'published' }, { name: 'lib' }, { name: 'app' }], failed: [], pending: [] })
  })

  it('asks for one fresh code each time the registry refuses the used one, and finishes', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111', '222222', '333333'] }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111', '222222', '333333'] }) })
    await approveBatch(selection(app, lib, core), h.ctx)

    expect(h.registry.calls.map((c) => [c.name, c.otp, c.answer])).toEqual([
      ['core', '111111', 'ok'],
      ['lib', '111111', 'EOTP'],
      ['lib', '222222', 'ok'],
      ['app', '222222', 'EOTP'],
      ['app', '333333', 'ok'],
    ])
    expect(h.prompts.asked.map((q) => q.kind)).toEqual(['confirm', 'otp', 'otp', 'otp'])
    expect(h.stderr().match(/no longer accepts that one-time password/g)).toHaveLength(2)
    expect(summary().complete).toBe(true)
  })

  it('without a terminal (--yes --otp): stops cleanly at a refused used code and says what is pending', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111'] }, prompts: scriptedPrompts({}, false), opts: { yes: true, otp: '111111', json: true } })
    const err = await rejection(approveBatch(selection(app, lib, core), h.ctx))

    expect(err.code).toBe('ENOTALLPUBLISHED')
    expect(h.prompts.asked).toEqual([])
    expect(h.registry.calls.map((c) => [c.name, c.answer])).toEqual([['core', 'ok'], ['lib', 'EOTP']])
    const s = summary()
    expect(s.pending).toEqual([
      expect.objectContaining({ name: 'lib', reason: 'otp', error: expect.objectContaining({ code: 'EOTP' }) }),
      expect.objectContaining({ name: 'app', reason: 'stopped' }),
    ])
    expect((s as BatchSummary & { resume: string }).resume).toBe(`stage-publish approve ${lib.id} ${app.id}`)
    expect(await states(core.id, lib.id, app.id)).toEqual(['approved', 'pending', 'pending'])
    expect((await h.record(lib.id)).claim).toBeUndefined()
  })

  it('holds back what depends on a release that failed, and publishes the rest', async () => {
    h = await harness({ json: true, registry: { codes: ['111111'], replay: true }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111'] }) })
    const { app, lib, core } = await stageFamily()
    const tool = await h.stage('tool', '1.0.0')
    h.registry.failNext.set('lib', Object.assign(new Error('Internal Server Error'), { code: 'E500', statusCode: 500 }))
    const err = await rejection(approveBatch(selection(app, tool, lib, core), h.ctx))

    expect(err.code).toBe('ENOTALLPUBLISHED')
    expect(published()).toEqual(['core', 'tool'])
    const s = summary()
    expect(s.failed).toEqual([expect.objectContaining({ name: 'lib', error: expect.objectContaining({ code: 'EREGISTRY' }) })])
    expect(s.pending).toEqual([expect.objectContaining({ name: 'app', reason: 'dependency', on: ['lib@1.0.0'] })])
    expect(await states(core.id, tool.id, lib.id, app.id)).toEqual(['approved', 'approved', 'pending', 'pending'])
  })

  it('publishes nothing and asks for no code when the approver says no', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111'] }, prompts: scriptedPrompts({ confirm: [false] }) })
    expect((await rejection(approveBatch(selection(app, lib, core), h.ctx))).code).toBe('EABORTED')
    expect(h.prompts.asked.map((q) => q.kind)).toEqual(['confirm'])
    expect(h.registry.calls).toEqual([])
    expect(await states(app.id, lib.id, core.id)).toEqual(['pending', 'pending', 'pending'])
  })

  it('checks every release before asking anything: one that fails stops them all', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111'] } })
    h.backend.raw.tarballs.set(lib.id, app.bytes)
    const err = await rejection(approveBatch(selection(app, lib, core), h.ctx))
    expect(err.code).toBe('EINTEGRITY')
    expect(err.message).toContain(`1 of 3 releases cannot be approved\n  lib@1.0.0 (${lib.id}): EINTEGRITY`)
    expect(h.prompts.asked).toEqual([])
    expect(h.registry.calls).toEqual([])
  })

  it('reports releases approved or published before as such, and sends only the others', async () => {
    const { app, lib, core } = await batch({ registry: { codes: ['111111'] }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111'] }) })
    h.registry.publish('core', '1.0.0', core.bytes)
    const approved = { ...lib.current.record, state: 'approved' as const, approvedBy: 'bob', approvedAt: h.clock.now().toISOString() }
    const res = await h.backend.updateRecord(approved, lib.current.etag)
    await approveBatch({ releases: [app.current, { record: approved, etag: res.updated ? res.etag : '' }, core.current], setId: null }, h.ctx)

    expect(published()).toEqual(['app'])
    expect(summary().published).toEqual([
      expect.objectContaining({ name: 'core', how: 'already-published' }),
      expect.objectContaining({ name: 'lib', how: 'already-approved' }),
      expect.objectContaining({ name: 'app', how: 'published' }),
    ])
    expect(await states(core.id, app.id)).toEqual(['approved', 'approved'])
  })

  it('signs in on the web once for the whole batch', async () => {
    const { app, lib, core } = await batch({ registry: { twoFactor: 'web' }, authType: 'web', prompts: scriptedPrompts({ confirm: [true] }) })
    await approveBatch(selection(app, lib, core), h.ctx)
    expect(h.registry.calls.map((c) => [c.name, c.answer])).toEqual([['core', 'EOTP'], ['core', 'ok'], ['lib', 'ok'], ['app', 'ok']])
    expect(h.registry.requests.filter((r) => r === 'GET /-/weblogin/done')).toHaveLength(2)
    expect(h.prompts.asked.map((q) => q.kind)).toEqual(['confirm'])
  })

  it('says there is nothing to approve for an empty selection', async () => {
    h = await harness()
    await approveBatch({ releases: [], setId: null }, h.ctx)
    expect(h.stdout()).toBe('Nothing is waiting for approval in memory.\n')
  })
})

describe('release sets', () => {
  const family = [
    { name: 'app', version: '2.0.0', manifest: { dependencies: { core: '^2.0.0' } } },
    { name: 'core', version: '2.0.0' },
  ]

  it('approves a whole set, dependencies first, and names the set in the summary', async () => {
    h = await harness({ json: true, registry: { codes: ['111111'], replay: true }, prompts: scriptedPrompts({ confirm: [true], otp: ['111111'] }) })
    const { setId, members } = await h.stageSet(family)
    await approveBatch({ releases: members.map((m) => m.current), setId }, h.ctx)
    expect(published()).toEqual(['core', 'app'])
    expect(summary()).toMatchObject({ setId, complete: true })
  })

  it('holds a member approved on its own until the set\'s packages it depends on are published', async () => {
    h = await harness({ registry: { codes: ['111111'] } })
    const { members } = await h.stageSet(family)
    const app = members[0] as (typeof members)[number]
    const prepared = await prepareApproval(app.current, h.ctx)
    if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
    const err = await rejection(requireSetDependencies(prepared.ready, new Set(), h.ctx))
    expect(err.code).toBe('ESTATE')
    expect(err.message).toBe('app@2.0.0 depends on core@2.0.0 of its release set, not published yet')
    h.registry.publish('core', '2.0.0', (members[1] as (typeof members)[number]).bytes)
    await requireSetDependencies(prepared.ready, new Set(), h.ctx)
    expect(h.registry.calls).toEqual([])
  })

  it('refuses, before anything is asked, a record that claims a set whose object does not list it', async () => {
    h = await harness({ registry: { codes: ['111111'] } })
    const { setId, members } = await h.stageSet(family)
    const intruder = await h.stage('evil', '1.0.0', {}, { setId, setMembers: [...family, { name: 'evil', version: '1.0.0' }].map(({ name, version }) => ({ name, version })) })
    const err = await rejection(approveBatch({ releases: [...members.map((m) => m.current), intruder.current], setId: null }, h.ctx))
    expect(err.code).toBe('ESETMISMATCH')
    expect(err.message).toContain(`evil@1.0.0 (${intruder.id}) claims release set ${setId}, which does not list it`)
    expect(h.prompts.asked).toEqual([])
    expect(h.registry.calls).toEqual([])
  })
})
