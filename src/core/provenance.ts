/**
 * A Sigstore provenance bundle (what `npm publish --provenance` attaches as `<name>-<version>.sigstore`)
 * read as untrusted bytes, once: bounded, strict JSON, the in-toto statement from its DSSE envelope,
 * exactly one subject, and the build facts the statement states. Pure: the signature is checked by
 * src/npm/provenance-verify.ts, which hands the signer's certificate identity back here.
 *
 * The facts are only as good as the signature: a caller shows them after the bundle verified, never before.
 * Every string that comes out is bounded and free of control, bidi and zero-width characters.
 */
import { StagePublishError } from '../errors.js'
import { toSafeText } from './text.js'
import type { CiInfo, GitInfo } from './record-types.js'

export const PROVENANCE_LIMITS = {
  /** A real npm provenance bundle is 5–15 KiB; 1 MiB leaves room and stops a hostile one early. */
  bundleBytes: 1024 * 1024,
  /** Longest fact kept (a URL, a ref). */
  fact: 2048,
} as const

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
const MEDIA_TYPE_RE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.3\+json|\+json;version=0\.[123])$/
const SHA512_HEX_RE = /^[0-9a-f]{128}$/

/** What a bundle's statement claims, once its signature is checked. All optional: statements differ by CI. */
export interface ProvenanceFacts {
  /** `https://slsa.dev/provenance/v1` (npm on GitHub Actions) or `/v0.2` (npm on GitLab, older npm). */
  predicateType: string
  /** The source repository, as a URL (https://github.com/o/r). */
  repository?: string
  /** The commit built. */
  commit?: string
  /** The git ref built (refs/heads/main, refs/tags/v1.0.0). */
  ref?: string
  /** The workflow file (.github/workflows/release.yml) or job name (GitLab), and its ref. */
  workflowPath?: string
  workflowRef?: string
  /** The builder id (https://github.com/actions/runner/github-hosted). */
  builder?: string
  /** The run: a URL (GitHub, GitLab) or an id. */
  invocation?: string
  /** Who the signing certificate was issued to, and by which OIDC issuer (from the verified certificate). */
  signer?: { identity: string; issuer?: string }
}

/** What a review is told about provenance: a verified bundle's facts (and the record's claims), or why it could not be verified. */
export type ProvenanceReview = { facts: ProvenanceFacts; claimed: { git?: GitInfo; ci?: CiInfo } } | { unverified: string }

/** The parsed bundle: the JSON value (what libnpmpublish re-serialises), its statement's one subject and facts. */
export interface ParsedBundle {
  json: Record<string, unknown>
  subject: { name: string; sha512: string }
  facts: ProvenanceFacts
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: unknown, key: string): unknown => (isObj(o) && Object.hasOwn(o, key) ? o[key] : undefined)
const path = (o: unknown, ...keys: Array<string | number>): unknown => {
  let v = o
  for (const k of keys) v = typeof k === 'number' ? (Array.isArray(v) ? (v[k] as unknown) : undefined) : own(v, k)
  return v
}

/** A fact for people to read: a non-empty string, made safe and bounded; anything else is absent. */
export const fact = (v: unknown): string | undefined => {
  if (typeof v !== 'string' || v === '') return undefined
  return toSafeText(v, PROVENANCE_LIMITS.fact) || undefined
}

export function provenanceError(why: string, hint = 'Nothing was staged or published. Make the bundle for this exact tarball (npm publish --provenance in CI does), or stage without provenance.'): StagePublishError {
  return new StagePublishError('EPROVENANCE', `The provenance bundle ${why}`, { hint })
}

/**
 * Reads bundle bytes: refused (EPROVENANCE) when larger than the limit, not UTF-8 JSON, not a Sigstore
 * bundle with a DSSE in-toto envelope, or when its statement has no subject or more than one (npm's rules:
 * libnpmpublish lib/provenance.js verifyProvenance).
 */
export function parseBundle(bytes: Uint8Array): ParsedBundle {
  if (bytes.byteLength > PROVENANCE_LIMITS.bundleBytes) throw provenanceError(`is ${bytes.byteLength} bytes, over the limit of ${PROVENANCE_LIMITS.bundleBytes}`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw provenanceError('is not UTF-8 text')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw provenanceError('is not valid JSON')
  }
  if (!isObj(json)) throw provenanceError('is not a JSON object')
  const mediaType = own(json, 'mediaType')
  if (typeof mediaType !== 'string' || !MEDIA_TYPE_RE.test(mediaType)) throw provenanceError('is not a Sigstore bundle (its mediaType is not application/vnd.dev.sigstore.bundle…)')
  const envelope = own(json, 'dsseEnvelope')
  const payload = own(envelope, 'payload')
  if (typeof payload !== 'string' || payload === '') throw provenanceError('has no DSSE envelope with a payload')
  if (own(envelope, 'payloadType') !== INTOTO_PAYLOAD_TYPE) throw provenanceError(`payload is not an in-toto statement (${INTOTO_PAYLOAD_TYPE})`)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw provenanceError('payload is not base64')
  let statement: unknown
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64')))
  } catch {
    throw provenanceError('payload is not a JSON in-toto statement')
  }
  const subjects = own(statement, 'subject')
  if (!Array.isArray(subjects) || subjects.length === 0) throw provenanceError('statement names no subject')
  if (subjects.length > 1) throw provenanceError(`statement names ${subjects.length} subjects; npm accepts exactly one, the package`)
  const name = own(subjects[0], 'name')
  const sha512 = path(subjects[0], 'digest', 'sha512')
  if (typeof name !== 'string' || name === '') throw provenanceError('subject has no name')
  if (typeof sha512 !== 'string' || !SHA512_HEX_RE.test(sha512)) throw provenanceError('subject has no sha512 digest')
  return { json, subject: { name: toSafeText(name, PROVENANCE_LIMITS.fact), sha512 }, facts: statementFacts(statement) }
}

/**
 * The subject must be the package and the exact tarball: `pkg:npm/<name>@<version>` as npm-package-arg's
 * toPurl writes it (the caller passes it: core imports no adapter) and the tarball's sha512 (hex).
 */
export function checkSubject(parsed: ParsedBundle, expected: { purl: string; sha512Hex: string }): void {
  if (parsed.subject.name !== expected.purl) {
    throw provenanceError(`is for ${parsed.subject.name}, not for this package (${expected.purl})`)
  }
  if (parsed.subject.sha512 !== expected.sha512Hex) {
    throw provenanceError(`is for other bytes: its subject's sha512 is not the staged tarball's`, 'Nothing was staged or published. A provenance bundle is made for one exact tarball: make it from the tarball being staged, or stage the tarball it was made for.')
  }
}

/** The build facts of an npm provenance statement: SLSA v1 (GitHub Actions) or v0.2 (GitLab, npm before 9.5). */
export function statementFacts(statement: unknown): ProvenanceFacts {
  const predicateType = fact(own(statement, 'predicateType')) ?? 'unknown'
  const p = own(statement, 'predicate')
  if (predicateType === 'https://slsa.dev/provenance/v1') {
    const workflow = path(p, 'buildDefinition', 'externalParameters', 'workflow')
    const dep = path(p, 'buildDefinition', 'resolvedDependencies', 0)
    const depUri = fact(own(dep, 'uri'))
    return compact({
      predicateType,
      repository: fact(own(workflow, 'repository')),
      commit: fact(path(dep, 'digest', 'gitCommit')),
      ref: depUri?.includes('@') ? depUri.slice(depUri.lastIndexOf('@') + 1) : undefined,
      workflowPath: fact(own(workflow, 'path')),
      workflowRef: fact(own(workflow, 'ref')),
      builder: fact(path(p, 'runDetails', 'builder', 'id')),
      invocation: fact(path(p, 'runDetails', 'metadata', 'invocationId')),
    })
  }
  // v0.2: configSource.uri is `git+<repo>@<ref>` (GitHub, npm < 9.5) or `git+<repo>` (GitLab, ref in parameters).
  const source = path(p, 'invocation', 'configSource')
  const uri = fact(own(source, 'uri'))?.replace(/^git\+/, '')
  const at = uri?.lastIndexOf('@') ?? -1
  const env = path(p, 'invocation', 'environment')
  const params = path(p, 'invocation', 'parameters')
  return compact({
    predicateType,
    repository: uri && at > uri.indexOf('://') + 3 ? uri.slice(0, at) : uri,
    commit: fact(path(source, 'digest', 'sha1')),
    ref: uri && at > uri.indexOf('://') + 3 ? uri.slice(at + 1) : (fact(own(params, 'CI_COMMIT_REF_NAME')) ?? fact(own(env, 'GITHUB_REF'))),
    workflowPath: fact(own(source, 'entryPoint')),
    builder: fact(path(p, 'builder', 'id')),
    invocation: fact(path(p, 'metadata', 'buildInvocationId')),
  })
}

const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
