/**
 * M-of-N approvals in-process (prepareApproval → approveWithQuorum), with real ssh-keygen and fresh
 * ed25519 keys, the memory backend and a fake registry: what is published (only once the quorum is
 * met, and once), what is stored, and every way an attacker with write access to the backend might
 * try to make a statement count that should not: another release's, a tampered one, a forged or
 * out-of-namespace signature, an unlisted key, a duplicate, the stager's own.
 */
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { prepareApproval } from '../../src/flows/approve-one.js'
import { approveBatch } from '../../src/flows/approve-batch.js'
import { approveWithQuorum, type QuorumOutcome } from '../../src/flows/quorum-approve.js'
import { checkApprovals, countApprovals, MAX_VERIFICATIONS, readSigners, subjectOf, type Quorum } from '../../src/flows/quorum.js'
import { buildStatement, statementBytes } from '../../src/core/approval-statement.js'
import { makeEnvelope, pae, PAYLOAD_TYPE, SIGNING_NAMESPACE, type ApprovalEnvelope } from '../../src/core/approval-envelope.js'
import { resolveSigningKey, sshMessage, sshSign } from '../../src/origin/ssh-sign.js'
import { harness, rejection, scriptedPrompts, type Harness, type Staged } from '../support/flow-harness.js'
import { keyDir, makeSigner, writeAllowedSigners, type TestSigner } from '../support/ssh-keys.js'

const CODE = '123456'
let h: Harness
afterEach(async () => {
  await h?.close()
})

interface Setup {
  signers: TestSigner[]
  dir: string
  quorum: Quorum
}

async function setup(required = 2, extra: { allowSelfApproval?: boolean; unlisted?: boolean } = {}): Promise<Setup> {
  h = await harness({ registry: { codes: [CODE], replay: true }, waitMs: 10_000 })
  const dir = await keyDir()
  const signers = await Promise.all(['alice@example.com', 'bob@example.com', 'carol@example.com'].map((p) => makeSigner(dir, p)))
  const file = await writeAllowedSigners(path.join(dir, 'allowed_signers'), signers)
  if (extra.unlisted) signers.push(await makeSigner(dir, 'mallory@example.com'))
  const quorum: Quorum = { policy: { required, allowedSigners: file, allowSelfApproval: extra.allowSelfApproval ?? false }, signers: await readSigners(file) }
  h.ctx.quorum = quorum
  return { signers, dir, quorum }
}

const signer = (s: Setup, principal: string): TestSigner => s.signers.find((x) => x.principal.startsWith(principal)) as TestSigner

async function approveAs(s: Setup, who: TestSigner, id: string): Promise<QuorumOutcome> {
  h.ctx.opts = { yes: true, otp: CODE, signingKey: who.key }
  const current = await h.backend.getRecord(id)
  if (!current) throw new Error('no record')
  const prepared = await prepareApproval(current, h.ctx)
  if (!('ready' in prepared)) throw new Error('expected a release ready to approve')
  return approveWithQuorum(prepared.ready, h.backend, s.quorum, h.ctx, async () => undefined)
}

const count = (o: QuorumOutcome) => (o.kind === 'awaiting' ? o.quorum.tally : o.quorum.tally)

/** Puts approvals into the stored record, as anyone with the CI credential can. */
async function writeApprovals(id: string, approvals: ApprovalEnvelope[]): Promise<void> {
  const current = await h.backend.getRecord(id)
  if (!current) throw new Error('no record')
  const res = await h.backend.updateRecord({ ...current.record, approvals }, current.etag)
  if (!res.updated) throw new Error('could not write')
}

async function stored(id: string): Promise<ApprovalEnvelope[]> {
  return (await h.record(id)).approvals ?? []
}

describe('a 2-of-3 policy', () => {
  it('publishes nothing on the first approval, and publishes once when the second completes the quorum', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    const first = await approveAs(s, signer(s, 'alice'), id)
    expect(first.kind).toBe('awaiting')
    expect(count(first)).toMatchObject({ required: 2, needed: 1, met: false })
    expect(count(first).counted.map((c) => c.principal)).toEqual(['alice@example.com'])
    expect(h.registry.calls).toEqual([])
    expect(await h.record(id)).toMatchObject({ state: 'pending' })
    expect(await stored(id)).toHaveLength(1)

    const second = await approveAs(s, signer(s, 'bob'), id)
    expect(second.kind).toBe('published')
    expect(count(second)).toMatchObject({ met: true, needed: 0 })
    expect(count(second).counted.map((c) => c.principal)).toEqual(['alice@example.com', 'bob@example.com'])
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['ok'])
    const after = await h.record(id)
    expect(after.state).toBe('approved')
    expect(after.approvals).toHaveLength(2)
  })

  it('counts the same approver twice once, and does not sign again', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    await approveAs(s, signer(s, 'alice'), id)
    const again = await approveAs(s, signer(s, 'alice'), id)
    expect(again).toMatchObject({ kind: 'awaiting', quorum: { signed: 'already', by: 'alice@example.com' } })
    expect(count(again).counted).toHaveLength(1)
    expect(await stored(id)).toHaveLength(1)
    // A copy of her approval written in by someone else counts once too.
    const [hers] = await stored(id)
    await writeApprovals(id, [hers as ApprovalEnvelope, hers as ApprovalEnvelope])
    const tally = await countApprovals(await h.record(id), subjectOf(await h.record(id), (await h.record(id)).integrity), s.quorum, {})
    expect(tally).toMatchObject({ met: false, needed: 1 })
    expect(tally.refused.map((r) => r.code)).toEqual(['duplicate'])
    expect(h.registry.calls).toEqual([])
  })

  it('refuses a key that allowed_signers does not list, before signing anything', async () => {
    const s = await setup(2, { unlisted: true })
    const { id } = await h.stage('lib', '1.0.0')
    const err = await rejection(approveAs(s, signer(s, 'mallory'), id))
    expect(err.code).toBe('ESIGNER')
    expect(err.message).toMatch(/is not listed in .*allowed_signers/)
    expect(await stored(id)).toEqual([])
  })

  it('does not count the stager toward their own release unless the policy allows it', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0', {}, { actor: 'alice@example.com', actorType: 'user' })
    const err = await rejection(approveAs(s, signer(s, 'alice'), id))
    expect(err.code).toBe('ESIGNER')
    expect(err.message).toContain('staged')
    // An approval of hers written in some other way is not counted either.
    await approveAs(s, signer(s, 'bob'), id)
    s.quorum.policy.allowSelfApproval = true
    const allowed = await approveAs(s, signer(s, 'alice'), id)
    expect(allowed.kind).toBe('published')
    expect(h.registry.calls).toHaveLength(1)
  })

  it('keeps both signatures when two co-approvers race (2 of 2), and publishes exactly once', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    // Bob and Carol at once: each stores by compare-and-set (re-read on conflict); the claim lets one of them publish.
    const outcomes = await Promise.all([approveAsCopy(s, signer(s, 'bob'), id), approveAsCopy(s, signer(s, 'carol'), id)])
    expect(outcomes.map((o) => o.kind)).toContain('published')
    expect(h.registry.calls.filter((c) => c.answer === 'ok')).toHaveLength(1)
    const record = await h.record(id)
    expect(record.state).toBe('approved')
    const tally = await countApprovals(record, subjectOf(record, record.integrity), s.quorum, {})
    expect(tally.counted.map((c) => c.principal).sort()).toEqual(['bob@example.com', 'carol@example.com'])
  })

  it('stores a co-approver\'s signature even when the release was published meanwhile', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    await approveAs(s, signer(s, 'alice'), id)
    const [a, b] = await Promise.all([approveAsCopy(s, signer(s, 'bob'), id), approveAsCopy(s, signer(s, 'carol'), id)])
    expect([a.kind, b.kind]).toContain('published')
    expect(h.registry.calls.filter((c) => c.answer === 'ok')).toHaveLength(1)
    expect((await h.record(id)).state).toBe('approved')
    expect(await stored(id)).toHaveLength(3)
  })
})

/** approveAs with its own options object, so two can run at once in one process. */
async function approveAsCopy(s: Setup, who: TestSigner, id: string): Promise<QuorumOutcome> {
  const ctx = { ...h.ctx, opts: { yes: true, otp: CODE, signingKey: who.key } }
  const current = await h.backend.getRecord(id)
  if (!current) throw new Error('no record')
  const prepared = await prepareApproval(current, ctx)
  if (!('ready' in prepared)) return { kind: 'published', finished: prepared.done, quorum: { tally: { required: 2, counted: [], refused: [], met: true, needed: 0 }, signed: 'none' } }
  return approveWithQuorum(prepared.ready, h.backend, s.quorum, ctx, async () => undefined)
}

describe('without a terminal', () => {
  it('the approval that completes the quorum is stored, and publishing without --otp is refused with what to run', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    await approveAs(s, signer(s, 'alice'), id)
    const ctx = { ...h.ctx, prompts: scriptedPrompts({}, false), opts: { yes: true, signingKey: signer(s, 'bob').key } }
    const current = await h.backend.getRecord(id)
    const prepared = current && (await prepareApproval(current, ctx))
    if (!prepared || !('ready' in prepared)) throw new Error('expected a release ready to approve')
    const err = await rejection(approveWithQuorum(prepared.ready, h.backend, s.quorum, ctx, async () => undefined))
    expect(err).toMatchObject({ code: 'ENEEDOTP' })
    expect(err.hint).toContain('Your approval is stored')
    expect(await stored(id)).toHaveLength(2)
    expect(h.registry.calls).toEqual([])
    // Anyone with the code then publishes without signing again.
    const done = await approveAs(s, signer(s, 'alice'), id)
    expect(done).toMatchObject({ kind: 'published', quorum: { signed: 'none' } })
    expect(h.registry.calls.map((c) => c.answer)).toEqual(['ok'])
  })
})

describe('statements that must not count', () => {
  async function aliceApproved(s: Setup, staged: Staged): Promise<ApprovalEnvelope> {
    await approveAs(s, signer(s, 'alice'), staged.id)
    return (await stored(staged.id))[0] as ApprovalEnvelope
  }

  async function tallyOf(s: Setup, id: string) {
    const record = await h.record(id)
    return countApprovals(record, subjectOf(record, record.integrity), s.quorum, {})
  }

  it('a statement signed for another release', async () => {
    const s = await setup(2)
    const other = await h.stage('lib', '0.9.0')
    const hers = await aliceApproved(s, other)
    const { id } = await h.stage('lib', '1.0.0')
    await writeApprovals(id, [hers])
    const bob = await approveAs(s, signer(s, 'bob'), id)
    expect(bob.kind).toBe('awaiting')
    expect(count(bob).refused).toEqual([expect.objectContaining({ index: 0, code: 'other-release', principal: 'alice@example.com' })])
    expect(h.registry.calls).toEqual([])
    expect(h.stderr()).toContain('signed for another release')
  })

  it('a tampered statement (its registry changed after signing)', async () => {
    const s = await setup(2)
    const staged = await h.stage('lib', '1.0.0')
    const hers = await aliceApproved(s, staged)
    const statement = JSON.parse(Buffer.from(hers.payload, 'base64').toString('utf8')) as { predicate: { registry: string } }
    statement.predicate.registry = 'https://evil.example/'
    await writeApprovals(staged.id, [{ ...hers, payload: Buffer.from(JSON.stringify(statement)).toString('base64') }])
    const tally = await tallyOf(s, staged.id)
    expect(tally.counted).toEqual([])
    expect(tally.refused).toEqual([expect.objectContaining({ code: 'signature', principal: 'alice@example.com' })])
    expect((await approveAs(s, signer(s, 'bob'), staged.id)).kind).toBe('awaiting')
    expect(h.registry.calls).toEqual([])
  })

  it('a signature that does not verify (by a listed key, over other bytes)', async () => {
    const s = await setup(2)
    const staged = await h.stage('lib', '1.0.0')
    const hers = await aliceApproved(s, staged)
    const key = await resolveSigningKey(signer(s, 'alice').key, process.cwd(), {})
    const other = await sshSign(key, pae(PAYLOAD_TYPE, Buffer.from('something else')), SIGNING_NAMESPACE, {})
    await writeApprovals(staged.id, [makeEnvelope(Buffer.from(hers.payload, 'base64'), key.fingerprint, other)])
    const tally = await tallyOf(s, staged.id)
    expect(tally.refused.map((r) => r.code)).toEqual(['signature'])
  })

  it('a signature for another purpose (an SSH signature under another namespace)', async () => {
    const s = await setup(2)
    const staged = await h.stage('lib', '1.0.0')
    const hers = await aliceApproved(s, staged)
    const key = await resolveSigningKey(signer(s, 'alice').key, process.cwd(), {})
    const git = await sshSign(key, pae(PAYLOAD_TYPE, Buffer.from(hers.payload, 'base64')), 'git', {})
    await writeApprovals(staged.id, [makeEnvelope(Buffer.from(hers.payload, 'base64'), key.fingerprint, git)])
    expect((await tallyOf(s, staged.id)).refused.map((r) => r.code)).toEqual(['namespace'])
  })

  it("a listed key signing as someone else (carol's name, alice's key)", async () => {
    const s = await setup(2)
    const staged = await h.stage('lib', '1.0.0')
    const hers = await aliceApproved(s, staged)
    const statement = JSON.parse(Buffer.from(hers.payload, 'base64').toString('utf8')) as { predicate: { signer: { principal: string } } }
    statement.predicate.signer.principal = 'carol@example.com'
    const bytes = Buffer.from(JSON.stringify(statement))
    const key = await resolveSigningKey(signer(s, 'alice').key, process.cwd(), {})
    const sig = await sshSign(key, pae(PAYLOAD_TYPE, bytes), SIGNING_NAMESPACE, {})
    await writeApprovals(staged.id, [hers, makeEnvelope(bytes, key.fingerprint, sig)])
    const tally = await tallyOf(s, staged.id)
    expect(tally.counted.map((c) => c.principal)).toEqual(['alice@example.com'])
    expect(tally.refused).toEqual([expect.objectContaining({ code: 'unlisted', principal: 'carol@example.com' })])
  })

  it('an unlisted key: the statement names a principal the file does not list it for', async () => {
    const s = await setup(2, { unlisted: true })
    const staged = await h.stage('lib', '1.0.0')
    const hers = await aliceApproved(s, staged)
    const statement = JSON.parse(Buffer.from(hers.payload, 'base64').toString('utf8')) as { predicate: { signer: { principal: string; keyFingerprint: string } } }
    const key = await resolveSigningKey(signer(s, 'mallory').key, process.cwd(), {})
    statement.predicate.signer = { principal: 'mallory@example.com', keyFingerprint: key.fingerprint }
    const bytes = Buffer.from(JSON.stringify(statement))
    await writeApprovals(staged.id, [makeEnvelope(bytes, key.fingerprint, await sshSign(key, pae(PAYLOAD_TYPE, bytes), SIGNING_NAMESPACE, {}))])
    expect((await tallyOf(s, staged.id)).refused.map((r) => r.code)).toEqual(['unlisted'])
  })

  it('many approvals (as verify-approvals may read from many records) are verified up to a bound; the rest are refused, not checked', async () => {
    const s = await setup(2, { unlisted: true })
    const staged = await h.stage('lib', '1.0.0')
    const record = await h.record(staged.id)
    const subject = subjectOf(record, record.integrity)
    const key = await resolveSigningKey(signer(s, 'mallory').key, process.cwd(), {})
    const forged: ApprovalEnvelope[] = []
    for (let i = 0; i < MAX_VERIFICATIONS + 2; i++) {
      const statement = buildStatement(subject, {
        signer: { principal: 'mallory@example.com', keyFingerprint: key.fingerprint },
        release: { id: staged.id },
        registry: h.registry.url,
        tag: 'latest',
        approvedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        review: { sha512: 'ab'.repeat(64), sha256: 'cd'.repeat(32) },
        policy: { required: 2, counted: 0 },
      })
      const bytes = statementBytes(statement)
      forged.push(makeEnvelope(bytes, key.fingerprint, await sshSign(key, pae(PAYLOAD_TYPE, bytes), SIGNING_NAMESPACE, {})))
    }
    const checked = await checkApprovals([...forged, ...forged], subject, s.quorum.signers, {})
    const codes = checked.map((c) => (c.ok ? 'ok' : c.code))
    expect(codes.filter((c) => c === 'unlisted')).toHaveLength(2 * MAX_VERIFICATIONS)
    expect(checked.filter((c) => !c.ok && c.code === 'malformed' && /more than 128/.test(c.why ?? ''))).toHaveLength(4)
  }, 60_000)

  it('a record filled with junk approvals does not stop a real one from being stored', async () => {
    const s = await setup(2)
    const other = await h.stage('lib', '0.9.0')
    const junk = await aliceApproved(s, other)
    const { id } = await h.stage('lib', '1.0.0')
    await writeApprovals(id, Array.from({ length: 32 }, () => junk))
    const bob = await approveAs(s, signer(s, 'bob'), id)
    expect(count(bob).counted.map((c) => c.principal)).toEqual(['bob@example.com'])
    expect(await stored(id)).toHaveLength(1)
  })
})

/** Approves with git's configuration as the only source of the key (no --signing-key). */
async function approveWithGit(s: Setup, id: string, env: NodeJS.ProcessEnv): Promise<QuorumOutcome> {
  const ctx = { ...h.ctx, opts: { yes: true, otp: CODE }, deps: { ...h.ctx.deps, env } }
  const current = await h.backend.getRecord(id)
  if (!current) throw new Error('no record')
  const prepared = await prepareApproval(current, ctx)
  if (!('ready' in prepared)) throw new Error('expected a release ready to approve')
  return approveWithQuorum(prepared.ready, h.backend, s.quorum, ctx, async () => undefined)
}

async function gitConfig(dir: string, signingKey: string): Promise<string> {
  const file = path.join(dir, 'gitconfig')
  await fs.writeFile(file, `[gpg]\n\tformat = ssh\n[user]\n\tsigningKey = ${signingKey}\n`)
  return file
}

describe('signing keys', () => {
  it("defaults to git's user.signingKey when gpg.format is ssh", async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    const env = { HOME: s.dir, GIT_CONFIG_GLOBAL: await gitConfig(s.dir, signer(s, 'bob').key), GIT_CONFIG_NOSYSTEM: '1' }
    const outcome = await approveWithGit(s, id, env)
    expect(outcome).toMatchObject({ kind: 'awaiting', quorum: { signed: 'signed', by: 'bob@example.com' } })
    // Without that configuration there is no key, and the error says how to give one.
    const err = await rejection(approveWithGit(s, id, { HOME: s.dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' }))
    expect(err).toMatchObject({ code: 'ESIGNKEY' })
    expect(err.hint).toContain('--signing-key')
  })

  it('signs with a key held by ssh-agent (a key:: literal, as git takes it), with no private key file', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    const sock = path.join(s.dir, 'agent.sock')
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' })
    try {
      for (let i = 0; i < 100 && !(await fs.stat(sock).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 50))
      const carol = signer(s, 'carol')
      await new Promise<void>((resolve, reject) => {
        const add = spawn('ssh-add', [carol.key], { env: { SSH_AUTH_SOCK: sock, PATH: process.env.PATH }, stdio: 'ignore' })
        add.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))))
      })
      await fs.rm(carol.key)
      const env = { HOME: s.dir, SSH_AUTH_SOCK: sock, GIT_CONFIG_GLOBAL: await gitConfig(s.dir, `key::${carol.publicKey}`), GIT_CONFIG_NOSYSTEM: '1' }
      const outcome = await approveWithGit(s, id, env)
      expect(outcome).toMatchObject({ kind: 'awaiting', quorum: { signed: 'signed', by: 'carol@example.com' } })
      expect(count(outcome).counted.map((c) => c.principal)).toEqual(['carol@example.com'])
    } finally {
      agent.kill()
    }
  })

  it("ssh-keygen's complaints are cut to one safe line", () => {
    expect(sshMessage('Signing data on standard input\nLoad key "/k": invalid format\n')).toBe('Load key "/k": invalid format')
    expect(sshMessage('bad \u001b[2Jthing\u202e')).not.toMatch(/[\u001b\u202e]/)
    expect(sshMessage('')).toBe('no reason given')
  })

  it('refuses a missing key file with a clear error and prints no key material', async () => {
    const s = await setup(2)
    const { id } = await h.stage('lib', '1.0.0')
    const missing = { ...signer(s, 'alice'), key: path.join(s.dir, 'nope') }
    const err = await rejection(approveAs(s, missing, id))
    expect(err.code).toBe('ESIGNKEY')
    const privateKey = await fs.readFile(signer(s, 'alice').key, 'utf8')
    expect(`${err.message}${err.hint ?? ''}${h.stderr()}`).not.toContain(privateKey.split('\n')[1])
  })
})

describe('a batch under a 2-of-3 policy', () => {
  it('signs each release once after one confirmation, publishes nothing until the quorum, then publishes each once', async () => {
    const s = await setup(2)
    const a = await h.stage('lib-a', '1.0.0')
    const b = await h.stage('lib-b', '1.0.0', { dependencies: { 'lib-a': '^1.0.0' } })
    const releases = async () => Promise.all([a.id, b.id].map(async (id) => (await h.backend.getRecord(id)) as NonNullable<Awaited<ReturnType<typeof h.backend.getRecord>>>))

    // Alice, in a terminal: one confirmation, no one-time password (nothing can be published yet).
    const prompts = scriptedPrompts({ confirm: [true] })
    h.ctx = { ...h.ctx, prompts, opts: { signingKey: signer(s, 'alice').key } }
    await approveBatch({ releases: await releases(), setId: null }, h.ctx)
    expect(prompts.asked.map((q) => q.kind)).toEqual(['confirm'])
    expect(h.registry.calls).toEqual([])
    for (const id of [a.id, b.id]) expect(await stored(id)).toHaveLength(1)
    expect(h.stdout()).toContain('1 of 2 approvals, 1 more needed')

    // Bob completes both: one code for the two publishes, dependencies first.
    h.ctx = { ...h.ctx, prompts: scriptedPrompts(), opts: { yes: true, otp: CODE, signingKey: signer(s, 'bob').key } }
    await approveBatch({ releases: await releases(), setId: null }, h.ctx)
    expect(h.registry.calls.map((c) => `${c.name}:${c.answer}`)).toEqual(['lib-a:ok', 'lib-b:ok'])
    for (const id of [a.id, b.id]) {
      expect((await h.record(id)).state).toBe('approved')
      expect(await stored(id)).toHaveLength(2)
    }
  })
})
