/**
 * Everything about a stored approval that can be checked without ssh-keygen, in the order that names
 * the real problem: a readable envelope, an SSH signature under our namespace by the key the envelope
 * and the statement name, and a statement for exactly this release. What passes still needs its
 * signature verified against allowed_signers (src/origin/ssh-sign.ts). Pure.
 */
import { readEnvelope, signedBytes, SIGNING_NAMESPACE, type ApprovalEnvelope } from './approval-envelope.js'
import { namesRelease, readStatement, type ApprovalStatement, type ApprovalSubject } from './approval-statement.js'
import { readSshSignature } from './approval-sshsig.js'
import type { CheckedApproval } from './approval-count.js'

export interface ToVerify {
  index: number
  envelope: ApprovalEnvelope
  statement: ApprovalStatement
  /** The armored SSH signature, for ssh-keygen. */
  signature: string
  /** The bytes it must be a signature of (DSSE's PAE of the statement). */
  data: Buffer
  principal: string
  fingerprint: string
}

export function precheckApproval(raw: unknown, index: number, subject: ApprovalSubject): { ok: true; next: ToVerify } | { ok: false; failed: CheckedApproval } {
  const fail = (code: Extract<CheckedApproval, { ok: false }>['code'], why?: string, principal?: string) => ({
    ok: false as const,
    failed: { index, ok: false as const, code, ...(why && { why }), ...(principal && { principal }) },
  })
  const read = readEnvelope(raw)
  if (!read.ok) return fail('malformed', `envelope ${read.field} ${read.why}`.replace('  ', ' '))
  const { envelope } = read
  const [sig] = envelope.signatures
  const signature = Buffer.from(sig.sig, 'base64').toString('utf8')
  const info = readSshSignature(signature)
  if (!info) return fail('malformed', 'the signature is not an armored SSH signature')
  const parsed = readStatement(Buffer.from(envelope.payload, 'base64'))
  if (!parsed.ok) return fail('malformed', `the statement: ${parsed.why}`)
  const { statement } = parsed
  const principal = statement.predicate.signer.principal
  if (info.namespace !== SIGNING_NAMESPACE) return fail('namespace', undefined, principal)
  if (sig.keyid !== info.fingerprint || statement.predicate.signer.keyFingerprint !== info.fingerprint) return fail('key-mismatch', undefined, principal)
  if (!namesRelease(statement, subject)) return fail('other-release', undefined, principal)
  return { ok: true, next: { index, envelope, statement, signature, data: signedBytes(envelope), principal, fingerprint: info.fingerprint } }
}
