/**
 * The npm side of approval: what is already on the registry, and one publish attempt with
 * libnpmpublish. Expected outcomes (needs a one-time password, web 2FA, version exists) come back
 * as values; the caller decides whether to prompt. Vendor errors become StagePublishError here.
 */
import { createRequire } from 'node:module'
import { StagePublishError, redact } from '../errors.js'
import type { Manifest } from './pack.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>

export interface Target {
  name: string
  version: string
  registry: string
  tag: string
  access: 'public' | 'restricted' | null
}

export type PublishAttempt =
  | { ok: true }
  | { ok: false; reason: 'otp'; message: string }
  | { ok: false; reason: 'web-auth'; authUrl: string; doneUrl: string }
  | { ok: false; reason: 'exists'; message: string }

export type PublishFn = (manifest: Manifest, tarball: Buffer, opts: Flat) => Promise<unknown>

/** npm-style options aimed at one registry, whatever `registry` or `@scope:registry` said before. */
export function optionsFor(target: Pick<Target, 'name' | 'registry'>, flat: Flat): Flat {
  const opts: Flat = { ...flat, registry: target.registry }
  const scope = target.name.startsWith('@') ? target.name.split('/')[0] : undefined
  if (scope) opts[`${scope}:registry`] = target.registry
  return opts
}

export async function publishOnce(
  input: { target: Target; manifest: Manifest; bytes: Buffer; flat: Flat; otp?: string },
  publishFn?: PublishFn,
): Promise<PublishAttempt> {
  const publish = publishFn ?? (require('libnpmpublish') as { publish: PublishFn }).publish
  const { target } = input
  const opts: Flat = {
    ...optionsFor(target, input.flat),
    defaultTag: target.tag,
    access: target.access,
    npmCommand: 'publish',
    // npm sends `legacy` when the code was typed in, `web` otherwise (npm lib/utils/auth.js).
    authType: input.otp ? 'legacy' : 'web',
    ...(input.otp ? { otp: input.otp } : {}),
  }
  delete opts.provenance
  try {
    await publish(input.manifest, input.bytes, opts)
    return { ok: true }
  } catch (err) {
    const e = err as { code?: string }
    const challenge = twoFactorChallenge(err)
    if (challenge) return { ok: false, ...challenge }
    if (e.code === 'E409' || (e.code === 'E403' && /previously published|cannot publish over/i.test(registryMessage(err)))) {
      return { ok: false, reason: 'exists', message: registryMessage(err) }
    }
    throw registryError(err, target.registry, `publish ${target.name}@${target.version}`)
  }
}

/**
 * The registry asking for proof of presence, as npm reads it (lib/utils/auth.js otplease): a web
 * sign-in when the 401 carries authUrl/doneUrl, else a one-time password. Undefined for anything else.
 */
export function twoFactorChallenge(err: unknown): { reason: 'otp'; message: string } | { reason: 'web-auth'; authUrl: string; doneUrl: string } | undefined {
  const e = err as { code?: string; body?: unknown }
  if (!(e.code === 'EOTP' || (e.code === 'E401' && /one-time pass/i.test(JSON.stringify(e.body ?? ''))))) return undefined
  const body = (e.body && typeof e.body === 'object' ? e.body : {}) as { authUrl?: unknown; doneUrl?: unknown }
  if (typeof body.authUrl === 'string' && typeof body.doneUrl === 'string') return { reason: 'web-auth', authUrl: body.authUrl, doneUrl: body.doneUrl }
  return { reason: 'otp', message: registryMessage(err) }
}

/** Polls a web-2FA doneUrl (npm-profile webAuthCheckLogin) until it hands out a token or time runs out. */
export async function waitForWebAuth(doneUrl: string, flat: Flat, timeoutMs: number): Promise<string> {
  const { webAuthCheckLogin } = require('npm-profile') as {
    webAuthCheckLogin(url: string, opts: Flat, o: { signal: AbortSignal }): Promise<{ token: string }>
  }
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  try {
    const { token } = await webAuthCheckLogin(doneUrl, { ...flat, cache: false }, { signal: ac.signal })
    return token
  } catch (err) {
    if (ac.signal.aborted) {
      throw new StagePublishError('EOTP', `Web authentication was not completed within ${Math.round(timeoutMs / 1000)} s`, {
        hint: 'Run approve again and finish the sign-in in your browser, or pass a code from your authenticator with --otp.',
      })
    }
    throw registryError(err, doneUrl, 'check the web authentication')
  } finally {
    clearTimeout(timer)
  }
}

export type PublishedState = { exists: false; distTags: Record<string, string>; versions: string[] } | {
  exists: true
  integrity?: string
  shasum?: string
  /** The version's manifest as the registry serves it (what npm installs by). */
  manifest: Record<string, unknown>
  distTags: Record<string, string>
  versions: string[]
}

/** What the registry already has of this package. A package it has never seen is `exists: false`. */
export async function lookupPublished(target: Pick<Target, 'name' | 'version' | 'registry'>, flat: Flat): Promise<PublishedState> {
  const packument = await readPackument(target, flat)
  if (!packument) return { exists: false, distTags: {}, versions: [] }
  const { distTags, versions } = packument
  const dist = packument.dists[target.version]
  if (!dist) return { exists: false, distTags, versions }
  return { exists: true, integrity: dist.integrity, shasum: dist.shasum, manifest: packument.manifests[target.version] ?? {}, distTags, versions }
}

export interface Packument {
  distTags: Record<string, string>
  versions: string[]
  dists: Record<string, { integrity?: string; shasum?: string; tarball?: string }>
  manifests: Record<string, Record<string, unknown>>
}

/** The package document, fresh from the registry; null when the registry has never seen the package (404). */
export async function readPackument(target: Pick<Target, 'name' | 'registry'>, flat: Flat): Promise<Packument | null> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Flat): Promise<unknown> }
  const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
  const { escapedName } = npa(target.name)
  let doc: { versions?: Record<string, { dist?: Packument['dists'][string] }>; 'dist-tags'?: Record<string, string> }
  try {
    doc = (await npmFetch.json(`/${escapedName}`, {
      ...optionsFor(target, flat),
      ...QUICK_RETRIES,
      // Revalidated on every read (npm's --prefer-online). Not `cache: 'no-store'`: npm-registry-fetch
      // takes `cache` as the cache *directory*, so that created ./no-store/ in the package being packed.
      preferOnline: true,
      headers: { accept: 'application/json' },
    })) as typeof doc
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null
    throw registryError(err, target.registry, `read ${target.name}`)
  }
  const dists: Packument['dists'] = {}
  const manifests: Packument['manifests'] = {}
  for (const [version, manifest] of Object.entries(doc.versions ?? {})) {
    if (manifest?.dist) dists[version] = manifest.dist
    if (manifest && typeof manifest === 'object') manifests[version] = manifest as Record<string, unknown>
  }
  return { distTags: doc['dist-tags'] ?? {}, versions: Object.keys(doc.versions ?? {}), dists, manifests }
}

/** The registry's name for the holder of these credentials, or undefined when it does not say. */
export async function whoami(registry: string, flat: Flat): Promise<string | undefined> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Flat): Promise<{ username?: string }> }
  try {
    const res = await npmFetch.json('/-/whoami', { ...flat, ...QUICK_RETRIES, registry, timeout: 10_000 })
    return typeof res.username === 'string' ? res.username : undefined
  } catch {
    return undefined
  }
}

/**
 * Reads are retried once, quickly: npm's defaults (2 retries, 10 s to 60 s apart) keep a user
 * waiting over a minute before saying a registry is unreachable.
 */
export const QUICK_RETRIES = { retry: { retries: 1, factor: 2, minTimeout: 500, maxTimeout: 2000 } }

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'FETCH_ERROR', 'ERR_SOCKET_TIMEOUT'])

export function registryMessage(err: unknown): string {
  const e = err as { body?: unknown; message?: string }
  const body = e.body as { error?: unknown; message?: unknown } | string | undefined
  const fromBody = typeof body === 'string' ? body : body && (body.error ?? body.message)
  return redact(String(fromBody || e.message || err)).slice(0, 500)
}

export function registryError(err: unknown, registry: string, doing: string): StagePublishError {
  if (err instanceof StagePublishError) return err
  const e = err as { code?: string; errno?: string; statusCode?: number; type?: string }
  const where = redact(registry)
  if (NETWORK.has(String(e.code)) || NETWORK.has(String(e.errno)) || e.type === 'system' || e.code === 'ERR_INVALID_URL') {
    return new StagePublishError('EREGISTRYUNREACHABLE', `Could not reach the registry ${where} to ${doing} (${e.code ?? e.errno ?? 'network error'})`, {
      hint: 'Check the registry URL (--registry or .npmrc) and your network. Nothing was published or changed.',
      cause: err,
    })
  }
  if (e.statusCode === 401 || e.code === 'E401' || e.code === 'ENEEDAUTH') {
    return new StagePublishError('ENEEDAUTH', `The registry ${where} refused the credentials to ${doing}`, {
      hint: `Log in with \`npm login --registry ${where}\` (approval uses your own npm credentials).`,
      cause: err,
    })
  }
  return new StagePublishError('EREGISTRY', `The registry ${where} refused to ${doing}: ${registryMessage(err)}`, {
    hint: 'Nothing was changed on the staging side; fix the cause above and run the command again.',
    cause: err,
  })
}
