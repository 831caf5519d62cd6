/**
 * `stage-publish approve`: what was named decides the path.
 *   one release id   verify → pins (--expect, --verify-local) → registry check → review and policy →
 *                    confirm → one-time password → publish (./approve-one.ts), then report;
 *   anything else    a batch (./batch.ts): several ids, a release set id, --package, --all.
 * Without a terminal nothing is asked: missing --yes or --otp is a usage error before any I/O.
 */
import { StagePublishError } from '../errors.js'
import { parseDuration } from '../core/duration.js'
import { isNative, type Versioned } from '../backends/types.js'
import { loadNpmConfig } from '../npm/config.js'
import { createPrompts } from '../ui/prompts.js'
import { renderApprovalSummary } from '../ui/render.js'
import type { ApprovedView } from '../ui/render-approve.js'
import type { AwaitingView } from '../ui/render-approvals.js'
import type { Output } from '../ui/output.js'
import { backendFor, type Deps } from './context.js'
import type { ApproveRequest } from './approve-request.js'
import { prepareApproval, publishApproved, requireSetDependencies, type ApprovalContext } from './approve-one.js'
import { approveBatch } from './approve-batch.js'
import { backendArg } from './follow-up.js'
import { parsePins, type Pins } from './pin.js'
import { factsOf } from './facts.js'
import { loadGate } from './review.js'
import { requireComplete, resolveName, selectReleases } from './select.js'
import { announceApproved, isNewlyApproved } from './notify.js'
import { finalHopChoice } from './final-hop.js'
import { loadQuorum, requireQuorumBackend } from './quorum.js'
import { approveWithQuorum } from './quorum-approve.js'

export type { ApproveRequest }

const DEFAULT_CLAIM_TIMEOUT = '10m'
/** How long a second approver waits for a first one to finish before giving up (--wait). */
const DEFAULT_WAIT_FOR_OTHER = '60s'

/**
 * What approving did: one release's outcome, for the command to render (src/ui/render-approve.ts), or
 * `batch` when a batch ran, which reports its own plan and summary (./batch.ts) because its summary
 * must be printed before it fails with ENOTALLPUBLISHED.
 */
export type ApproveOutcome = ({ kind: 'one' } & ApprovedView) | { kind: 'batch' } | ({ kind: 'awaiting' } & AwaitingView)

export async function approveRelease(names: string[], opts: ApproveRequest, deps: Deps, out: Output): Promise<ApproveOutcome> {
  const prompts = deps.prompts ?? createPrompts(deps.promptStreams)
  // --auth-type is one of the two when the command line is parsed (src/commands/approve.ts).
  const authType = opts.authType ?? 'legacy'
  if (opts.otp !== undefined && !/^\S{4,}$/.test(opts.otp)) {
    throw new StagePublishError('EUSAGE', '--otp needs the code from your authenticator app', { exitCode: 2 })
  }
  const many = checkSelection(names, opts)
  // M-of-N approvals: the approver's own project says so (never the staged package).
  const quorum = await loadQuorum(deps.cwd)
  if (!quorum && opts.signingKey !== undefined) {
    throw new StagePublishError('EUSAGE', '--signing-key signs approvals, and this project asks for none', {
      hint: 'Set package.json "stagePublish": { "approvals": { "required": 2, "allowedSigners": ".github/allowed_signers" } } in the project you approve from, or leave --signing-key out.',
      exitCode: 2,
    })
  }
  // Without a terminal nothing can be asked: say which flags are missing before doing anything.
  // Under a quorum the one-time password is needed only by the approval that completes it.
  if (!prompts.interactive) {
    const missing = [...(!opts.yes ? ['--yes'] : []), ...(!opts.otp && authType === 'legacy' && !quorum ? ['--otp <code>'] : [])]
    if (missing.length) {
      const what = opts.all ? '--all' : opts.package !== undefined ? `--package ${opts.package}` : names.join(' ')
      throw new StagePublishError(opts.otp || authType === 'web' ? 'ENEEDCONFIRM' : 'ENEEDOTP', `No terminal to ask on: approving needs ${missing.join(' and ')}`, {
        hint: `Run it in a terminal, or pass ${missing.join(' ')} (for example: stage-publish approve ${what} --yes --otp <code>${backendArg(opts.backend, deps.env)}).`,
        exitCode: 2,
      })
    }
  }
  const claimTimeoutMs = parseDuration(deps.env.STAGE_PUBLISH_CLAIM_TIMEOUT || DEFAULT_CLAIM_TIMEOUT)
  // Bad pins and policies are usage or config errors, found before anything is fetched.
  const pins = parsePins(opts)
  if (many) refusePins(pins)
  const gate = await loadGate(deps.cwd, opts.allow ?? [])
  const waitMs = parseDuration(opts.wait ?? DEFAULT_WAIT_FOR_OTHER)
  finalHopChoice(opts.finalHop, deps.env) // a bad STAGE_PUBLISH_FINAL_HOP is a usage error before any I/O

  const backend = await backendFor(opts, deps)
  if (opts.finalHop === 'publish' && isNative(backend)) {
    throw new StagePublishError('EUSAGE', '--final-hop publish: releases staged on a registry are approved there, never published around it', {
      hint: '--final-hop chooses how releases staged in a directory or a bucket reach the registry; leave it out with --backend registry.',
      exitCode: 2,
    })
  }
  if (quorum) requireQuorumBackend(backend)
  const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: { ...(opts.userconfig && { userconfig: opts.userconfig }) } })
  // npm's `color` from .npmrc: loaded here anyway, so it costs nothing (src/ui/color.ts).
  if (!conf.isDefault('color')) out.useNpmColor(conf.get('color'))
  const ctx: ApprovalContext = { opts, deps, out, prompts, authType, timing: { claimTimeoutMs, waitMs }, gate, conf, backend, quorum }

  if (many) {
    await approveBatch(await selectReleases(backend, names, opts, deps.now()), ctx)
    return { kind: 'batch' }
  }
  const named = await resolveName(backend, names[0] as string)
  if (named.kind === 'release') return approveOne(named.current, pins, ctx)
  refusePins(pins)
  requireComplete(named.set)
  await approveBatch({ releases: named.members, setId: named.set.setId }, ctx)
  return { kind: 'batch' }
}

/** One of: ids (or set ids), --package, --all. True when that is more than one release id. */
function checkSelection(names: string[], opts: ApproveRequest): boolean {
  const ways = [names.length > 0, opts.package !== undefined, Boolean(opts.all)].filter(Boolean).length
  if (ways !== 1) {
    throw new StagePublishError('EUSAGE', ways === 0 ? 'approve needs what to approve' : 'approve takes ids, --package or --all: one of them', {
      hint: 'stage-publish approve <id|set-id> [<id>...], or --package <name> (its pending releases), or --all (every pending release).',
      exitCode: 2,
    })
  }
  return names.length !== 1
}

function refusePins(pins: Pins): void {
  if (!pins.expected && pins.local === undefined) return
  throw new StagePublishError('EUSAGE', '--expect and --verify-local pin one release: approve it on its own', {
    hint: 'stage-publish approve <id> --expect <digest> (or --verify-local <dir>), then approve the rest.',
    exitCode: 2,
  })
}

async function approveOne(current: Versioned, pins: Pins, ctx: ApprovalContext): Promise<ApproveOutcome> {
  const { opts, deps, out, prompts } = ctx
  const prepared = await prepareApproval(current, ctx, pins)
  if ('done' in prepared) {
    if (isNewlyApproved(prepared.done, ctx.backend)) await announceApproved([prepared.done], null, deps, out)
    return { kind: 'one', ...prepared.done, now: deps.now() }
  }
  const { ready } = prepared
  const { target } = ready
  await requireSetDependencies(ready, new Set(), ctx)

  out.tell(renderApprovalSummary(ready.record, factsOf(ready.staged, ready.provenanceShown), target.registry, deps.now(), out.style))
  if (ctx.quorum && !isNative(ctx.backend)) {
    const outcome = await approveWithQuorum(ready, ctx.backend, ctx.quorum, ctx, async (question) => {
      if (!opts.yes && !(await prompts.confirm(question))) {
        throw new StagePublishError('EABORTED', 'Not approved; nothing was signed or published', { hint: 'The release is still pending.' })
      }
    })
    if (outcome.kind === 'awaiting') return outcome
    return { kind: 'one', ...outcome.finished, how: { ...outcome.finished.how, quorum: outcome.quorum }, now: deps.now() }
  }
  if (!opts.yes && !(await prompts.confirm(`Publish ${target.name}@${target.version} to ${target.registry}?`))) {
    throw new StagePublishError('EABORTED', 'Not approved; nothing was published', { hint: 'The release is still pending.' })
  }
  const otp = opts.otp ?? (ctx.authType === 'legacy' ? await prompts.otp('One-time password from your authenticator:') : undefined)
  const finished = await publishApproved(ready, { accepted: false, ...(otp && { code: otp }) }, ctx)
  if (isNewlyApproved(finished, ctx.backend)) await announceApproved([finished], null, deps, out)
  return { kind: 'one', ...finished, now: deps.now() }
}
