/**
 * Approving one verified, reviewed release under package.json `stagePublish.approvals`:
 *   count the stored approvals (each re-verified) → met already? publish →
 *   else the approver's key must be listed (and not the stager's, unless allowed) →
 *   confirm → sign the statement (ssh-keygen -Y sign) → store it with the record by compare-and-set
 *   (re-read and retried, so racing co-approvers each keep theirs) → count again →
 *   not met: nothing is published, the count is reported; met: one-time password → publish once
 *   (the claim of ./claim.ts arbitrates between approvers who complete the quorum at the same time).
 */
import { StagePublishError } from '../errors.js'
import { APPROVAL_LIMITS, makeEnvelope, pae, PAYLOAD_TYPE, SIGNING_NAMESPACE, type ApprovalEnvelope } from '../core/approval-envelope.js'
import { buildStatement, reviewDigest, statementBytes, type ApprovalSubject } from '../core/approval-statement.js'
import { principalFor } from '../core/approval-signers.js'
import type { Tally } from '../core/approval-count.js'
import type { CasStagingBackend, Versioned } from '../backends/types.js'
import { resolveSigningKey, sshSign, type SigningKey } from '../origin/ssh-sign.js'
import { countLine, refusedLines, type AwaitingView, type QuorumView } from '../ui/render-approvals.js'
import { inline } from '../ui/sanitize.js'
import { publishApproved, type ApprovalContext, type Finished, type Ready } from './approve-one.js'
import { followUp } from './follow-up.js'
import { settleOthers } from './claim.js'
import { checkApprovals, countApprovals, stagerOf, subjectOf, type Quorum } from './quorum.js'

export type QuorumOutcome = { kind: 'published'; finished: Finished; quorum: QuorumView } | ({ kind: 'awaiting' } & AwaitingView)

/** Asks before signing (unless --yes): what the signature does, and whether it publishes. */
type Confirm = (question: string) => Promise<void>

export async function approveWithQuorum(ready: Ready, backend: CasStagingBackend, quorum: Quorum, ctx: ApprovalContext, confirm: Confirm): Promise<QuorumOutcome> {
  const signed = await signRelease(ready, backend, quorum, ctx, confirm)
  if (signed.kind === 'done') return { kind: 'published', finished: signed.finished, quorum: signed.view }
  if (signed.kind === 'awaiting') return awaiting(signed.current, signed.view, ctx)
  return publish(ready, signed.current, signed.view, ctx)
}

/** Where a release stands after its approver signed (or found their signature there already). */
export type SignedRelease =
  /** The quorum is met: publish it, from this version of the record. */
  | { kind: 'met'; current: Versioned; view: QuorumView }
  /** Not yet: nothing may be published. */
  | { kind: 'awaiting'; current: Versioned; view: QuorumView }
  /** Published meanwhile by a co-approver. */
  | { kind: 'done'; finished: Finished; view: QuorumView }

/** The approver's key, resolved once per run (a batch signs every release with it). */
const keys = new WeakMap<ApprovalContext, Map<string | undefined, Promise<SigningKey>>>()
function signingKey(ctx: ApprovalContext): Promise<SigningKey> {
  let known = keys.get(ctx)
  if (!known) keys.set(ctx, (known = new Map<string | undefined, Promise<SigningKey>>()))
  const flag = ctx.opts.signingKey
  let key = known.get(flag)
  if (!key) {
    known.set(flag, (key = resolveSigningKey(flag, ctx.deps.cwd, ctx.deps.env)))
    key.catch(() => known.delete(flag))
  }
  return key
}

/** Counts, signs and stores one approval (one ssh-keygen -Y sign), and counts again. Publishes nothing. */
export async function signRelease(ready: Ready, backend: CasStagingBackend, quorum: Quorum, ctx: ApprovalContext, confirm: Confirm): Promise<SignedRelease> {
  const { deps, out } = ctx
  const { record, target } = ready
  const what = `${target.name}@${target.version}`
  const subject = subjectOf(record, record.integrity)
  const before = await countApprovals(ready.current.record, subject, quorum, deps.env)
  for (const line of refusedLines(before)) out.warn(`${inline(what)}: ${line}`)
  out.tell(`Approvals of ${inline(what)}: ${countLine(before)}${before.counted.length ? ` (${before.counted.map((c) => inline(c.principal)).join(', ')})` : ''}`)

  if (before.met) {
    await confirm(`Publish ${what} to ${target.registry}? (${countLine(before)})`)
    return { kind: 'met', current: ready.current, view: { tally: before, signed: 'none' } }
  }

  const key = await signingKey(ctx)
  const principal = principalFor(quorum.signers.entries, key.fingerprint, SIGNING_NAMESPACE)
  if (!principal) {
    throw new StagePublishError('ESIGNER', `The signing key ${key.fingerprint} (${key.label}) is not listed in ${quorum.signers.path} for approvals`, {
      hint: `Only keys in allowed_signers count toward a release (for the ${SIGNING_NAMESPACE} namespace when the line limits namespaces=). Ask a maintainer to add your key, or sign with a listed one (--signing-key <path>). Nothing was signed or published.`,
    })
  }
  const stager = stagerOf(record)
  if (!quorum.policy.allowSelfApproval && stager === principal) {
    throw new StagePublishError('ESIGNER', `${principal} staged ${what}, so their approval does not count toward it`, {
      hint: 'Another listed signer must approve it (or set "allowSelfApproval": true in package.json stagePublish.approvals). Nothing was signed or published.',
    })
  }
  const mine = before.counted.find((c) => c.principal === principal || c.fingerprint === key.fingerprint)
  if (mine) {
    out.notice(`You (${inline(principal)}) approved ${inline(what)} already; a signer counts once.`)
    return { kind: 'awaiting', current: ready.current, view: { tally: before, signed: 'already', by: principal } }
  }

  const completes = before.counted.length + 1 >= before.required
  await confirm(
    completes
      ? `Approve ${what} as ${principal} and publish it to ${target.registry}? (your approval is ${before.counted.length + 1} of ${before.required})`
      : `Sign your approval of ${what} as ${principal}? (${before.counted.length + 1} of ${before.required}; nothing is published yet)`,
  )
  const envelope = await sign(ready, subject, key, principal, before, ctx)
  // Our own signature must count before it is stored: a key the file refuses here (valid-before, namespaces) is said now.
  const [own] = await checkApprovals([envelope], subject, quorum.signers, deps.env)
  if (!own?.ok) {
    throw new StagePublishError('ESIGNER', `Your approval of ${what} does not verify against ${quorum.signers.path}${own && !own.ok && own.why ? `: ${own.why}` : ''}`, {
      hint: 'Check your line in allowed_signers (its namespaces= and validity options). Nothing was stored or published.',
    })
  }
  const stored = await storeApproval(backend, ready.current, envelope, subject, quorum, ctx)
  const after = await countApprovals(stored.record, subject, quorum, deps.env)
  const view: QuorumView = { tally: after, signed: 'signed', by: principal }
  if (stored.record.state === 'approved') return { kind: 'done', finished: { record: stored.record, how: { alreadyApproved: true } }, view }
  return { kind: after.met ? 'met' : 'awaiting', current: stored, view }
}

function awaiting(current: Versioned, quorum: QuorumView, ctx: ApprovalContext): QuorumOutcome {
  return { kind: 'awaiting', record: current.record, quorum, now: ctx.deps.now() }
}

async function publish(ready: Ready, current: Versioned, quorum: QuorumView, ctx: ApprovalContext): Promise<QuorumOutcome> {
  const { opts, prompts, authType } = ctx
  if (!opts.otp && authType === 'legacy' && !prompts.interactive) {
    throw new StagePublishError('ENEEDOTP', `${ready.target.name}@${ready.target.version} has its approvals (${countLine(quorum.tally)}), but publishing needs a one-time password and there is no terminal to ask on`, {
      hint: `${quorum.signed === 'signed' ? 'Your approval is stored. ' : ''}Nothing was published. Run ${followUp(ctx.backend, `approve ${ready.record.id}`)} --yes --otp <code>.`,
      exitCode: 2,
    })
  }
  const otp = opts.otp ?? (authType === 'legacy' ? await prompts.otp('One-time password from your authenticator:') : undefined)
  const finished = await publishApproved({ ...ready, current }, { accepted: false, ...(otp && { code: otp }) }, ctx)
  return { kind: 'published', finished, quorum }
}

async function sign(ready: Ready, subject: ApprovalSubject, key: SigningKey, principal: string, before: Tally, ctx: ApprovalContext): Promise<ApprovalEnvelope> {
  const { record, target, review } = ready
  const statement = buildStatement(subject, {
    signer: { principal, keyFingerprint: key.fingerprint },
    release: { id: record.id },
    registry: target.registry,
    tag: target.tag,
    approvedAt: ctx.deps.now().toISOString(),
    review: reviewDigest(review),
    policy: { required: before.required, counted: before.counted.length },
  })
  const bytes = statementBytes(statement)
  const armored = await sshSign(key, pae(PAYLOAD_TYPE, bytes), SIGNING_NAMESPACE, ctx.deps.env)
  return makeEnvelope(bytes, key.fingerprint, armored)
}

/**
 * Adds the approval to the record by compare-and-set, re-reading on conflict so that approvers racing
 * each keep theirs. A record full of approvals that do not verify (an attacker's filler) is pruned of
 * them first: they cannot block a real one.
 */
async function storeApproval(backend: CasStagingBackend, current: Versioned, envelope: ApprovalEnvelope, subject: ApprovalSubject, quorum: Quorum, ctx: ApprovalContext): Promise<Versioned> {
  for (let attempt = 0; attempt < 30; attempt++) {
    // Someone holds the claim and is publishing: changing the record now would make their compare-and-set
    // fail (letting go of a failed publish most of all). Wait for them, as a second approver does.
    if (current.record.state === 'approving') current = await settleOthers(backend, current, ctx.timing, ctx.deps, ctx.out)
    const { record } = current
    if (record.state === 'rejected') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected while you were approving it`, { hint: 'Nothing was stored or published.' })
    }
    let approvals = [...(record.approvals ?? []), envelope]
    if (approvals.length > APPROVAL_LIMITS.perRecord) {
      const checked = await checkApprovals(record.approvals ?? [], subject, quorum.signers, ctx.deps.env)
      approvals = [...(record.approvals ?? []).filter((_, i) => checked[i]?.ok), envelope]
      if (approvals.length > APPROVAL_LIMITS.perRecord) {
        throw new StagePublishError('ECONFLICT', `${record.packageName}@${record.version} already holds ${APPROVAL_LIMITS.perRecord} valid approvals`, { hint: 'Nothing more is needed from you.' })
      }
    }
    // Published meanwhile by a co-approver: the signature is still stored, as evidence of who approved these bytes.
    const next = { ...record, approvals }
    const result = await backend.updateRecord(next, current.etag)
    if (result.updated) return { record: next, etag: result.etag }
    const again = await backend.getRecord(record.id)
    if (!again) throw new StagePublishError('ENOTFOUND', `The staged release ${record.id} disappeared from ${backend.location}`)
    current = again
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80))
  }
  throw new StagePublishError('ECONFLICT', `Could not store your approval of ${current.record.packageName}@${current.record.version}: the record keeps changing`, { hint: 'Run the command again; nothing was published.' })
}
