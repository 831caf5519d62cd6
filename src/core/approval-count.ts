/**
 * Counting a release's approvals, once each one has been checked (./approval-statement.ts for what it
 * says, ssh-keygen for its signature): distinct signers only, by principal AND by key, so neither a
 * second signature of the same person nor one key listed under several names counts twice; whoever
 * staged the release does not count toward it unless the policy allows it. Pure.
 */

/** Why a stored approval does not count. Codes are data; src/ui/render-approvals.ts words them. */
export type RefusalCode =
  /** Not a readable envelope, statement or SSH signature. */
  | 'malformed'
  /** Signed for another release (package, version or bytes). */
  | 'other-release'
  /** Signed under another ssh-keygen namespace: a commit or file signature, not an approval. */
  | 'namespace'
  /** The envelope's keyid or the statement's signer key is not the key that signed. */
  | 'key-mismatch'
  /** The key is not listed for the principal the statement names (or the file refuses it there). */
  | 'unlisted'
  /** ssh-keygen does not verify the signature over the statement: tampered, or forged. */
  | 'signature'
  /** The signer staged the release, and the policy does not let them approve their own. */
  | 'self'
  /** The same principal or key counted already. */
  | 'duplicate'

/** One stored approval after its checks: who signed (when it verified) or why it does not count. */
export type CheckedApproval =
  | { index: number; ok: true; principal: string; fingerprint: string; at: string }
  | { index: number; ok: false; code: RefusalCode; why?: string; principal?: string }

export interface CountedApproval {
  index: number
  principal: string
  fingerprint: string
  at: string
}

export interface Tally {
  required: number
  counted: CountedApproval[]
  /** Stored approvals that do not count, and why. */
  refused: Array<{ index: number; code: RefusalCode; why?: string; principal?: string }>
  met: boolean
  /** How many more distinct signers are needed (0 when met). */
  needed: number
}

export function tallyApprovals(checked: CheckedApproval[], policy: { required: number; allowSelfApproval: boolean }, stager?: string): Tally {
  const counted: CountedApproval[] = []
  const refused: Tally['refused'] = []
  const principals = new Set<string>()
  const keys = new Set<string>()
  for (const c of checked) {
    if (!c.ok) {
      refused.push({ index: c.index, code: c.code, ...(c.why && { why: c.why }), ...(c.principal && { principal: c.principal }) })
      continue
    }
    if (!policy.allowSelfApproval && stager !== undefined && c.principal === stager) {
      refused.push({ index: c.index, code: 'self', principal: c.principal })
      continue
    }
    if (principals.has(c.principal) || keys.has(c.fingerprint)) {
      refused.push({ index: c.index, code: 'duplicate', principal: c.principal })
      continue
    }
    principals.add(c.principal)
    keys.add(c.fingerprint)
    counted.push({ index: c.index, principal: c.principal, fingerprint: c.fingerprint, at: c.at })
  }
  const needed = Math.max(0, policy.required - counted.length)
  return { required: policy.required, counted, refused, met: needed === 0, needed }
}
