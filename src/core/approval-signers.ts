/**
 * OpenSSH's allowed_signers file (the one git uses for SSH commit signing), read only to find which
 * principal a key belongs to before it signs, so the statement can name its signer. It is never the
 * judge: every approval is verified by `ssh-keygen -Y verify` against the file itself, which applies
 * every option (namespaces=, valid-after=...). Lines whose principals are all patterns name nobody
 * and are skipped; certificate authorities are not matched here. Pure.
 */
import { fingerprintOf } from './approval-sshsig.js'
import { PRINCIPAL_RE } from './approval-statement.js'

/** The most of an allowed_signers file that is read. */
export const MAX_SIGNERS_FILE = 1024 * 1024

export interface SignerEntry {
  /** The principals that are single identities (patterns and negations left out). */
  principals: string[]
  fingerprint: string
  /** Whether the line limits the namespaces this key may sign for. */
  namespaces?: string[]
}

/** Splits a line into fields on spaces, keeping double-quoted spans (options such as namespaces="a,b") whole. */
function fields(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const c of line) {
    if (c === '"') quoted = !quoted
    if (!quoted && (c === ' ' || c === '\t')) {
      if (cur) out.push(cur)
      cur = ''
    } else cur += c
  }
  if (cur) out.push(cur)
  return out
}

const KEY_TYPE_RE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/

/** A public key line (`<type> <base64> [comment]`, as in a .pub file): its fingerprint, or undefined. */
export function publicKeyFingerprint(line: string): string | undefined {
  const [type, key] = fields(line.trim())
  if (!type || !key || !KEY_TYPE_RE.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(key)) return undefined
  const blob = Buffer.from(key, 'base64')
  // The blob starts with its own type: a key pasted under another type's name is not that key.
  if (blob.length < 4 || blob.readUInt32BE(0) !== Buffer.byteLength(type) || blob.subarray(4, 4 + Buffer.byteLength(type)).toString('latin1') !== type) return undefined
  return fingerprintOf(blob)
}

export function parseAllowedSigners(text: string): SignerEntry[] {
  const entries: SignerEntry[] = []
  for (const raw of text.slice(0, MAX_SIGNERS_FILE).split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const f = fields(line)
    const principals = (f[0] ?? '').replace(/^"|"$/g, '').split(',').filter((p) => PRINCIPAL_RE.test(p))
    const keyAt = KEY_TYPE_RE.test(f[1] ?? '') ? 1 : 2
    const options = keyAt === 2 ? (f[1] ?? '') : ''
    if (/(^|,)cert-authority(,|$)/i.test(options)) continue
    const fingerprint = publicKeyFingerprint(f.slice(keyAt).join(' '))
    if (!fingerprint || !principals.length) continue
    const ns = /(?:^|,)namespaces="([^"]*)"/i.exec(options)
    entries.push({ principals, fingerprint, ...(ns && { namespaces: (ns[1] as string).split(',') }) })
  }
  return entries
}

/** The principal a key signs as: the first single identity listed for it that may sign in `namespace`. */
export function principalFor(entries: SignerEntry[], fingerprint: string, namespace: string): string | undefined {
  for (const e of entries) {
    if (e.fingerprint !== fingerprint) continue
    if (e.namespaces && !e.namespaces.some((n) => globMatch(n, namespace))) continue
    return e.principals[0]
  }
  return undefined
}

/** OpenSSH's pattern match (`*` and `?`), as it applies namespaces= patterns. */
function globMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${re}$`).test(value)
}
