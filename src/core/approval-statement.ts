/**
 * The approval statement: an in-toto Statement v1 whose one subject is the release
 * (`pkg:npm/<name>@<version>` with the tarball's sha512), so a signature over one release can never
 * count for another. Its predicate says who signed (principal, key), where it goes (registry, tag),
 * when, what they saw (the digest of the review) and how far the quorum was. Built canonically,
 * read strictly. Pure.
 */
import { createHash } from 'node:crypto'
import { firstUnsafeChar } from './text.js'
import { isUuid } from './field-rules.js'
import { KEYID_RE } from './approval-envelope.js'

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1'
export const PREDICATE_TYPE = 'https://github.com/stage-publish/stage-publish/approval/v1'

/** The release as the bytes prove it: what a statement must name to count. */
export interface ApprovalSubject {
  name: string
  version: string
  /** sha512 of the tarball, lower-case hex. */
  sha512: string
}

export interface ApprovalPredicate {
  signer: { principal: string; keyFingerprint: string }
  /** The staged release's id (for people; the subject is what binds). */
  release: { id: string }
  registry: string
  tag: string
  approvedAt: string
  /** Digests of the canonical JSON of the review the signer was shown. */
  review: { sha512: string; sha256: string }
  /** The policy when they signed: approvals required, and valid ones counted before this one. */
  policy: { required: number; counted: number }
}

export interface ApprovalStatement {
  _type: typeof STATEMENT_TYPE
  subject: [{ name: string; digest: { sha512: string } }]
  predicateType: typeof PREDICATE_TYPE
  predicate: ApprovalPredicate
}

/** The package URL npm-package-arg's toPurl gives for a registry version (the leading @ of a scope encoded). */
export const purlOf = (name: string, version: string): string => `pkg:npm/${name.replace(/^@/, '%40')}@${version}`

/** JSON with object keys sorted at every level and no whitespace: one text for one value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The digests of what the signer saw: the review result's canonical JSON. */
export function reviewDigest(review: unknown): { sha512: string; sha256: string } {
  const text = canonicalJson(review)
  return { sha512: createHash('sha512').update(text).digest('hex'), sha256: createHash('sha256').update(text).digest('hex') }
}

/** `sha512-<base64>` (npm's integrity) as lower-case hex; undefined when it is not exactly one sha512. */
export function sha512Hex(integrity: string | undefined): string | undefined {
  const m = /^sha512-([A-Za-z0-9+/]{86}==)$/.exec(integrity ?? '')
  if (!m) return undefined
  const digest = Buffer.from(m[1] as string, 'base64')
  return digest.length === 64 ? digest.toString('hex') : undefined
}

export function buildStatement(subject: ApprovalSubject, predicate: ApprovalPredicate): ApprovalStatement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: purlOf(subject.name, subject.version), digest: { sha512: subject.sha512 } }],
    predicateType: PREDICATE_TYPE,
    predicate,
  }
}

export const statementBytes = (statement: ApprovalStatement): Buffer => Buffer.from(canonicalJson(statement), 'utf8')

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined)

class Bad extends Error {}
const bad = (why: string): never => {
  throw new Bad(why)
}
function text(v: unknown, field: string, max = 256): string {
  if (typeof v !== 'string' || v === '') return bad(`${field} is not a string`)
  if (v.length > max) return bad(`${field} is longer than ${max} characters`)
  if (firstUnsafeChar(v)) return bad(`${field} contains a control or invisible character`)
  return v
}
const hex = (v: unknown, field: string, length: number): string =>
  typeof v === 'string' && new RegExp(`^[0-9a-f]{${length}}$`).test(v) ? v : bad(`${field} is not ${length} lower-case hex digits`)
const count = (v: unknown, field: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 1000 ? v : bad(`${field} is not a small count`))
const object = (v: unknown, field: string): Obj => (isObject(v) ? v : bad(`${field} is not an object`))

/** A principal we can count: one identity, not an allowed_signers pattern or list. */
export const PRINCIPAL_RE = /^[^\s,*?!"]+$/

function readPredicate(p: Obj): ApprovalPredicate {
  const signer = object(own(p, 'signer'), 'predicate.signer')
  const principal = text(own(signer, 'principal'), 'predicate.signer.principal')
  if (!PRINCIPAL_RE.test(principal)) bad('predicate.signer.principal is a pattern or a list, not one principal')
  const keyFingerprint = own(signer, 'keyFingerprint')
  if (typeof keyFingerprint !== 'string' || !KEYID_RE.test(keyFingerprint)) bad('predicate.signer.keyFingerprint is not an SSH key fingerprint')
  const release = object(own(p, 'release'), 'predicate.release')
  const id = text(own(release, 'id'), 'predicate.release.id', 36)
  if (!isUuid(id)) bad('predicate.release.id is not a UUID')
  const approvedAt = text(own(p, 'approvedAt'), 'predicate.approvedAt', 64)
  if (!Number.isFinite(Date.parse(approvedAt))) bad('predicate.approvedAt is not a time')
  const review = object(own(p, 'review'), 'predicate.review')
  const policy = object(own(p, 'policy'), 'predicate.policy')
  return {
    signer: { principal, keyFingerprint: keyFingerprint as string },
    release: { id },
    registry: text(own(p, 'registry'), 'predicate.registry', 2048),
    tag: text(own(p, 'tag'), 'predicate.tag', 128),
    approvedAt,
    review: { sha512: hex(own(review, 'sha512'), 'predicate.review.sha512', 128), sha256: hex(own(review, 'sha256'), 'predicate.review.sha256', 64) },
    policy: { required: count(own(policy, 'required'), 'predicate.policy.required'), counted: count(own(policy, 'counted'), 'predicate.policy.counted') },
  }
}

/** Reads a statement's bytes strictly: a new object with only the known fields, or why it is not one. */
export function readStatement(bytes: Uint8Array): { ok: true; statement: ApprovalStatement } | { ok: false; why: string } {
  try {
    let data: unknown
    try {
      data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      return bad('it is not UTF-8 JSON')
    }
    const s = object(data, 'the statement')
    if (own(s, '_type') !== STATEMENT_TYPE) bad(`_type is not ${STATEMENT_TYPE}`)
    if (own(s, 'predicateType') !== PREDICATE_TYPE) bad(`predicateType is not ${PREDICATE_TYPE}`)
    const subjects = own(s, 'subject')
    if (!Array.isArray(subjects) || subjects.length !== 1) bad('subject is not exactly one release')
    const subject = object((subjects as unknown[])[0], 'subject[0]')
    const name = text(own(subject, 'name'), 'subject[0].name', 600)
    const sha512 = hex(own(object(own(subject, 'digest'), 'subject[0].digest'), 'sha512'), 'subject[0].digest.sha512', 128)
    const predicate = readPredicate(object(own(s, 'predicate'), 'predicate'))
    return { ok: true, statement: { _type: STATEMENT_TYPE, subject: [{ name, digest: { sha512 } }], predicateType: PREDICATE_TYPE, predicate } }
  } catch (err) {
    if (err instanceof Bad) return { ok: false, why: err.message }
    throw err
  }
}

/** Whether the statement names exactly this release: package, version and the bytes' sha512. */
export function namesRelease(statement: ApprovalStatement, subject: ApprovalSubject): boolean {
  const [s] = statement.subject
  return s.name === purlOf(subject.name, subject.version) && s.digest.sha512 === subject.sha512
}
