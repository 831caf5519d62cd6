/**
 * Proof of presence (src/flows/otp.ts), in-process: every branch of withOneTimePassword with a scripted
 * write, then through a real approval (publishApproved) against the fake registry, where the record's
 * state after a refusal is what matters. The web sign-in polls the fake registry's doneUrl through
 * npm-profile, as it would npm's. Not covered: the 5-minute web-auth timeout (a constant, not injected).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { prepareApproval, publishApproved } from '../../src/flows/approve-one.js'
import { withOneTimePassword, type OtpContext, type OtpSession } from '../../src/flows/otp.js'
import type { WriteAuth } from '../../src/backends/types.js'
import { harness, rejection, scriptedPrompts, type Harness, type ScriptedPrompts } from '../support/flow-harness.js'

let h: Harness
afterEach(async () => {
  await h?.close()
})

type Answer = { ok: true } | { ok: false; reason: 'otp'; message: string } | { ok: false; reason: 'web-auth'; authUrl: string; doneUrl: string } | { ok: false; reason: 'exists'; message: string }

/** A write that accepts exactly the codes in `good` (each as often as wanted) and records what it was sent. */
function scriptedWrite(good: string[]) {
  const sent: WriteAuth[] = []
  const write = async (auth: WriteAuth): Promise<Answer> => {
    sent.push(auth)
    return auth.otp !== undefined && good.includes(auth.otp) ? { ok: true } : { ok: false, reason: 'otp', message: 'OTP required' }
  }
  return { sent, write }
}

function otpContext(prompts: ScriptedPrompts, authType: 'legacy' | 'web' = 'legacy'): OtpContext {
  return { prompts, authType, out: h.ctx.out, flat: h.ctx.conf.flat, registry: h.registry.url, retry: 'stage-publish approve 1234abcd' }
}

describe('withOneTimePassword', () => {
  it('sends the code once when it is accepted, and remembers that it was', async () => {
    h = await harness()
    const { sent, write } = scriptedWrite(['111111'])
    const session: OtpSession = { code: '111111', accepted: false }
    expect(await withOneTimePassword(write, session, otpContext(h.prompts))).toEqual({ ok: true })
    expect(sent).toEqual([{ otp: '111111', authType: 'legacy' }])
    expect(session.accepted).toBe(true)
    expect(h.prompts.asked).toEqual([])
  })

  it('asks again after a wrong code and carries on with the right one', async () => {
    h = await harness()
    const prompts = scriptedPrompts({ otp: ['222222'] })
    const { sent, write } = scriptedWrite(['222222'])
    const session: OtpSession = { code: '000000', accepted: false }
    expect(await withOneTimePassword(write, session, otpContext(prompts))).toEqual({ ok: true })
    expect(sent.map((a) => a.otp)).toEqual(['000000', '222222'])
    expect(prompts.asked.map((q) => q.kind)).toEqual(['otp'])
    expect(h.stderr()).toContain('That code was not accepted')
    expect(session).toEqual({ code: '222222', accepted: true })
  })

  it('gives up after 3 codes with EOTP', async () => {
    h = await harness()
    const prompts = scriptedPrompts({ otp: ['000002', '000003', '000004'] })
    const { sent, write } = scriptedWrite(['999999'])
    const err = await rejection(withOneTimePassword(write, { code: '000001', accepted: false }, otpContext(prompts)))
    expect(err.code).toBe('EOTP')
    expect(err.message).toContain('(3 tries)')
    expect(err.hint).toContain('Run `stage-publish approve 1234abcd` again with a fresh code.')
    expect(sent.map((a) => a.otp)).toEqual(['000001', '000002', '000003'])
    expect(prompts.asked).toHaveLength(2)
  })

  it('asks nothing without a terminal, and says to pass --otp', async () => {
    h = await harness()
    const prompts = scriptedPrompts({}, false)
    const { sent, write } = scriptedWrite([])
    const err = await rejection(withOneTimePassword(write, { code: '000001', accepted: false }, otpContext(prompts)))
    expect(err.code).toBe('EOTP')
    expect(err.hint).toContain('(--otp <code>)')
    expect(sent).toHaveLength(1)
    expect(prompts.asked).toEqual([])
  })

  it('asks nothing when the approver chose web authentication and the registry wants a code', async () => {
    h = await harness()
    const prompts = scriptedPrompts({ otp: ['111111'] })
    const { write } = scriptedWrite(['111111'])
    expect((await rejection(withOneTimePassword(write, { accepted: false }, otpContext(prompts, 'web')))).code).toBe('EOTP')
    expect(prompts.asked).toEqual([])
  })

  it('asks for a fresh code once when one that worked is refused (expired or used up), with three tries again', async () => {
    h = await harness()
    const prompts = scriptedPrompts({ otp: ['000002', '000003', '333333'] })
    const { sent, write } = scriptedWrite(['333333'])
    const session: OtpSession = { code: '000001', accepted: true }
    expect(await withOneTimePassword(write, session, otpContext(prompts))).toEqual({ ok: true })
    expect(sent.map((a) => a.otp)).toEqual(['000001', '000002', '000003', '333333'])
    expect(h.stderr()).toContain('no longer accepts that one-time password')
    expect(prompts.asked).toHaveLength(3)
  })

  it('says a used code is refused "any more" without a terminal', async () => {
    h = await harness()
    const { write } = scriptedWrite([])
    const err = await rejection(withOneTimePassword(write, { code: '000001', accepted: true }, otpContext(scriptedPrompts({}, false))))
    expect(err.code).toBe('EOTP')
    expect(err.message).toContain('any more (it expired or was already used)')
  })

  it('returns other refusals as values, asking nothing', async () => {
    h = await harness()
    const session: OtpSession = { code: '111111', accepted: false }
    const res = await withOneTimePassword(async () => ({ ok: false, reason: 'exists', message: 'exists' }), session, otpContext(h.prompts))
    expect(res).toEqual({ ok: false, reason: 'exists', message: 'exists' })
    expect(session.accepted).toBe(false)
  })

  it('shows the sign-in URL escaped, polls doneUrl until it hands out a token, and writes again with it', async () => {
    h = await harness({ registry: { webPolls: 2 } })
    const sent: WriteAuth[] = []
    const write = async (auth: WriteAuth): Promise<Answer> => {
      sent.push(auth)
      if (auth.otp === 'web-token-0001') return { ok: true }
      return { ok: false, reason: 'web-auth', authUrl: `${h.registry.url}-/weblogin/auth\u001b[2J\u202e`, doneUrl: `${h.registry.url}-/weblogin/done` }
    }
    const session: OtpSession = { accepted: false }
    expect(await withOneTimePassword(write, session, otpContext(h.prompts, 'web'))).toEqual({ ok: true })
    expect(sent).toEqual([{ authType: 'web' }, { otp: 'web-token-0001', authType: 'legacy' }])
    expect(h.registry.requests.filter((r) => r === 'GET /-/weblogin/done')).toHaveLength(3)
    expect(h.stderr()).toContain(`Authenticate your account at:\n  ${h.registry.url}-/weblogin/auth`)
    expect(h.stderr()).not.toMatch(/[\u001b\u202e]/)
    expect(session).toEqual({ code: 'web-token-0001', accepted: true })
  })
})

describe('one-time passwords in an approval', () => {
  const stageReady = async () => {
    const staged = await h.stage('otp-lib', '1.0.0')
    const prepared = await prepareApproval(staged.current, h.ctx)
    if (!('ready' in prepared)) throw new Error('expected a release ready to publish')
    return { staged, ready: prepared.ready }
  }

  it('publishes once with the right code after a wrong one', async () => {
    h = await harness({ registry: { codes: ['654321'] }, prompts: scriptedPrompts({ otp: ['654321'] }) })
    const { staged, ready } = await stageReady()
    await publishApproved(ready, { code: '000000', accepted: false }, h.ctx)
    expect(h.registry.calls.map((c) => [c.otp, c.answer])).toEqual([['000000', 'EOTP'], ['654321', 'ok']])
    expect((await h.record(staged.id)).state).toBe('approved')
  })

  it('after 3 refused codes: EOTP, nothing published, the release pending again with no claim', async () => {
    h = await harness({ registry: { codes: ['654321'] }, prompts: scriptedPrompts({ otp: ['000002', '000003'] }) })
    const { staged, ready } = await stageReady()
    expect((await rejection(publishApproved(ready, { code: '000001', accepted: false }, h.ctx))).code).toBe('EOTP')
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['EOTP', 'EOTP', 'EOTP'])
    expect(h.registry.published.size).toBe(0)
    const stored = await h.record(staged.id)
    expect(stored.state).toBe('pending')
    expect(stored.claim).toBeUndefined()
  })

  it('without a terminal: EOTP at the first refusal, and the release pending again', async () => {
    h = await harness({ registry: { codes: ['654321'] }, prompts: scriptedPrompts({}, false) })
    const { staged, ready } = await stageReady()
    expect((await rejection(publishApproved(ready, { code: '000001', accepted: false }, h.ctx))).code).toBe('EOTP')
    expect(h.registry.calls).toHaveLength(1)
    expect((await h.record(staged.id)).state).toBe('pending')
  })

  it('with web authentication: signs in through doneUrl and publishes with the token', async () => {
    h = await harness({ registry: { twoFactor: 'web' }, authType: 'web' })
    const { staged, ready } = await stageReady()
    await publishApproved(ready, { accepted: false }, h.ctx)
    expect(h.registry.calls.map((c) => [c.otp, c.authType, c.answer])).toEqual([[undefined, 'web', 'EOTP'], ['web-token-0001', 'legacy', 'ok']])
    expect(await h.record(staged.id)).toMatchObject({ state: 'approved', approvedBy: 'alice' })
    expect(h.prompts.asked).toEqual([])
  })
})
