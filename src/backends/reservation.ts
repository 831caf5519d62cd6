/**
 * The stored form of a `name@version` reservation, shared by the record stores: where it lives and
 * what it holds. Names come from a package.json (scoped ones have '/'), so they are encoded before
 * they become a file name or an object key; anything too long for a file name is hashed.
 */
import { isUuid } from '../core/record.js'
import { sha256Hex } from './hashing.js'

const MAX_KEY = 200

/** `versions/<key>.json`: '%'-encoded name and version (no '/', no '..' path part), or a sha256 for very long ones. */
export function reservationKey(name: string, version: string): string {
  const key = `${encodeURIComponent(name)}@${encodeURIComponent(version)}`
  return key.length <= MAX_KEY && !key.startsWith('.') ? key : `sha256-${sha256Hex(`${name}@${version}`)}`
}

export const serializeReservation = (name: string, version: string, id: string, at: Date): string => `${JSON.stringify({ name, version, id, at: at.toISOString() })}\n`

/** What a stored reservation says. Untrusted bytes: anything that is not one holds nothing. */
export function parseReservation(text: string): { id: string | null; at: string | null } {
  try {
    const data = JSON.parse(text) as { id?: unknown; at?: unknown } | null
    const id = typeof data?.id === 'string' && isUuid(data.id) ? data.id : null
    const at = typeof data?.at === 'string' && !Number.isNaN(Date.parse(data.at)) ? data.at : null
    return { id, at }
  } catch {
    return { id: null, at: null }
  }
}

/** Audit entries are named `<release id>-<time>`: only such a name reaches a file system or a bucket. */
export const AUDIT_NAME_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9A-Za-z-]{1,40}$/
