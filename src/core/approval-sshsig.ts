/**
 * What an armored SSH signature (OpenSSH PROTOCOL.sshsig) says about itself, read without verifying
 * it: the public key that made it (its SHA256 fingerprint, as ssh-keygen prints it) and the namespace.
 * Verification is ssh-keygen's job (src/origin/ssh-sign.ts); this only lets an envelope's keyid and a
 * statement's signer be checked against the signature, and a wrong namespace be named. Pure.
 */
import { createHash } from 'node:crypto'

const BEGIN = '-----BEGIN SSH SIGNATURE-----'
const END = '-----END SSH SIGNATURE-----'

export interface SshSignatureInfo {
  /** `SHA256:<base64 without padding>` of the public key blob. */
  fingerprint: string
  namespace: string
  /** The key type named inside the public key (ssh-ed25519, sk-ssh-ed25519@openssh.com...). */
  keyType: string
}

/** The fingerprint ssh-keygen -l prints for a public key blob. */
export const fingerprintOf = (blob: Uint8Array): string => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`

/** Reads the length-prefixed strings of the SSH wire format, refusing anything out of bounds. */
function reader(buf: Buffer) {
  let at = 0
  return {
    bytes(n: number): Buffer {
      if (n < 0 || at + n > buf.length) throw new Error('truncated')
      const out = buf.subarray(at, at + n)
      at += n
      return out
    },
    string(): Buffer {
      if (at + 4 > buf.length) throw new Error('truncated')
      const n = buf.readUInt32BE(at)
      at += 4
      return this.bytes(n)
    },
    u32(): number {
      return this.bytes(4).readUInt32BE(0)
    },
  }
}

/** The signature's key and namespace, or undefined when the text is not one armored SSH signature. */
export function readSshSignature(armored: string): SshSignatureInfo | undefined {
  const lines = armored.trim().split(/\r?\n/)
  if (lines.length < 3 || lines[0] !== BEGIN || lines[lines.length - 1] !== END) return undefined
  const body = lines.slice(1, -1).join('')
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) return undefined
  try {
    const r = reader(Buffer.from(body, 'base64'))
    if (r.bytes(6).toString('latin1') !== 'SSHSIG' || r.u32() !== 1) return undefined
    const publicKey = r.string()
    const namespace = r.string().toString('utf8')
    const keyType = reader(publicKey).string().toString('latin1')
    if (!/^[a-z0-9@.-]{1,64}$/.test(keyType)) return undefined
    return { fingerprint: fingerprintOf(publicKey), namespace, keyType }
  } catch {
    return undefined
  }
}
