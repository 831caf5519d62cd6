/**
 * The staged-release record: what was staged, by whom, from where, and what became of it.
 * Field names follow npm's staging API where it has one (id, packageName, version, tag, createdAt,
 * actor, actorType, access, shasum); the rest are ours. Pure: no I/O.
 */
import { StagePublishError } from '../errors.js'

export const RECORD_SCHEMA = 1

/** A record's stored state. `expired` is never stored: it is derived from expiresAt (see effectiveState). */
export type StoredState = 'pending' | 'approving' | 'approved' | 'rejected'
export type RecordState = StoredState | 'expired'

export interface PackedFile {
  path: string
  size: number
  mode: number
}

export interface GitInfo {
  commit?: string
  branch?: string
  remote?: string
  dirty?: boolean
}

export interface CiInfo {
  provider: string
  runUrl?: string
  workflow?: string
  ref?: string
}

export interface Claim {
  by: string
  at: string
  /** The approver's machine (os.hostname()) and process: a claim whose process is gone can be taken over at once. */
  host?: string
  pid?: number
}

/** One package of a release set, as staged: the set is complete only when every member is. */
export interface SetMember {
  name: string
  version: string
}

/**
 * A staged release. Record stores (file, S3) keep every field. A registry's staging API lists only
 * npm's fields (id, packageName, version, tag, createdAt, actor, actorType, access, shasum): the fields
 * marked "record stores" are absent in what it returns until the bytes are downloaded and verified
 * (see `withTarballDetails`), and such a record never expires and is never in a state other than pending.
 */
export interface StagedRecord {
  schema: typeof RECORD_SCHEMA
  id: string
  /** The release set (a UUID) this package was staged in with others (`stage-publish --workspaces`). */
  setId?: string
  /** Every member of that set, so any one record tells whether the set is complete. */
  setMembers?: SetMember[]
  packageName: string
  version: string
  tag: string
  access: 'public' | 'restricted' | null
  registry: string
  /** sha512 of the tarball (record stores). */
  integrity?: string
  /** sha1 of the tarball, hex: the one digest npm's staging API lists. */
  shasum: string
  /** Record stores: packed size, unpacked size, file count, files, bundled dependencies. */
  size?: number
  unpackedSize?: number
  fileCount?: number
  files?: PackedFile[]
  bundled?: string[]
  createdAt: string
  /** Record stores: when it stops being approvable. A registry's items do not expire. */
  expiresAt?: string
  actor: string
  /** `trusted automation` is npm's word, from a registry, for what we call `ci`. */
  actorType: 'user' | 'ci' | 'trusted automation'
  git?: GitInfo
  ci?: CiInfo
  state: StoredState
  claim?: Claim
  approvedAt?: string
  approvedBy?: string
  rejectedAt?: string
  rejectedBy?: string
  rejectReason?: string
}

/** What is known of a release once its bytes are verified: every tarball fact. */
export type DetailedRecord = StagedRecord & Required<Pick<StagedRecord, 'integrity' | 'size' | 'unpackedSize' | 'fileCount' | 'files' | 'bundled'>>

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

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const PREFIX_RE = /^[0-9a-f-]{8,36}$/

export const MIN_PREFIX = 8

export const isUuid = (id: string): boolean => UUID_RE.test(id)

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

const STATES: readonly StoredState[] = ['pending', 'approving', 'approved', 'rejected']

/**
 * Checks that bytes from a backend are a record we wrote. Backends are untrusted storage:
 * a record that fails this is reported as corrupt, never acted on.
 */
export function parseRecord(text: string, expectedId?: string): StagedRecord {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt(expectedId, 'it is not valid JSON')
  }
  const r = data as Partial<StagedRecord> | null
  if (!r || typeof r !== 'object') throw corrupt(expectedId, 'it is not an object')
  if (r.schema !== RECORD_SCHEMA) throw corrupt(expectedId, `unknown schema ${String(r.schema)}`)
  if (typeof r.id !== 'string' || !isUuid(r.id)) throw corrupt(expectedId, 'its id is not a UUID')
  if (expectedId && r.id !== expectedId) throw corrupt(expectedId, `it carries another id (${r.id})`)
  for (const key of ['packageName', 'version', 'tag', 'registry', 'integrity', 'shasum', 'createdAt', 'expiresAt', 'actor'] as const) {
    if (typeof r[key] !== 'string' || r[key] === '') throw corrupt(r.id, `field ${key} is missing`)
  }
  if (!STATES.includes(r.state as StoredState)) throw corrupt(r.id, `unknown state ${String(r.state)}`)
  if (!Array.isArray(r.files)) throw corrupt(r.id, 'field files is missing')
  if (r.setId !== undefined && (typeof r.setId !== 'string' || !isUuid(r.setId))) throw corrupt(r.id, 'its setId is not a UUID')
  if (r.setMembers !== undefined && !(Array.isArray(r.setMembers) && r.setMembers.every(isSetMember))) throw corrupt(r.id, 'field setMembers is malformed')
  return r as StagedRecord
}

const isSetMember = (m: unknown): m is SetMember =>
  Boolean(m) && typeof (m as SetMember).name === 'string' && typeof (m as SetMember).version === 'string'

function corrupt(id: string | undefined, why: string): StagePublishError {
  return new StagePublishError('ECORRUPT', `The staged record ${id ?? ''} is corrupt: ${why}`.replace('  ', ' '), {
    hint: 'Nothing was changed. Inspect the backend, or reject the release and stage it again.',
  })
}

export const serializeRecord = (record: StagedRecord): string => `${JSON.stringify(record, null, 2)}\n`
