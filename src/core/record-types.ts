/**
 * The staged-release record's shape (and its schema version), so that the schema that reads a record
 * (./record-schema.ts) and the rules about records (./record.ts) both depend on it, not on each other.
 */

import type { ApprovalEnvelope } from './approval-envelope.js'

/** The version of the record format; a record with another one is not read. */
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

/**
 * Record stores: the item an approval staged on the target registry's own staging API (the final hop),
 * written by compare-and-set right after staging, so an approval that resumes after a crash looks
 * there first. A hint, never proof: the item is checked against the verified bytes before it is reused.
 */
export interface FinalHop {
  registry: string
  stageId: string
  at: string
}

export interface Claim {
  by: string
  at: string
  /** The approver's machine (os.hostname()) and process: a claim whose process is gone can be taken over at once. */
  host?: string
  pid?: number
}

/**
 * The Sigstore provenance bundle staged with the tarball (record stores keep it next to the tarball, as
 * `provenance/<id>.sigstore`): its sha512 and size, so a bundle deleted or replaced after staging is noticed.
 */
export interface ProvenanceRef {
  integrity: string
  size: number
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
  /** Record stores: the provenance bundle staged with the tarball (`--provenance`, `--provenance-file`). */
  provenance?: ProvenanceRef
  state: StoredState
  claim?: Claim
  finalHop?: FinalHop
  approvedAt?: string
  approvedBy?: string
  rejectedAt?: string
  rejectedBy?: string
  rejectReason?: string
  /** Record stores: when the `expired` webhook event was sent (set once, by compare-and-set: src/flows/notify.ts). */
  expiryNotifiedAt?: string
  /**
   * Record stores: signed approval statements (stagePublish.approvals), added by compare-and-set.
   * Untrusted like the rest: each is verified again whenever approvals are counted (src/flows/quorum.ts).
   */
  approvals?: ApprovalEnvelope[]
}

/** What is known of a release once its bytes are verified: every tarball fact. */
export type DetailedRecord = StagedRecord & Required<Pick<StagedRecord, 'integrity' | 'size' | 'unpackedSize' | 'fileCount' | 'files' | 'bundled'>>
