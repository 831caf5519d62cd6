/**
 * `stage-publish reject`: refuse a staged release.
 * Record stores keep the record (rejected, with who, when and why: the audit trail) by
 * compare-and-set, then delete the bytes. A registry that stages natively deletes its item
 * (`DELETE /-/stage/<id>`), which needs the approver's one-time password, as npm asks for it.
 */
import { StagePublishError } from '../errors.js'
import { checkFreeText } from '../core/text.js'
import { rejectedRecord, type StagedRecord } from '../core/record.js'
import { isNative, type CasStagingBackend, type NativeStagingBackend, type Versioned } from '../backends/types.js'
import { loadNpmConfig } from '../npm/config.js'
import { localActor } from '../origin/origin.js'
import { createPrompts, type Prompts } from '../ui/prompts.js'
import { formatTime } from '../ui/format.js'
import type { Output } from '../ui/output.js'
import type { RejectResult } from '../ui/render-reject.js'
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { withOneTimePassword } from './otp.js'
import { resolveName } from './select.js'
import { inline } from '../ui/sanitize.js'
import { followUp } from './follow-up.js'
import { announceRejected } from './notify.js'

/** What `reject` is asked to do; the command checks the flags when it parses them (src/commands/reject.ts). */
export interface RejectRequest extends BackendRequest {
  reason?: string
  /** Remove a record that does not parse (with an audit entry); a valid one is rejected as usual. */
  force?: boolean
  /** Do not ask for confirmation (required without a terminal). */
  yes?: boolean
  /** Registry backend: the one-time password its DELETE needs. */
  otp?: string
  /** Registry backend: legacy (a code, the default) or web (browser sign-in). */
  authType?: 'legacy' | 'web'
}

/**
 * Rejects (or with --force removes a corrupt record) and returns what was done; the command renders it
 * (src/ui/render-reject.ts). `out` carries what must show while the flow runs: a notice that --force
 * found a valid record, a registry's note that it keeps no reason, and the one-time-password prompts.
 */
export async function rejectRelease(rawId: string, opts: RejectRequest, deps: Deps, out: Output): Promise<RejectResult> {
  checkReason(opts.reason)
  const prompts = deps.prompts ?? createPrompts(deps.promptStreams)
  const backend = await backendFor(opts, deps)
  // Without a terminal nothing can be asked: say which flags are missing before reading anything.
  if (!prompts.interactive) {
    const missing = [...(!opts.yes ? ['--yes'] : []), ...(isNative(backend) && !opts.otp && opts.authType !== 'web' ? ['--otp <code>'] : [])]
    if (missing.length) {
      throw new StagePublishError(missing.includes('--yes') ? 'ENEEDCONFIRM' : 'ENEEDOTP', `No terminal to ask on: rejecting needs ${missing.join(' and ')}`, {
        hint: `Run it in a terminal, or pass ${missing.join(' ')} (for example: ${followUp(backend, `reject ${rawId} ${missing.join(' ')}`)}).`,
        exitCode: 2,
      })
    }
  }
  if (opts.force) {
    const { removeIfCorrupt } = await import('./reject-corrupt.js')
    const removed = await removeIfCorrupt(backend, rawId, opts.reason, deps.now(), out)
    if (removed) return { kind: 'removed', removal: removed }
  }
  const named = await resolveName(backend, rawId)
  if (named.kind === 'set') {
    throw new StagePublishError('EUSAGE', `${rawId} is a release set: reject its releases one by one`, {
      hint: `Its releases: ${named.members.map((m) => `${m.record.packageName}@${m.record.version} ${m.record.id}`).join(', ')}.`,
      exitCode: 2,
    })
  }
  const confirm = async (record: StagedRecord): Promise<void> => {
    if (opts.yes) return
    const by = `${inline(record.actor)}${record.actorType ? ` (${inline(record.actorType)})` : ''}`
    if (!(await prompts.confirm(`Reject ${inline(record.packageName)}@${inline(record.version)} (${record.id}), staged by ${by} ${formatTime(record.createdAt, deps.now())}?`))) {
      throw new StagePublishError('EABORTED', 'Not confirmed: nothing was rejected', { exitCode: 1 })
    }
  }
  const { record: rejected, already } = isNative(backend)
    ? { record: await rejectNatively(backend, named.current.record, opts, deps, out, prompts, confirm), already: false }
    : await rejectRecord(backend, named.current, opts, deps, confirm)
  // The `rejected` webhook event, for a rejection made now (./notify.ts).
  if (!already) await announceRejected(rejected, deps, out)
  // A record keeps its first rejection: who, when and why stay as they were.
  return already ? { kind: 'already', record: rejected, ignoredReason: opts.reason, now: deps.now() } : { kind: 'rejected', record: rejected }
}

/** A reason is stored in the record and shown to every later reader: plain text, the record schema's rule. */
function checkReason(reason: string | undefined): void {
  if (reason !== undefined) checkFreeText(reason, '--reason')
}

async function rejectRecord(
  backend: CasStagingBackend,
  current: Versioned,
  opts: RejectRequest,
  deps: Deps,
  confirm: (record: StagedRecord) => Promise<void>,
): Promise<{ record: StagedRecord; already: boolean }> {
  let already = false
  let confirmed = false
  for (let attempt = 0; ; attempt++) {
    const { record, etag } = current
    if (record.state === 'approved' || record.state === 'approving') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) is ${record.state}${record.approvedBy ? ` by ${inline(record.approvedBy)}` : ''}; it can no longer be rejected`, {
        hint: record.state === 'approved' ? 'It is published. To withdraw it, deprecate it (npm deprecate) or unpublish it within npm\'s rules.' : `Wait for the approval to finish, then check with \`${followUp(backend, `view ${record.id}`)}\`.`,
      })
    }
    if (record.state === 'rejected') {
      already = true
      break
    }
    if (!confirmed) {
      await confirm(record)
      confirmed = true
    }
    const now = deps.now().toISOString()
    const next = rejectedRecord(record, { by: localActor(), at: now, reason: opts.reason })
    const result = await backend.updateRecord(next, etag)
    if (result.updated) {
      current = { record: next, etag: result.etag }
      break
    }
    // Someone changed it between our read and our write: read again and decide again.
    const again = attempt < 5 ? await backend.getRecord(record.id) : null
    if (!again) throw new StagePublishError('ECONFLICT', `The staged release ${record.id} changed while rejecting it`, { hint: 'Run the command again.' })
    current = again
  }
  // After the record says rejected, the bytes go. A crash in between leaves bytes nobody can approve;
  // running reject again removes them.
  await backend.deleteTarball(current.record.id)
  // Free name@version for a new staging (a CI role that may only create could not replace the reservation).
  await backend.releaseVersion(current.record.packageName, current.record.version, current.record.id).catch(() => undefined)
  return { record: current.record, already }
}

async function rejectNatively(
  backend: NativeStagingBackend,
  record: StagedRecord,
  opts: RejectRequest,
  deps: Deps,
  out: Output,
  prompts: Prompts,
  confirm: (record: StagedRecord) => Promise<void>,
): Promise<StagedRecord> {
  const authType = opts.authType ?? 'legacy'
  if (!prompts.interactive && !opts.otp && authType === 'legacy') {
    throw new StagePublishError('ENEEDOTP', `No terminal to ask on: rejecting on ${backend.native.registry} needs --otp <code>`, {
      hint: `The registry asks for a one-time password to delete a staged item: ${followUp(backend, `reject ${record.id} --yes --otp <code>`)}.`,
      exitCode: 2,
    })
  }
  await confirm(record)
  if (opts.reason) out.notice(`note: ${backend.native.registry} keeps no record of rejections; the reason is not stored.`)
  const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env })
  const otp = opts.otp ?? (authType === 'legacy' ? await prompts.otp('One-time password from your authenticator:') : undefined)
  const res = await withOneTimePassword((auth) => backend.native.reject(record.id, auth), { accepted: false, ...(otp && { code: otp }) }, {
    prompts,
    authType,
    out,
    flat: conf.flat,
    registry: backend.native.registry,
    retry: followUp(backend, `reject ${record.id}`),
  })
  if (!res.ok) {
    throw new StagePublishError('ENOTFOUND', `${record.packageName}@${record.version} (${record.id}) is no longer staged on ${backend.native.registry}`, {
      hint: `Someone approved or rejected it meanwhile: \`${followUp(backend, 'list')}\` shows what is still staged.`,
    })
  }
  return rejectedRecord(record, { by: localActor(), at: deps.now().toISOString(), reason: opts.reason })
}
