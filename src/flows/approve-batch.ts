/**
 * Approving several releases at once (`approve <id> <id>...`, `--package`, `--all`, `<set-id>`):
 *   prepare each (verify, review, policy: nothing is asked while any fails) → the publish order
 *   (dependencies first) → one confirmation → one one-time password → publish each in order, every
 *   one by its own claim → publish → approved (./approve-one.ts) → the summary.
 * A release whose dependency was not published waits (pending). A refused code that worked before
 * (expired, or used up on a registry that refuses replays) gets one fresh prompt in a terminal;
 * without one, or when no code is accepted, the run stops there and says what is still pending.
 * Nothing is ever left half-done: a failed release is released back to pending.
 */
import { StagePublishError, errorToJson, isStagePublishError } from '../errors.js'
import { blockingDependencies, dependenciesAmong, publishOrder, summarizeBatch, type BatchMember, type Outcome } from '../core/batch.js'
import type { StagedRecord } from '../core/record.js'
import { renderPlan, renderSummary, type PlanEntry } from '../ui/render-batch.js'
import { renderApprovalSummary } from '../ui/render.js'
import { prepareApproval, publishApproved, requireSetDependencies, type ApprovalContext, type Finished, type Ready } from './approve-one.js'
import type { OtpSession } from './otp.js'
import { factsOf } from './facts.js'
import { inline } from '../ui/sanitize.js'
import { followUp } from './follow-up.js'
import type { Selection } from './select.js'
import { announceApproved, isNewlyApproved } from './notify.js'
import { isNative, type CasStagingBackend } from '../backends/types.js'
import type { Quorum } from './quorum.js'
import { signRelease } from './quorum-approve.js'

export async function approveBatch(selection: Selection, ctx: ApprovalContext): Promise<void> {
  const { out, opts, prompts } = ctx
  if (!selection.releases.length) {
    if (out.json) out.data(summarizeBatch([], new Map(), selection.setId))
    else out.line(`Nothing is waiting for approval${opts.package ? ` of ${inline(opts.package)}` : ''} in ${inline(ctx.backend.location)}.`)
    return
  }

  // Every release is checked and reviewed before anything is asked: one that cannot be approved stops them all.
  const ready = new Map<string, Ready>()
  const outcomes = new Map<string, Outcome>()
  const manifests = new Map<string, Record<string, unknown>>()
  const refused: Array<{ record: StagedRecord; err: unknown }> = []
  // What this run approved, for the `approved` webhook event (./notify.ts).
  const approved: Finished[] = []
  for (const current of selection.releases) {
    try {
      const prepared = await prepareApproval(current, ctx)
      if ('done' in prepared) {
        outcomes.set(current.record.id, outcomeOf(prepared.done))
        if (isNewlyApproved(prepared.done, ctx.backend)) approved.push(prepared.done)
      } else {
        out.tell(renderApprovalSummary(prepared.ready.record, factsOf(prepared.ready.staged, prepared.ready.provenanceShown), prepared.ready.target.registry, ctx.deps.now(), out.style))
        ready.set(current.record.id, prepared.ready)
        manifests.set(current.record.id, prepared.ready.staged.contents.manifest)
      }
    } catch (err) {
      refused.push({ record: current.record, err })
    }
  }
  const names = new Set(selection.releases.map((v) => v.record.packageName))
  for (const [id, r] of ready) {
    await requireSetDependencies(r, names, ctx).catch((err: unknown) => {
      ready.delete(id)
      refused.push({ record: r.record, err })
    })
  }
  if (refused.length) throw cannotApprove(refused, selection.releases.length, followUp(ctx.backend, 'reject <id>'))

  const members: BatchMember[] = selection.releases.map(({ record }) => ({
    id: record.id,
    name: record.packageName,
    version: record.version,
    dependsOn: dependenciesAmong(manifests.get(record.id) ?? {}, names),
  }))
  const { order, cycles } = publishOrder(members)
  const resume = followUp(ctx.backend, `approve ${selection.setId ?? '<ids>'}`)

  if (ready.size) {
    const plan: PlanEntry[] = order.map((m) => {
      const done = outcomes.get(m.id)
      return {
        name: m.name,
        version: m.version,
        registry: ready.get(m.id)?.target.registry ?? '',
        dependsOn: m.dependsOn,
        ...(done && { done: done.status === 'already-approved' ? ('already-approved' as const) : ('already-published' as const) }),
      }
    })
    out.tell(renderPlan(plan, cycles, selection.setId, out.style))
    const registries = [...new Set([...ready.values()].map((r) => r.target.registry))].join(', ')
    const these = ready.size === 1 ? 'this release' : `these ${ready.size} releases`
    const question = ctx.quorum ? `Sign your approval of ${these} (one signature each) and publish those whose approvals are complete to ${registries}?` : `Publish ${these} to ${registries}?`
    if (!opts.yes && !(await prompts.confirm(question))) {
      throw new StagePublishError('EABORTED', 'Not approved; nothing was published', { hint: 'The releases are still pending.' })
    }
    // stagePublish.approvals: one signature per release, no further question; only those whose quorum is met go on.
    if (ctx.quorum && !isNative(ctx.backend)) await signEach(order, ready, outcomes, ctx.backend, ctx.quorum, ctx)
    if ([...ready.keys()].some((id) => !outcomes.has(id))) {
      const session: OtpSession = {
        accepted: false,
        ...(opts.otp ? { code: opts.otp } : ctx.authType === 'legacy' ? { code: await otpOrRefuse(ctx) } : {}),
      }
      await publishInOrder(order, ready, outcomes, session, ctx, approved)
    }
  }
  await announceApproved(approved, selection.setId, ctx.deps, out)

  const summary = summarizeBatch(order, outcomes, selection.setId)
  const left = [...summary.failed, ...summary.pending].map((e) => e.id)
  const resumeCommand = selection.setId ? resume : resume.replace('<ids>', left.join(' '))
  if (out.json) out.data({ ...summary, ...(summary.complete ? {} : { resume: resumeCommand }) })
  else out.line(renderSummary(summary, resumeCommand, out.style))
  // Waiting only for other approvers' signatures (or for releases that do) is what a first approval leaves: not a failure.
  const onlyAwaiting = summary.failed.length === 0 && summary.pending.length > 0 && summary.pending.every((p) => p.reason === 'approvals' || p.reason === 'dependency') && summary.pending.some((p) => p.reason === 'approvals')
  if (!summary.complete && !onlyAwaiting) {
    throw new StagePublishError('ENOTALLPUBLISHED', `${left.length} of ${order.length} releases were not published`, { reported: true })
  }
}

async function publishInOrder(order: BatchMember[], ready: Map<string, Ready>, outcomes: Map<string, Outcome>, session: OtpSession, ctx: ApprovalContext, approved: Finished[]): Promise<void> {
  const { out } = ctx
  let stopped = false
  let n = 0
  for (const m of order) {
    const release = ready.get(m.id)
    if (!release || outcomes.has(m.id)) continue
    n++
    if (stopped) {
      outcomes.set(m.id, { status: 'pending', reason: 'stopped' })
      continue
    }
    const blocking = blockingDependencies(m, order, outcomes)
    if (blocking.length) {
      outcomes.set(m.id, { status: 'pending', reason: 'dependency', on: blocking })
      continue
    }
    out.notice(out.style('dim', `Publishing ${inline(m.name)}@${inline(m.version)} (${n} of ${ready.size})...`))
    try {
      const finished = await publishApproved(release, session, ctx)
      outcomes.set(m.id, outcomeOf(finished))
      if (isNewlyApproved(finished, ctx.backend)) approved.push(finished)
    } catch (err) {
      const error = errorToJson(err).error
      // No usable one-time password (none accepted, none can be asked for): stop here, cleanly.
      if (isStagePublishError(err) && (err.code === 'EOTP' || err.code === 'EABORTED')) {
        outcomes.set(m.id, { status: 'pending', reason: 'otp', error })
        stopped = true
      } else {
        outcomes.set(m.id, { status: 'failed', error })
      }
    }
  }
}

/** Signs each prepared release once, in publish order; a release whose quorum is not met yet waits (pending: approvals). */
async function signEach(order: BatchMember[], ready: Map<string, Ready>, outcomes: Map<string, Outcome>, backend: CasStagingBackend, quorum: Quorum, ctx: ApprovalContext): Promise<void> {
  for (const m of order) {
    const release = ready.get(m.id)
    if (!release || outcomes.has(m.id)) continue
    try {
      const signed = await signRelease(release, backend, quorum, ctx, () => Promise.resolve())
      if (signed.kind === 'done') outcomes.set(m.id, outcomeOf(signed.finished))
      else if (signed.kind === 'awaiting') outcomes.set(m.id, { status: 'pending', reason: 'approvals', count: signed.view.tally.counted.length, required: signed.view.tally.required })
      else ready.set(m.id, { ...release, current: signed.current })
    } catch (err) {
      outcomes.set(m.id, { status: 'failed', error: errorToJson(err).error })
    }
  }
}

/** The one-time password for what is left to publish; without a terminal, ENEEDOTP (the signatures are stored). */
async function otpOrRefuse(ctx: ApprovalContext): Promise<string> {
  if (!ctx.prompts.interactive) {
    throw new StagePublishError('ENEEDOTP', 'Approvals are complete for some releases, but publishing needs a one-time password and there is no terminal to ask on', {
      hint: 'Your signatures are stored; nothing was published. Run the same command again with --otp <code>.',
      exitCode: 2,
    })
  }
  return ctx.prompts.otp('One-time password from your authenticator:')
}

function outcomeOf(done: Finished): Outcome {
  if (done.how.alreadyApproved) return { status: 'already-approved', ...(done.record.approvedBy && { by: done.record.approvedBy }), ...(done.record.approvedAt && { at: done.record.approvedAt }) }
  return done.how.alreadyPublished ? { status: 'already-published' } : { status: 'published' }
}

/** Checks failed before anything was asked: one error that names every release and why. */
function cannotApprove(refused: Array<{ record: StagedRecord; err: unknown }>, total: number, rejectCommand: string): StagePublishError {
  const first = refused[0] as { record: StagedRecord; err: unknown }
  const lines = refused.map(({ record, err }) => {
    const e = errorToJson(err).error
    return `  ${inline(record.packageName)}@${inline(record.version)} (${inline(record.id)}): ${inline(e.code)}: ${inline(e.summary)}`
  })
  const code = isStagePublishError(first.err) ? first.err.code : 'EBACKEND'
  return new StagePublishError(code, `Nothing was published: ${refused.length} of ${total} releases cannot be approved\n${lines.join('\n')}`, {
    hint: refused.length === 1 && isStagePublishError(first.err) && first.err.hint ? first.err.hint : `Fix or reject them (${rejectCommand}), then approve again.`,
    ...(isStagePublishError(first.err) && { exitCode: first.err.exitCode }),
  })
}
