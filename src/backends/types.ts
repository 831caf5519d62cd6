/**
 * The contract every place that holds staged releases must keep (local directory, S3 bucket,
 * a registry's own staging API).
 *
 * Two rules make it safe for several machines and several approvers at once:
 *  - a record is created once: `createRecord` is create-if-absent (S3 `If-None-Match: *`,
 *    link(2) on a file system); the tarball is stored before its record, so a visible record
 *    never points at missing bytes;
 *  - a record changes only by compare-and-set: `updateRecord` names the version (ETag) it read,
 *    and fails as a value when someone else changed it first, so two approvers can never both win.
 *
 * Adapters never print and map their vendor errors to StagePublishError codes at the edge:
 * ENOTFOUND, EBACKENDUNREACHABLE, EACCESSDENIED, EBACKEND.
 */
import type { StagedRecord } from '../core/record.js'

/** A record and the opaque version (ETag) it was read at; pass it back to updateRecord. */
export interface Versioned {
  record: StagedRecord
  etag: string
}

export type CreateResult = { created: true; id: string; etag: string } | { created: false; reason: 'exists' }
export type UpdateResult = { updated: true; etag: string } | { updated: false; reason: 'conflict' | 'missing' }

export interface ListOptions {
  /** Only records of this package. */
  packageName?: string
}

export interface StagingBackend {
  /** `file`, `s3` or `registry`. */
  readonly kind: string
  /** Where it is, for people to read. Never contains credentials. */
  readonly location: string

  /**
   * Stages a release: stores the bytes, then creates the record with create-if-absent.
   * `{created:false}` when a record with this id exists (nothing of it is touched).
   * Returns the id the release is known by: ours, or the one a registry assigns.
   * A failure part-way leaves no visible record.
   */
  createRelease(record: StagedRecord, bytes: Uint8Array): Promise<CreateResult>
  /** The stored bytes; ENOTFOUND when there are none. Callers verify them against the record. */
  getTarball(id: string): Promise<Buffer>
  /** Deletes the bytes (reject). Absent bytes are not an error. */
  deleteTarball(id: string): Promise<void>

  /** The record and its etag, or null when there is none. ECORRUPT when it exists but is not a record. */
  getRecord(id: string): Promise<Versioned | null>
  /** Compare-and-set: replaces the record only if it is still at `etag`. */
  updateRecord(record: StagedRecord, etag: string): Promise<UpdateResult>
  /** Every record id (no order). Pages through any number of them. */
  listIds(): Promise<string[]>
  /** Every readable record, newest first; corrupt ones are reported through onCorrupt and skipped. */
  listRecords(options?: ListOptions & { onCorrupt?: (id: string, err: Error) => void }): Promise<Versioned[]>
}
