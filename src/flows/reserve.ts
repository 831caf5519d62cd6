/**
 * One staged release per `name@version` in a record store, even when several CI jobs stage the same
 * version at the same moment: before its record, a staging reserves the version (create-if-absent,
 * see CasStagingBackend.reserveVersion). A reservation whose release was rejected or expired (or is
 * missing, or is not a reservation) is replaced by compare-and-set; one whose release waits for
 * approval, is being approved or was approved refuses with EALREADYSTAGED.
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, isWaiting, type StagedRecord } from '../core/record.js'
import type { CasStagingBackend, Reservation } from '../backends/types.js'

/** How long a reservation without its record counts as a staging still uploading its tarball. */
const STAGING_GRACE_MS = 15 * 60_000
/** Reservations come from an untrusted store: one dated far in the future must not block for ever. */
const CLOCK_SKEW_MS = 5 * 60_000

export async function reserveVersion(backend: CasStagingBackend, record: StagedRecord, now: Date): Promise<void> {
  const { packageName: name, version, id } = record
  let replacing: string | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    let res
    try {
      res = await backend.reserveVersion(name, version, id, replacing)
    } catch (err) {
      if (replacing !== undefined && err instanceof StagePublishError && err.code === 'EACCESSDENIED') throw cannotReplace(record, backend, err)
      throw err
    }
    if (res.reserved) return
    let held: Reservation | null
    try {
      held = await backend.getReservation(name, version)
    } catch (err) {
      // A least-privilege CI role may create but not read: the version is taken, by whom it cannot see.
      if (err instanceof StagePublishError && err.code === 'EACCESSDENIED') throw taken(record, null, 'is already staged')
      throw err
    }
    if (!held) {
      replacing = undefined
      continue
    }
    await refuseIfHeld(backend, record, held, now)
    replacing = held.etag
  }
  throw new StagePublishError('ECONFLICT', `${name}@${version} was reserved and released by other stagings while staging it`, { hint: 'Run the command again.' })
}

/** Throws EALREADYSTAGED when the reservation still holds the version. */
async function refuseIfHeld(backend: CasStagingBackend, record: StagedRecord, held: Reservation, now: Date): Promise<void> {
  if (!held.id) return
  let holder: StagedRecord | undefined
  try {
    holder = (await backend.getRecord(held.id))?.record
  } catch (err) {
    // A corrupt record can never be approved: it holds nothing.
    if (err instanceof StagePublishError && err.code === 'ECORRUPT') return
    throw err
  }
  if (!holder) {
    const at = held.at ? Date.parse(held.at) : Number.NaN
    const age = now.getTime() - at
    if (age < STAGING_GRACE_MS && -age < CLOCK_SKEW_MS) throw taken(record, held.id, `is being staged right now (since ${held.at})`)
    return
  }
  // A reservation naming another package's release is not this version's.
  if (holder.packageName !== record.packageName || holder.version !== record.version) return
  const state = effectiveState(holder, now)
  if (isWaiting(state)) throw taken(record, held.id, 'is already staged and waiting for approval')
  if (state === 'approved') throw taken(record, held.id, `was already approved${holder.approvedBy ? ` by ${holder.approvedBy}` : ''}`)
}

function taken(record: StagedRecord, id: string | null, what: string): StagePublishError {
  const { packageName: name, version } = record
  return new StagePublishError('EALREADYSTAGED', `${name}@${version} ${what}${id ? ` (id ${id})` : ''}`, {
    hint: id
      ? `Nothing was staged. Approve or reject it first (stage-publish reject ${id}), or bump the version.`
      : `Nothing was staged. These credentials cannot read which release holds it: \`stage-publish list ${name}\` with an approver's access shows it. Reject it to stage the version again, or bump the version.`,
  })
}

function cannotReplace(record: StagedRecord, backend: CasStagingBackend, cause: StagePublishError): StagePublishError {
  return new StagePublishError('EALREADYSTAGED', `${record.packageName}@${record.version} was staged before, and these credentials may not replace its reservation in ${backend.location}`, {
    hint: 'Its earlier release was rejected or expired. An approver frees the version by rejecting that release (`stage-publish reject <id>`; `list --all` shows it); then stage again.',
    cause,
  })
}
