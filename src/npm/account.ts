/**
 * What `doctor` asks a registry about the current npm credentials, read-only, each answer a tagged value:
 * is it there (`/-/ping`), who am I (`/-/whoami`), the account's 2FA mode (npm's profile API,
 * `GET /-/npm/v1/user`), does it implement npm's staging API (`GET /-/stage`), and is this token
 * read-only (npm's token API, `GET /-/npm/v1/tokens`). Every read has the network limits of any read;
 * every string the registry sends back is untrusted (made safe here or only compared, never echoed raw).
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { readLimits, registryError } from './publish.js'
import type { StagePublishError } from '../errors.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>
type NpmFetchJson = (url: string, opts: Flat) => Promise<unknown>

const fetchJson = (route: string, registry: string, flat: Flat, extra: Flat = {}): Promise<unknown> => {
  const npmFetch = require('npm-registry-fetch') as { json: NpmFetchJson }
  const opts: Flat = { ...flat, ...readLimits(), registry, ...extra }
  // Every answer fresh: a cached "logged in" or "2FA on" says nothing about now.
  delete opts.cache
  return npmFetch.json(route, opts)
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode

/** The registry answered (any HTTP status from an npm registry), or why it did not. */
export type Reachable = { ok: true } | { ok: false; error: StagePublishError }

export async function pingRegistry(registry: string, flat: Flat): Promise<Reachable> {
  try {
    await fetchJson('/-/ping', registry, flat, { query: { write: 'true' } })
    return { ok: true }
  } catch (err) {
    // A registry without the ping route (404) or refusing it anonymously still answered as a registry.
    const mapped = registryError(err, registry, 'ping it')
    if (statusOf(err) !== undefined && (mapped.code === 'EREGISTRY' || mapped.code === 'ENEEDAUTH')) return { ok: true }
    return { ok: false, error: mapped }
  }
}

export { whoAmI, type Identity } from './publish.js'

/**
 * The account's two-factor mode as npm's profile API reports it (`tfa: { mode, pending }`, or false):
 * `unknown` when the registry has no profile API (or would not say).
 */
export type TwoFactor = 'auth-and-writes' | 'auth-only' | 'pending' | 'none' | 'unknown'

export async function twoFactorMode(registry: string, flat: Flat): Promise<TwoFactor> {
  let profile: unknown
  try {
    profile = await fetchJson('/-/npm/v1/user', registry, flat)
  } catch {
    return 'unknown'
  }
  if (!profile || typeof profile !== 'object' || !('tfa' in profile)) return 'unknown'
  const { tfa } = profile
  if (tfa === false || tfa === null) return 'none'
  if (!tfa || typeof tfa !== 'object') return 'unknown'
  const { mode, pending } = tfa as { mode?: unknown; pending?: unknown }
  if (pending === true) return 'pending'
  return mode === 'auth-and-writes' || mode === 'auth-only' ? mode : 'unknown'
}

/** Whether the registry implements npm's staging API (`GET /-/stage` answers a page). */
/**
 * npm's `libnpmaccess.getVisibility`: `GET /-/package/<name>/visibility`, `{ public: true }` for a public
 * package. Anything else (private, unknown, a registry without the route, an error) is false: npm too
 * only turns provenance on by itself when this says public.
 */
export async function packageIsPublic(name: string, registry: string, flat: Flat): Promise<boolean> {
  try {
    const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
    const body = (await fetchJson(`/-/package/${npa(name).escapedName}/visibility`, registry, flat)) as { public?: unknown } | null
    return body?.public === true
  } catch {
    return false
  }
}

export type StagingSupport = 'yes' | 'no' | 'needs-login' | { error: StagePublishError }

/** The final hop's own detection (./stage-api.ts), in doctor's words: one way of asking, not two. */
export async function stagingSupport(registry: string, flat: Flat): Promise<StagingSupport> {
  const { detectStaging } = await import('./stage-api.js')
  try {
    const found = await detectStaging(registry, flat)
    if (found.supported === true) return 'yes'
    // A 200 that is not a staging page is no staging API either.
    if (found.supported === false || found.status === 200) return 'no'
    return 'needs-login'
  } catch (err) {
    return { error: err as StagePublishError }
  }
}

/** The token npm would send to this registry (from .npmrc or NPM_CONFIG_*), or null. Never printed. */
export function tokenFor(registry: string, flat: Flat): string | null {
  const getAuth = require('npm-registry-fetch/lib/auth.js') as (uri: string, opts: Flat) => { token: string | null; auth: string | null }
  const auth = getAuth(registry, { ...flat, registry })
  return auth.token ?? null
}

/**
 * Whether the token is a read-only one, as npm's token API lists it: true or false when the listing
 * names it (by its hash as the key, as the public registry does, or by its masked form `abcde...vwxyz`),
 * undefined when the registry has no token API or does not list this token (a session token from
 * `npm login` is not listed on every registry). A heuristic: docs/commands.md, "doctor", says what it cannot see.
 */
export async function tokenIsReadOnly(registry: string, flat: Flat, token: string): Promise<boolean | undefined> {
  let body: unknown
  try {
    body = await fetchJson('/-/npm/v1/tokens', registry, flat)
  } catch {
    return undefined
  }
  const objects = (body as { objects?: unknown } | null)?.objects
  if (!Array.isArray(objects)) return undefined
  const hash = createHash('sha512').update(token).digest('hex')
  const matches = objects.filter((o): o is { key?: unknown; token?: unknown; readonly?: unknown } => {
    if (!o || typeof o !== 'object') return false
    const { key, token: masked } = o as { key?: unknown; token?: unknown }
    if (key === hash) return true
    if (typeof masked !== 'string') return false
    const [head, tail, ...rest] = masked.split('...')
    // At least a few characters each side, or any token would match.
    return rest.length === 0 && head !== undefined && tail !== undefined && head.length >= 4 && tail.length >= 4 && token.startsWith(head) && token.endsWith(tail)
  })
  if (matches.length !== 1) return undefined
  return matches[0]?.readonly === true
}
