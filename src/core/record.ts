/**
 * The staged-release record: what was staged, by whom, from where, and what became of it.
 * Field names follow npm's staging API where it has one (id, packageName, version, tag, createdAt,
 * actor, actorType, access, shasum); the rest are ours. Pure: no I/O.
 */
import { StagePublishError } from '../errors.js'
import { checkRecord, isUuid, RECORD_LIMITS, RECORD_SCHEMA } from './record-schema.js'

export { isUuid, RECORD_SCHEMA }

// The record's shape lives in ./record-types.ts, which the schema (./record-schema.ts) reads into.
export type { StoredState, RecordState, PackedFile, GitInfo, CiInfo, Claim, FinalHop, SetMember, StagedRecord, DetailedRecord, ProvenanceRef } from './record-types.js'
import type { DetailedRecord, PackedFile, RecordState, StagedRecord } from './record-types.js'

/** The tarball facts a registry's record lacks, filled in from verified bytes. A record store's own facts win. */
export function withTarballDetails(
  record: StagedRecord,
  facts: { integrity: string; size: number; unpackedSize: number; entryCount: number; files: PackedFile[]; bundled: string[] },
): DetailedRecord {
  return {
    ...record,
    integrity: record.integrity ?? facts.integrity,
    size: record.size ?? facts.size,
    unpackedSize: record.unpackedSize ?? facts.unpackedSize,
    fileCount: record.fileCount ?? facts.entryCount,
    files: record.files ?? facts.files,
    bundled: record.bundled ?? facts.bundled,
  }
}

const PREFIX_RE = /^[0-9a-f-]{8,36}$/

export const MIN_PREFIX = 8

/**
 * Validates what the user typed as an id: a full UUID, or a prefix of at least 8 characters.
 * Returns the normalised (lower-case) form. Anything else is a usage error, before any I/O.
 */
export function parseIdArgument(raw: string): { id: string; exact: boolean } {
  const id = String(raw ?? '').trim().toLowerCase()
  if (isUuid(id)) return { id, exact: true }
  if (PREFIX_RE.test(id) && !/--/.test(id)) return { id, exact: false }
  throw new StagePublishError('EINVALIDID', `"${String(raw).slice(0, 60)}" is not a staged release id`, {
    hint: `Use the id printed when the release was staged (a UUID), or a unique prefix of at least ${MIN_PREFIX} characters. \`stage-publish list\` shows them.`,
  })
}

/** Picks the one id that matches a prefix, or says why it can't. */
export function matchIdPrefix(prefix: string, ids: Iterable<string>): string {
  const matches = [...ids].filter((id) => id.startsWith(prefix))
  if (matches.length === 1) return matches[0] as string
  if (matches.length === 0) {
    throw new StagePublishError('ENOTFOUND', `No staged release has an id starting with ${prefix}`, {
      hint: 'Check the id with `stage-publish list --all`, and that --backend points where it was staged.',
    })
  }
  throw new StagePublishError('EAMBIGUOUS', `${matches.length} staged releases have ids starting with ${prefix}`, {
    hint: `Give more characters of the id: ${matches.slice(0, 3).join(', ')}${matches.length > 3 ? ', ...' : ''}`,
    exitCode: 2,
  })
}

export function effectiveState(record: Pick<StagedRecord, 'state' | 'expiresAt'>, now: Date): RecordState {
  if (record.state === 'pending' && record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime()) return 'expired'
  return record.state
}

/** Still waiting for a decision: staged and not expired, or being approved right now. */
export const isWaiting = (state: RecordState): boolean => state === 'pending' || state === 'approving'

/** The record as rejected: by whom, when (ISO time) and, when one was given, why. */
export function rejectedRecord(record: StagedRecord, rejection: { by: string; at: string; reason?: string | undefined }): StagedRecord {
  return { ...record, state: 'rejected', rejectedAt: rejection.at, rejectedBy: rejection.by, ...(rejection.reason && { rejectReason: rejection.reason }) }
}

/** Newest first, then by id: the order every backend lists records in. */
export const newestFirst = (a: { record: Pick<StagedRecord, 'createdAt' | 'id'> }, b: { record: Pick<StagedRecord, 'createdAt' | 'id'> }): number =>
  b.record.createdAt.localeCompare(a.record.createdAt) || a.record.id.localeCompare(b.record.id)

/** Checks an id a backend is asked for, before it is used. */
const idCheck =
  (what: string) =>
  (id: string): string => {
    // Ids become file names, object keys and URL paths: only a UUID may ever reach the store (npm's validateUUID does the same).
    if (!isUuid(String(id))) throw new StagePublishError('EINVALIDID', `"${String(id).slice(0, 60)}" is not ${what}`)
    return id
  }
export const checkId = idCheck('a staged release id')
export const checkSetId = idCheck('a release set id')

/**
 * Reads bytes from a backend as a record. Backends are untrusted storage (whoever holds the CI
 * credential can write any record): the text is parsed once and every field checked against the
 * schema (record-schema.ts); the result is a new object with only the known fields. A record that
 * fails is ECORRUPT, never acted on.
 */
export function parseRecord(text: string, expectedId?: string): StagedRecord {
  const safeId = expectedId !== undefined && isUuid(expectedId) ? expectedId : undefined
  if (text.length > RECORD_LIMITS.recordChars) throw corrupt(safeId, `it is larger than ${RECORD_LIMITS.recordChars / 1024 / 1024} MiB`)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt(safeId, 'it is not valid JSON')
  }
  const checked = checkRecord(data, { store: true, ...(expectedId !== undefined && { expectedId }) })
  if (!checked.ok) throw corrupt(safeId, `${checked.field} ${checked.why}`)
  return checked.record
}

/** The record we are about to write, checked by the rules it will be read with: never store what cannot be read back. */
export function checkOwnRecord(record: StagedRecord, store: boolean): StagedRecord {
  const checked = checkRecord(JSON.parse(JSON.stringify(record)), { store })
  if (checked.ok) return checked.record
  throw new StagePublishError('ECORRUPT', `The release cannot be staged: its ${checked.field} ${checked.why}`, {
    hint: 'Nothing was staged. Fix the package (or the CI variables it reports) and stage again.',
  })
}

function corrupt(id: string | undefined, why: string): StagePublishError {
  return new StagePublishError('ECORRUPT', `The staged record ${id ?? ''} is corrupt: ${why}`.replace('  ', ' '), {
    hint: 'Nothing was changed. Inspect the backend, or reject the release and stage it again.',
  })
}

export const serializeRecord = (record: StagedRecord): string => `${JSON.stringify(record, null, 2)}\n`
