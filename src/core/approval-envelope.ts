/**
 * An approval as stored with a release: a DSSE-shaped envelope around an in-toto statement
 * (./approval-statement.ts), signed with `ssh-keygen -Y sign` under our namespace. The bytes signed are
 * DSSE's pre-authentication encoding of (payloadType, payload), so a signature can never be read as
 * one over another kind of document. Envelopes come from an untrusted record or file: they are read
 * once, strictly, into new objects with only the known fields. Pure.
 */

export const PAYLOAD_TYPE = 'application/vnd.in-toto+json'
/** The `ssh-keygen -Y` namespace approvals are signed under: a commit or file signature of the same key never verifies as an approval. */
export const SIGNING_NAMESPACE = 'stage-publish-approval@v1'

/** Bounds on what a record may carry: an attacker filling a record must not make approving slow. */
export const APPROVAL_LIMITS = {
  /** Approvals stored with one release. */
  perRecord: 32,
  /** The base64 statement. */
  payloadChars: 16 * 1024,
  /** The base64 of the armored SSH signature (a hardware key's is a little longer than ed25519's). */
  sigChars: 8 * 1024,
} as const

export interface DsseSignature {
  /** The signing key's SHA256 fingerprint, as ssh-keygen prints it (`SHA256:...`). */
  keyid: string
  /** base64 of the armored SSH signature (`-----BEGIN SSH SIGNATURE-----`...). */
  sig: string
}

export interface ApprovalEnvelope {
  payloadType: typeof PAYLOAD_TYPE
  /** base64 of the statement's canonical JSON. */
  payload: string
  signatures: [DsseSignature]
}

export const KEYID_RE = /^SHA256:[A-Za-z0-9+/]{43}$/
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined)

function base64(v: unknown, max: number): string | string[] {
  if (typeof v !== 'string') return ['is not a string']
  if (v === '') return ['is empty']
  if (v.length > max) return [`is longer than ${max} characters`]
  return BASE64_RE.test(v) ? v : ['is not base64']
}

/** Reads one envelope: a new object, or the field that is wrong and why (never its value). */
export function readEnvelope(v: unknown): { ok: true; envelope: ApprovalEnvelope } | { ok: false; field: string; why: string } {
  const bad = (field: string, why: string) => ({ ok: false as const, field, why })
  if (!isObject(v)) return bad('', 'is not an object')
  if (own(v, 'payloadType') !== PAYLOAD_TYPE) return bad('payloadType', `is not ${PAYLOAD_TYPE}`)
  const payload = base64(own(v, 'payload'), APPROVAL_LIMITS.payloadChars)
  if (Array.isArray(payload)) return bad('payload', payload[0] as string)
  const signatures = own(v, 'signatures')
  // One signature per envelope: one approver, one statement. A co-signature is another envelope.
  if (!Array.isArray(signatures) || signatures.length !== 1) return bad('signatures', 'is not a list of exactly one signature')
  const s: unknown = signatures[0]
  if (!isObject(s)) return bad('signatures[0]', 'is not an object')
  const keyid = own(s, 'keyid')
  if (typeof keyid !== 'string' || !KEYID_RE.test(keyid)) return bad('signatures[0].keyid', 'is not an SSH key fingerprint (SHA256:...)')
  const sig = base64(own(s, 'sig'), APPROVAL_LIMITS.sigChars)
  if (Array.isArray(sig)) return bad('signatures[0].sig', sig[0] as string)
  return { ok: true, envelope: { payloadType: PAYLOAD_TYPE, payload, signatures: [{ keyid, sig }] } }
}

/** DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), Buffer.from(payload)])
}

/** The bytes an approval's signature covers. */
export const signedBytes = (envelope: ApprovalEnvelope): Buffer => pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'))

export function makeEnvelope(statementBytes: Uint8Array, keyid: string, armoredSignature: string): ApprovalEnvelope {
  return {
    payloadType: PAYLOAD_TYPE,
    payload: Buffer.from(statementBytes).toString('base64'),
    signatures: [{ keyid, sig: Buffer.from(armoredSignature, 'utf8').toString('base64') }],
  }
}
