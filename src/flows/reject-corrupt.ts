/**
 * `reject --force <id>`: removing a record that does not parse (ECORRUPT: damaged, hand-edited, or
 * written by someone with the CI credential), which plain `reject` cannot change because it never
 * acts on a record it cannot read. Whoever may change records in the store (the approvers) may remove
 * it; an audit entry is created first — who, when, why, and the sha256 and size of the removed bytes,
 * never the bytes themselves (they are hostile) — then the record and its tarball are deleted.
 * A record that parses is not removed: it is rejected as usual (the caller does that).
 */
import { StagePublishError } from '../errors.js'
import { matchIdPrefix, parseIdArgument } from '../core/record.js'
import { isNative, type StagingBackend } from '../backends/types.js'
import { localActor } from '../origin/origin.js'
import type { Output } from '../ui/output.js'
import type { Removal } from '../ui/render-reject.js'

export type { Removal }

/** Removes the record if it does not parse and returns what was done; undefined when it parses (reject it normally). */
export async function removeIfCorrupt(backend: StagingBackend, rawId: string, reason: string | undefined, now: Date, out: Output): Promise<Removal | undefined> {
  if (isNative(backend)) {
    throw new StagePublishError('EUSAGE', `--force is for record stores (file, S3); ${backend.location} keeps no records of ours`, {
      hint: 'Reject the item without --force: the registry deletes it.',
      exitCode: 2,
    })
  }
  if (!reason?.trim()) {
    throw new StagePublishError('EUSAGE', 'reject --force needs --reason: the removal is kept in the audit trail with who, when and why', {
      hint: 'stage-publish reject --force <id> --reason "<why>"',
      exitCode: 2,
    })
  }
  const parsed = parseIdArgument(rawId)
  const id = parsed.exact ? parsed.id : matchIdPrefix(parsed.id, await backend.listIds())
  let problem: string
  try {
    const found = await backend.getRecord(id)
    if (!found) throw new StagePublishError('ENOTFOUND', `No staged release with id ${id} in ${backend.location}`, { hint: 'Check the id with `stage-publish list --all`.' })
    out.notice(`${id} is a valid record: --force only removes records that do not parse. Rejecting it as usual.`)
    return undefined
  } catch (err) {
    if (!(err instanceof StagePublishError) || err.code !== 'ECORRUPT') throw err
    problem = err.message
  }

  const record = await backend.inspectRecord(id)
  if (!record) throw new StagePublishError('ENOTFOUND', `The record ${id} disappeared from ${backend.location}`, { hint: 'Someone removed it meanwhile: nothing was done.' })
  const removedAt = now.toISOString()
  const audit = `${id}-${removedAt.replace(/[:.]/g, '-')}`
  const entry: Removal = { id, removed: true, removedBy: localActor(), removedAt, reason: reason.trim(), problem, record, audit: `audit/${audit}.json` }
  // The audit entry first: a removal without one must not happen.
  if (!(await backend.createAudit(audit, `${JSON.stringify(entry, null, 2)}\n`))) {
    throw new StagePublishError('ECONFLICT', `An audit entry for ${id} at ${removedAt} exists already`, { hint: 'Run the command again.' })
  }
  await backend.deleteRecord(id)
  await backend.deleteTarball(id)
  return entry
}
