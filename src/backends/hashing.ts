/**
 * The hashes and random names the record stores use, with node:crypto loaded on first use: loading it costs
 * about as much as `list` spends on a hundred releases, and a listing answered from the cache uses none.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let crypto: typeof import('node:crypto') | undefined
const load = (): typeof import('node:crypto') => (crypto ??= require('node:crypto') as typeof import('node:crypto'))

/** SHA-256 of `data`, in hex. */
export const sha256Hex = (data: string | Uint8Array): string => load().createHash('sha256').update(data).digest('hex')

/** A fresh SHA-256 hash to stream into. */
export const sha256 = (): import('node:crypto').Hash => load().createHash('sha256')

/** `bytes` random bytes in hex: for temp file names. */
export const randomHex = (bytes: number): string => load().randomBytes(bytes).toString('hex')
