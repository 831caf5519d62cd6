/**
 * The staged record's schema, applied to every record read from a backend or built from a
 * registry's staging API. Anyone with the CI credential can write any record, so a record is
 * untrusted input: it is read once, field by field, into a NEW object with only the known fields.
 * A field that breaks a rule makes the whole record corrupt; the reason names the field, never
 * its value. No string of a record may hold a control, bidi or zero-width character. Pure.
 */
import { RECORD_SCHEMA, type CiInfo, type Claim, type FinalHop, type GitInfo, type PackedFile, type ProvenanceRef, type SetMember, type StagedRecord, type StoredState } from './record-types.js'
import { PROVENANCE_LIMITS } from './provenance.js'
import { firstUnsafeChar, MAX_REASON } from './text.js'
import { APPROVAL_LIMITS, readEnvelope, type ApprovalEnvelope } from './approval-envelope.js'
import {
  COMMIT_RE, httpUrlRule, integrityRule, isUuid, packageNameRule, packagePathRule, PROVIDER_RE, registryRule, remoteRule, SHASUM_RE,
  tagRule, timeRule, versionRule, type Rule,
} from './field-rules.js'

export { isUuid, RECORD_SCHEMA }

/** Bounds on what a record may hold. A package of more files than `files` cannot be staged to a record store. */
export const RECORD_LIMITS = {
  /** The record's JSON text, in characters: room for `files` entries with ordinary paths. */
  recordChars: 16 * 1024 * 1024,
  /** Names of people, hosts and branches; workflow names get `longText`. */
  text: 256,
  longText: 1024,
  reason: MAX_REASON,
  url: 2048,
  packageName: 256,
  version: 256,
  tag: 128,
  path: 4096,
  files: 100_000,
  bundled: 10_000,
  setMembers: 10_000,
} as const

/** Why a record breaks the schema: the field (a path such as files[3].path) and the rule. */
export interface SchemaFailure {
  field: string
  why: string
}

class Invalid extends Error {
  constructor(readonly failure: SchemaFailure) {
    super(`${failure.field} ${failure.why}`)
  }
}

const fail = (field: string, why: string): never => {
  throw new Invalid({ field, why })
}

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
/** Own properties only: a record's JSON can name `__proto__` or `constructor`, which are not fields. */
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined)

/** A non-empty, bounded string without unsafe characters that follows `rule`. */
function text(v: unknown, field: string, max: number, rule?: Rule): string {
  if (v === undefined) return fail(field, 'is missing')
  if (typeof v !== 'string') return fail(field, 'is not a string')
  if (v === '') return fail(field, 'is empty')
  if (v.length > max) return fail(field, `is longer than ${max} characters`)
  const bad = firstUnsafeChar(v)
  if (bad) return fail(field, `contains the control or invisible character ${bad}`)
  const problem = rule?.(v)
  return problem ? fail(field, problem) : v
}

function int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(field, 'is not an integer')
  return v < min || v > max ? fail(field, `is not between ${min} and ${max}`) : v
}

function oneOf<T>(v: unknown, field: string, allowed: readonly T[]): T {
  return allowed.includes(v as T) ? (v as T) : fail(field, `is not one of ${allowed.map((a) => (a === null ? 'null' : String(a))).join(', ')}`)
}

function array(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) return fail(field, v === undefined ? 'is missing' : 'is not an array')
  return v.length > max ? fail(field, `has more than ${max} entries`) : v
}

function object(v: unknown, field: string): Obj {
  return isObject(v) ? v : fail(field, 'is not an object')
}

const optional = <T>(v: unknown, read: (v: unknown) => T): T | undefined => (v === undefined ? undefined : read(v))

/** Drops the keys whose value is undefined, so what is absent stays absent when serialised. */
function compact<T extends object>(o: T): T {
  // A loop, not Object.fromEntries(Object.entries(...)): this runs for every record a listing reads.
  const out: Record<string, unknown> = {}
  const from = o as Record<string, unknown>
  for (const k in from) if (from[k] !== undefined) out[k] = from[k]
  return out as T
}

const L = RECORD_LIMITS
const time = (field: string) => (v: unknown) => text(v, field, 64, timeRule)
const shortText = (field: string) => (v: unknown) => text(v, field, L.text)

function readFile(v: unknown, i: number): PackedFile {
  const o = object(v, `files[${i}]`)
  return {
    path: text(own(o, 'path'), `files[${i}].path`, L.path, packagePathRule),
    size: int(own(o, 'size'), `files[${i}].size`, 0),
    mode: int(own(o, 'mode'), `files[${i}].mode`, 0, 0o7777),
  }
}

function readGit(v: unknown): GitInfo {
  const o = object(v, 'git')
  return compact({
    commit: optional(own(o, 'commit'), (c) => text(c, 'git.commit', 64, (s) => (COMMIT_RE.test(s) ? undefined : 'is not a hex commit id'))),
    branch: optional(own(o, 'branch'), shortText('git.branch')),
    remote: optional(own(o, 'remote'), (r) => text(r, 'git.remote', L.url, remoteRule)),
    dirty: optional(own(o, 'dirty'), (d) => (typeof d === 'boolean' ? d : fail('git.dirty', 'is not true or false'))),
  })
}

function readCi(v: unknown): CiInfo {
  const o = object(v, 'ci')
  return compact({
    provider: text(own(o, 'provider'), 'ci.provider', 64, (s) => (PROVIDER_RE.test(s) ? undefined : 'is not lower-case letters, digits and dashes')),
    runUrl: optional(own(o, 'runUrl'), (u) => text(u, 'ci.runUrl', L.url, httpUrlRule)),
    workflow: optional(own(o, 'workflow'), (w) => text(w, 'ci.workflow', L.longText)),
    ref: optional(own(o, 'ref'), shortText('ci.ref')),
  })
}

function readProvenance(v: unknown): ProvenanceRef {
  const o = object(v, 'provenance')
  return {
    integrity: text(own(o, 'integrity'), 'provenance.integrity', 100, integrityRule),
    size: int(own(o, 'size'), 'provenance.size', 1, PROVENANCE_LIMITS.bundleBytes),
  }
}

function readClaim(v: unknown): Claim {
  const o = object(v, 'claim')
  return compact({
    by: text(own(o, 'by'), 'claim.by', L.text),
    at: time('claim.at')(own(o, 'at')),
    host: optional(own(o, 'host'), shortText('claim.host')),
    pid: optional(own(o, 'pid'), (p) => int(p, 'claim.pid', 1)),
  })
}

function readFinalHop(v: unknown): FinalHop {
  const o = object(v, 'finalHop')
  return {
    registry: text(own(o, 'registry'), 'finalHop.registry', L.url, registryRule),
    stageId: text(own(o, 'stageId'), 'finalHop.stageId', 36, (s) => (isUuid(s) && s === s.toLowerCase() ? undefined : 'is not a lower-case UUID')),
    at: time('finalHop.at')(own(o, 'at')),
  }
}

function readSetMember(v: unknown, i: number): SetMember {
  const o = object(v, `setMembers[${i}]`)
  return {
    name: text(own(o, 'name'), `setMembers[${i}].name`, L.packageName, packageNameRule),
    version: text(own(o, 'version'), `setMembers[${i}].version`, L.version, versionRule),
  }
}

function readApproval(v: unknown, i: number): ApprovalEnvelope {
  const read = readEnvelope(v)
  return read.ok ? read.envelope : fail(`approvals[${i}]${read.field ? `.${read.field}` : ''}`, read.why)
}

const STATES: readonly StoredState[] = ['pending', 'approving', 'approved', 'rejected']
const ACCESS = ['public', 'restricted', null] as const
const ACTOR_TYPES = ['user', 'ci', 'trusted automation'] as const

export interface SchemaOptions {
  /** The id the record was asked for: a record carrying another id is corrupt. */
  expectedId?: string
  /** Record stores (file, S3) always write integrity, files and expiresAt; a registry's items have none. */
  store: boolean
}

function read(data: unknown, options: SchemaOptions): StagedRecord {
  const r = isObject(data) ? data : fail('record', 'is not a JSON object')
  if (own(r, 'schema') !== RECORD_SCHEMA) fail('schema', `is not ${RECORD_SCHEMA}`)
  const id = text(own(r, 'id'), 'id', 36, (s) => (isUuid(s) ? undefined : 'is not a UUID'))
  if (options.expectedId !== undefined && id !== options.expectedId) fail('id', 'is not the id that was asked for')
  const need = <T>(key: string, reader: (v: unknown) => T): T | undefined =>
    options.store || own(r, key) !== undefined ? reader(own(r, key)) : undefined
  const maybe = <T>(key: string, reader: (v: unknown) => T): T | undefined => optional(own(r, key), reader)
  return compact({
    schema: RECORD_SCHEMA,
    id,
    setId: maybe('setId', (s) => text(s, 'setId', 36, (v) => (isUuid(v) ? undefined : 'is not a UUID'))),
    setMembers: maybe('setMembers', (m) => array(m, 'setMembers', L.setMembers).map(readSetMember)),
    packageName: text(own(r, 'packageName'), 'packageName', L.packageName, packageNameRule),
    version: text(own(r, 'version'), 'version', L.version, versionRule),
    tag: text(own(r, 'tag'), 'tag', L.tag, tagRule),
    access: Object.hasOwn(r, 'access') ? oneOf(own(r, 'access'), 'access', ACCESS) : fail('access', 'is missing'),
    registry: text(own(r, 'registry'), 'registry', L.url, registryRule),
    integrity: need('integrity', (v) => text(v, 'integrity', 100, integrityRule)),
    shasum: text(own(r, 'shasum'), 'shasum', 40, (s) => (SHASUM_RE.test(s) ? undefined : 'is not 40 lower-case hex digits')),
    size: maybe('size', (v) => int(v, 'size', 0)),
    unpackedSize: maybe('unpackedSize', (v) => int(v, 'unpackedSize', 0)),
    fileCount: maybe('fileCount', (v) => int(v, 'fileCount', 0)),
    files: need('files', (v) => array(v, 'files', L.files).map(readFile)),
    bundled: maybe('bundled', (v) => array(v, 'bundled', L.bundled).map((b, i) => text(b, `bundled[${i}]`, L.packageName, packageNameRule))),
    createdAt: time('createdAt')(own(r, 'createdAt')),
    expiresAt: need('expiresAt', time('expiresAt')),
    actor: text(own(r, 'actor'), 'actor', L.text),
    actorType: oneOf(own(r, 'actorType'), 'actorType', ACTOR_TYPES),
    git: maybe('git', readGit),
    ci: maybe('ci', readCi),
    provenance: maybe('provenance', readProvenance),
    state: oneOf(own(r, 'state'), 'state', STATES),
    claim: maybe('claim', readClaim),
    finalHop: maybe('finalHop', readFinalHop),
    approvedAt: maybe('approvedAt', time('approvedAt')),
    approvedBy: maybe('approvedBy', shortText('approvedBy')),
    rejectedAt: maybe('rejectedAt', time('rejectedAt')),
    rejectedBy: maybe('rejectedBy', shortText('rejectedBy')),
    rejectReason: maybe('rejectReason', (v) => text(v, 'rejectReason', L.reason)),
    expiryNotifiedAt: maybe('expiryNotifiedAt', time('expiryNotifiedAt')),
    approvals: maybe('approvals', (v) => array(v, 'approvals', APPROVAL_LIMITS.perRecord).map(readApproval)),
  })
}

/**
 * Reads `data` (parsed JSON) as a staged record: a new object with only the known fields, or the
 * first field that breaks a rule. Expected outcomes are values: the caller words the error.
 */
export function checkRecord(data: unknown, options: SchemaOptions): { ok: true; record: StagedRecord } | ({ ok: false } & SchemaFailure) {
  try {
    return { ok: true, record: read(data, options) }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, ...err.failure }
    throw err
  }
}
