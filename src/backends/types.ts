/**
 * The contract every place that holds staged releases must keep. There are two kinds, and the type
 * says which one a backend is, so nothing can ask a registry for a compare-and-set it does not have:
 *
 * Record stores (local directory, S3 bucket) — `CasStagingBackend` — hold our own records and
 * tarballs; approval is ours to coordinate. Two rules make that safe for several machines and
 * several approvers at once:
 *  - a record is created once: `createRelease` is create-if-absent (S3 `If-None-Match: *`,
 *    link(2) on a file system); the tarball is stored before its record, so a visible record
 *    never points at missing bytes;
 *  - a record changes only by compare-and-set: `updateRecord` names the version (ETag) it read,
 *    and fails as a value when someone else changed it first, so two approvers can never both win;
 *  - a `name@version` is staged once at a time: `reserveVersion` (create-if-absent, or compare-and-set
 *    over a reservation whose release was rejected or expired) comes before the record.
 *  Approval is claim (pending → approving) → publish with libnpmpublish → approved.
 *
 * Registries that stage natively (npm's `/-/stage` API) — `NativeStagingBackend` — assign the id
 * themselves, keep only npm's fields for an item (no integrity, no files, no expiry), and have no
 * states: an item exists while it waits, and approving (publish) or rejecting removes it. The
 * registry is the single arbiter, so approval is one call, `native.approve`, with the approver's
 * credentials and one-time password, and exactly one of several approvers can succeed.
 *
 * Adapters never print and map their vendor errors to StagePublishError codes at the edge:
 * ENOTFOUND, EBACKENDUNREACHABLE, EACCESSDENIED, EBACKEND, ENOSTAGE, ENEEDAUTH.
 */
import type { StagedRecord } from '../core/record.js'
import type { SetObject } from '../core/release-set.js'
import type { TarballContents } from '../npm/tarball.js'

/** A record and the opaque version (ETag) it was read at; pass it back to updateRecord. '' for a native backend. */
export interface Versioned {
  record: StagedRecord
  etag: string
  /**
   * Registry backend only: the version manifest the registry holds for the item and will publish (null
   * when its API does not show one). Untrusted; compared with the tarball's before approval.
   */
  stagedManifest?: Record<string, unknown> | null
}

export type CreateResult = { created: true; id: string; etag: string } | { created: false; reason: 'exists' }
export type CreateSetResult = { created: true } | { created: false; reason: 'exists' }
export type UpdateResult = { updated: true; etag: string } | { updated: false; reason: 'conflict' | 'missing' }

/**
 * Who holds a `name@version` in a record store: the release id (null when the stored reservation is
 * not readable as one: it holds nothing), when it was reserved, and the etag to replace it by.
 */
export interface Reservation {
  id: string | null
  at: string | null
  etag: string
}
export type ReserveResult = { reserved: true } | { reserved: false; reason: 'taken' }

export interface ListOptions {
  /** Only records of this package. */
  packageName?: string
  /**
   * Only records still waiting for a decision: stored state `pending` or `approving` (expired ones
   * included; the caller derives expiry). A record store answers this without reading decided
   * records where it can (S3: pending markers), so `list` costs O(pending), not O(history).
   */
  waiting?: boolean
  /** Something the listing worked around (markers it could not trust), in plain words, for a warning. */
  onNotice?: (message: string) => void
}

/** What every backend does: stage, read, list. */
interface BackendBase {
  /** `file`, `s3` or `registry`. */
  readonly kind: string
  /** Where it is, for people to read. Never contains credentials. */
  readonly location: string

  /**
   * Stages a release. Record stores store the bytes, then create the record with create-if-absent,
   * and return `{created:false}` when a record with this id exists (nothing of it is touched).
   * A registry ignores `record.id` and returns the id it assigned.
   * A failure part-way leaves no visible record.
   * `contents`: the bytes as the strict reader parsed them at staging; a registry builds the
   * manifest it sends from them (read from `bytes` with the same reader when absent).
   * `provenance`: a verified Sigstore bundle for these bytes (record.provenance names its digest). Record
   * stores store it next to the tarball, before the record, like the bytes; a registry sends it as npm does
   * (libnpmpublish `provenanceFile`: the `<name>-<version>.sigstore` attachment).
   */
  createRelease(record: StagedRecord, bytes: Uint8Array, contents?: TarballContents, provenance?: Uint8Array): Promise<CreateResult>
  /** The stored bytes; ENOTFOUND when there are none. Callers verify them against the record. */
  getTarball(id: string): Promise<Buffer>

  /** The record and its etag, or null when there is none. ECORRUPT when it exists but is not a record. */
  getRecord(id: string): Promise<Versioned | null>
  /** Every record id (no order). Pages through any number of them. */
  listIds(): Promise<string[]>
  /**
   * Every readable record (or, with `waiting`, every waiting one), newest first; corrupt ones are
   * reported through onCorrupt and skipped. Whatever index a backend keeps to find records is never
   * trusted: what is returned was read from the record itself.
   */
  listRecords(options?: ListOptions & { onCorrupt?: (id: string, err: Error) => void }): Promise<Versioned[]>
  /**
   * Optional, for `list`'s table only: listRecords' records cut down to what the table shows, filters and
   * sorts by (RecordSummary), same order. A backend may answer from a cache it keeps outside the store
   * (the local one does), so nothing that decides anything (approve, view, reject, select) may use it:
   * they read the record. See SummaryListing for the one check the caller must make.
   */
  listSummaries?(options?: SummaryListOptions): Promise<SummaryListing>
}

export interface SummaryListOptions extends ListOptions {
  onCorrupt?: (id: string, err: Error) => void
  /** Check every record against its file, whatever the cache knows of the folder (what `confirm` failing asks for). */
  checkEvery?: boolean
}

/**
 * listSummaries' answer. Without `confirm`, every summary was checked against its record file in this call.
 * With it, the summaries are what the cache saw when it last checked every file, and the folder has not had a
 * file added, removed or renamed since (the only ways the tool changes a record); the caller passes the ids
 * it will show, and shows them only when `confirm` answers true (each of those files is still the one cached).
 * False: list again with `checkEvery`.
 */
export interface SummaryListing {
  summaries: RecordSummary[]
  confirm?: (ids: readonly string[]) => boolean
}

/** What `list` shows of a record: every field of it was read and checked from the record (see listSummaries). */
export type RecordSummary = Pick<StagedRecord, 'id' | 'packageName' | 'version' | 'tag' | 'actor' | 'createdAt' | 'state' | 'expiresAt' | 'setId'>

/** A backend that keeps our records: approval is coordinated by compare-and-set on them. */
export interface CasStagingBackend extends BackendBase {
  readonly native?: undefined
  /**
   * The provenance bundle stored with the release (`provenance/<id>.sigstore`), or null when there is none.
   * Bounded (ETOOLARGE); untrusted like the tarball: callers check it against record.provenance and verify it.
   * A rejected release's bundle is left in place (it is public-to-be evidence, not a secret, and it is small).
   */
  getProvenance(id: string): Promise<Buffer | null>
  /** Deletes the bytes (reject). Absent bytes are not an error. */
  deleteTarball(id: string): Promise<void>
  /** Compare-and-set: replaces the record only if it is still at `etag`. */
  updateRecord(record: StagedRecord, etag: string): Promise<UpdateResult>

  /**
   * Release sets (core/release-set.ts): the set object is written once, create-if-absent, before
   * its member records, and never changed: `{created:false}` when one with this set id exists.
   */
  createSet(set: SetObject): Promise<CreateSetResult>
  /** The set object, or null when there is none. ECORRUPT (or ETOOLARGE) when it is not one. */
  getSet(setId: string): Promise<SetObject | null>
  /** Every set id (no order), from the set objects. */
  listSetIds(): Promise<string[]>

  /**
   * One staged release per `name@version`: a reservation naming its release id, made before the record
   * (`versions/<name>@<version>.json`). Create-if-absent, or, given `replacing` (the etag of a
   * reservation read with getReservation), compare-and-set. `taken` when someone holds it (or changed it).
   */
  reserveVersion(name: string, version: string, id: string, replacing?: string): Promise<ReserveResult>
  /** The reservation of `name@version`, or null when there is none. */
  getReservation(name: string, version: string): Promise<Reservation | null>
  /** Removes the reservation if it still names `id` (a rejected release or a failed staging). Absent is fine. */
  releaseVersion(name: string, version: string, id: string): Promise<void>

  /**
   * Removing a record that does not parse (`reject --force`): its stored bytes summarised without
   * parsing them (null when there is none), deleting it, and a create-if-absent audit entry
   * `audit/<name>.json` (false when that name exists).
   */
  inspectRecord(id: string): Promise<{ sha256: string; size: number } | null>
  deleteRecord(id: string): Promise<void>
  createAudit(name: string, text: string): Promise<boolean>
}

/** How the approver proves presence for one write: a code from their authenticator, or a web-auth token. */
export interface WriteAuth {
  otp?: string
  /** What npm sends as `npm-auth-type`: `legacy` when a code was typed, `web` otherwise. */
  authType: 'legacy' | 'web'
}

/**
 * One native write (approve or reject). Expected outcomes are values:
 *  - `otp`: the registry wants a (fresh) one-time password;
 *  - `web-auth`: it wants the browser sign-in at authUrl, then the token from doneUrl;
 *  - `gone`: the item is not there any more (approved or rejected by someone else, or never was);
 *  - `exists`: the registry refused because the version is already published.
 */
export type NativeWrite =
  | { ok: true }
  | { ok: false; reason: 'otp'; message: string }
  | { ok: false; reason: 'web-auth'; authUrl: string; doneUrl: string }
  | { ok: false; reason: 'gone'; message: string }
  | { ok: false; reason: 'exists'; message: string }

/** Approval and rejection done by the registry itself (npm's `/-/stage/<id>/approve` and `DELETE /-/stage/<id>`). */
export interface NativeApproval {
  /** The registry releases go to and are approved on, ending with '/'. */
  readonly registry: string
  approve(id: string, auth: WriteAuth): Promise<NativeWrite>
  reject(id: string, auth: WriteAuth): Promise<NativeWrite>
}

/** A registry's own staging API: it approves and rejects; there is no compare-and-set and no tarball to delete. */
export interface NativeStagingBackend extends BackendBase {
  readonly native: NativeApproval
}

export type StagingBackend = CasStagingBackend | NativeStagingBackend

export const isNative = (backend: StagingBackend): backend is NativeStagingBackend => backend.native !== undefined
