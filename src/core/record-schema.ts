/**
 * The staged record's schema, applied to every record read from a backend or built from a
 * registry's staging API. Anyone with the CI credential can write any record, so a record is
 * untrusted input: it is read once, field by field, into a NEW object with only the known fields.
 * A field that breaks a rule makes the whole record corrupt; the reason names the field, never
 * its value. No string of a record may hold a control, bidi or zero-width character. Pure.
 */
import semver from 'semver'
import validateName from 'validate-npm-package-name'
import type { CiInfo, Claim, GitInfo, PackedFile, SetMember, StagedRecord, StoredState } from './record.js'
import { firstUnsafeChar, MAX_REASON } from './text.js'
import { hasCredentials } from './url.js'

export const RECORD_SCHEMA = 1

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

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const isUuid = (id: string): boolean => UUID_RE.test(id)

/** A rule on a string: why the value breaks it, or undefined. Reasons never quote the value. */
export type Rule = (value: string) => string | undefined

/** npm's names (valid for new or old packages: old ones may have capitals), with no path tricks. */
export const packageNameRule: Rule = (name) => {
  if (/\s/.test(name)) return 'contains whitespace'
  if (!validateName(name).validForOldPackages) return 'is not a valid npm package name'
  // validate-npm-package-name accepts `@../x` and `@./x`: names become file names and URLs.
  if (name.split('/').some((part) => part.replace(/^@/, '').startsWith('.'))) return 'has a part that starts with a period'
  return undefined
}

/** A strict semver version as npm stores it: `1.2.3`, `1.2.3-rc.1`, `1.2.3+build`; no `v`, no spaces. */
export const versionRule: Rule = (version) => {
  const valid = semver.valid(version)
  if (!valid || !/^[0-9A-Za-z.+-]+$/.test(version) || !(version === valid || version.startsWith(`${valid}+`))) return 'is not a semver version'
  return undefined
}

/** npm's dist-tag rules (npm lib/commands/publish.js, dist-tag.js): URL-safe and not a semver range. */
export const tagRule: Rule = (tag) => {
  if (encodeURIComponent(tag) !== tag) return 'is not URL-safe'
  if (semver.validRange(tag)) return 'is a semver range, which npm refuses as a tag'
  return undefined
}

const ISO_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/

/** An ISO 8601 date and time with a zone, that Date parses: a bad time must never freeze or immortalise a release. */
export const timeRule: Rule = (time) => (ISO_TIME.test(time) && Number.isFinite(Date.parse(time)) ? undefined : 'is not an ISO date and time')

/** An http(s) URL with no userinfo and no token-like query parameter. */
export const httpUrlRule: Rule = (url) => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'is not an http(s) URL'
  if (parsed.username !== '' || parsed.password !== '' || hasCredentials(url)) return 'carries credentials'
  return undefined
}

/** A registry as npm configures it: an http(s) URL without credentials, ending with '/'. */
export const registryRule: Rule = (url) => httpUrlRule(url) ?? (url.endsWith('/') ? undefined : "does not end with '/'")

const REMOTE_SCHEMES = new Set(['http:', 'https:', 'git:', 'ssh:', 'git+ssh:', 'git+http:', 'git+https:', 'file:'])

/** A git remote: a URL of a scheme git uses, scp-like (`git@host:org/repo.git`) or a local path; never with credentials. */
export const remoteRule: Rule = (remote) => {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) {
    let parsed: URL
    try {
      parsed = new URL(remote)
    } catch {
      return 'is not a URL'
    }
    if (!REMOTE_SCHEMES.has(parsed.protocol)) return 'is not a git URL'
  }
  // Without a scheme it is scp-like or a path: git reads it as one or the other.
  return hasCredentials(remote) ? 'carries credentials' : undefined
}

const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
const SHASUM_RE = /^[0-9a-f]{40}$/
const PROVIDER_RE = /^[a-z0-9-]{1,64}$/

/** `sha512-` and the base64 of exactly 64 bytes, canonical: what ssri and npm write. */
export const integrityRule: Rule = (integrity) => {
  const m = /^sha512-([A-Za-z0-9+/]{86}==)$/.exec(integrity)
  if (!m) return 'is not a sha512 integrity'
  const digest = Buffer.from(m[1] as string, 'base64')
  return digest.length === 64 && digest.toString('base64') === m[1] ? undefined : 'is not a sha512 integrity'
}

/** A path inside the package: relative, with `/` separators, no `..`, no drive letter. */
export const packagePathRule: Rule = (p) => {
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is absolute'
  if (p.includes('\\')) return 'contains a backslash'
  if (p.split('/').some((seg) => seg === '..' || seg === '')) return 'has an empty or .. segment'
  return undefined
}

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
const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

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

function readClaim(v: unknown): Claim {
  const o = object(v, 'claim')
  return compact({
    by: text(own(o, 'by'), 'claim.by', L.text),
    at: time('claim.at')(own(o, 'at')),
    host: optional(own(o, 'host'), shortText('claim.host')),
    pid: optional(own(o, 'pid'), (p) => int(p, 'claim.pid', 1)),
  })
}

function readSetMember(v: unknown, i: number): SetMember {
  const o = object(v, `setMembers[${i}]`)
  return {
    name: text(own(o, 'name'), `setMembers[${i}].name`, L.packageName, packageNameRule),
    version: text(own(o, 'version'), `setMembers[${i}].version`, L.version, versionRule),
  }
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
    state: oneOf(own(r, 'state'), 'state', STATES),
    claim: maybe('claim', readClaim),
    approvedAt: maybe('approvedAt', time('approvedAt')),
    approvedBy: maybe('approvedBy', shortText('approvedBy')),
    rejectedAt: maybe('rejectedAt', time('rejectedAt')),
    rejectedBy: maybe('rejectedBy', shortText('rejectedBy')),
    rejectReason: maybe('rejectReason', (v) => text(v, 'rejectReason', L.reason)),
  }) as StagedRecord
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
