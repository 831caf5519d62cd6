/**
 * The npm side of approval: what is already on the registry, and one publish attempt with
 * libnpmpublish. Expected outcomes (needs a one-time password, web 2FA, version exists) come back
 * as values; the caller decides whether to prompt. Vendor errors become StagePublishError here.
 */
import { createRequire } from 'node:module'
import { StagePublishError, redact } from '../errors.js'
import { toSafeText } from '../core/text.js'
import { NETWORK_LIMITS } from '../core/network-limits.js'
import type { Manifest } from './pack.js'
import { withProvenance } from './provenance-publish.js'

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
  input: {
    target: Target
    manifest: Manifest
    bytes: Buffer
    flat: Flat
    otp?: string
    /** A verified Sigstore bundle for `bytes`: sent as npm sends `--provenance-file` (./provenance-publish.ts). */
    provenance?: Buffer | null
  },
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
    // Bounded and never retried while the approval claim is held (npm retries a failed PUT for 70 s).
    ...writeLimits(),
  }
  try {
    await withProvenance(input.provenance, opts, (o) => publish(input.manifest, input.bytes, o))
    return { ok: true }
  } catch (err) {
    const e = err as { code?: string }
    const challenge = twoFactorChallenge(err)
    if (challenge) return { ok: false, ...challenge }
    if (e.code === 'E409' || (e.code === 'E403' && /previously published|cannot publish over/i.test(registryMessage(err)))) {
      return { ok: false, reason: 'exists', message: registryMessage(err) }
    }
    if (input.provenance) throw provenancePublishError(err, target)
    throw registryError(err, target.registry, `publish ${target.name}@${target.version}`)
  }
}

/**
 * A publish that carried a provenance bundle failed: libnpmpublish refused the bundle itself (its own
 * checks, before any request), or the registry refused the body with the bundle attached (Verdaccio 9
 * accepts only one attachment, the tarball: 400 "unsupported registry call").
 */
export function provenancePublishError(err: unknown, target: Pick<Target, 'name' | 'version' | 'registry'>, doing = 'publish'): StagePublishError {
  const e = err as { statusCode?: number; message?: unknown }
  const what = `${target.name}@${target.version}`
  if (e.statusCode === undefined && !(err instanceof StagePublishError) && /provenance|subject|sigstore|dsse|bundle/i.test(String(e.message))) {
    return new StagePublishError('EPROVENANCE', `libnpmpublish refused the provenance bundle of ${what}: ${toSafeText(String(e.message), 300)}`, {
      hint: 'Nothing was published; the release is still pending. Reject it and stage it again with a bundle made for its tarball.',
      cause: err,
    })
  }
  if (e.statusCode === 400) {
    return new StagePublishError('EPROVENANCE', `The registry ${redact(target.registry)} refused to ${doing} ${what} with its provenance bundle attached: ${registryMessage(err)}`, {
      hint: 'Nothing was published; the release is still pending. This registry does not take a `<name>-<version>.sigstore` attachment (Verdaccio 9 accepts the tarball only); the public registry records it as dist.attestations. Publish where provenance is accepted, or reject the release and stage it again without provenance.',
      cause: err,
    })
  }
  return registryError(err, target.registry, `${doing} ${what}`)
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
    webAuthCheckLogin: (url: string, opts: Flat, o: { signal: AbortSignal }) => Promise<{ token: string }>
  }
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  try {
    // npm-profile checks the signal only between polls: it goes into every request too, and each poll has its own timeout.
    const { token } = await webAuthCheckLogin(doneUrl, { ...flat, cache: false, ...QUICK_RETRIES, signal: ac.signal }, { signal: ac.signal })
    return token
  } catch (err) {
    if (ac.signal.aborted) {
      throw new StagePublishError('EOTP', `Web authentication was not completed within ${Math.round(timeoutMs / 1000)} s`, {
        // Printed by approve and reject: both have --otp.
        hint: 'Run the command again and finish the sign-in in your browser, or pass a code from your authenticator with --otp.',
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
  const npmFetch = require('npm-registry-fetch') as (url: string, opts: Flat) => Promise<{ headers: { get(name: string): string | null }; json(): Promise<unknown> }>
  const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
  const { escapedName } = npa(target.name)
  let doc: { versions?: Record<string, { dist?: Packument['dists'][string] }>; 'dist-tags'?: Record<string, string> }
  try {
    const res = await npmFetch(`/${escapedName}`, {
      ...optionsFor(target, flat),
      ...readLimits(),
      // Revalidated on every read (npm's --prefer-online). Not `cache: 'no-store'`: npm-registry-fetch
      // takes `cache` as the cache *directory*, so that created ./no-store/ in the package being packed.
      preferOnline: true,
      headers: { accept: 'application/json' },
    })
    // When revalidating fails, make-fetch-happen quietly answers from the cache and marks it `stale`
    // (lib/cache/entry.js revalidate): reviews and the "already published" check must not use that.
    if (res.headers.get('x-local-cache-status') === 'stale') throw staleCache(target, res.headers.get('x-local-cache-time'))
    doc = (await res.json()) as typeof doc
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null
    throw registryError(err, target.registry, `read ${target.name}`)
  }
  const dists: Packument['dists'] = {}
  const manifests: Packument['manifests'] = {}
  for (const [version, manifest] of Object.entries(doc.versions ?? {})) {
    if (manifest?.dist) dists[version] = manifest.dist
    if (manifest && typeof manifest === 'object') manifests[version] = manifest
  }
  return { distTags: doc['dist-tags'] ?? {}, versions: Object.keys(doc.versions ?? {}), dists, manifests }
}

function staleCache(target: Pick<Target, 'name' | 'registry'>, cachedAt: string | null): StagePublishError {
  const where = redact(target.registry)
  return new StagePublishError('EREGISTRYUNREACHABLE', `Could not reach the registry ${where} to read ${target.name}: only npm's cache answered${cachedAt ? ` (a copy from ${cachedAt})` : ''}, and a review or an "already published" check must not rest on an old copy`, {
    hint: 'Check the registry URL (--registry or .npmrc) and your network, then run the command again. Nothing was published or changed.',
  })
}

/** The registry's name for the holder of these credentials, or undefined when it does not say. */
export type Identity = { ok: true; username: string } | { ok: false; reason: 'unauthenticated' } | { ok: false; reason: 'error'; error: StagePublishError }

/** `npm whoami`, with the failure kept: not logged in is not the same as a registry that is down. */
export async function whoAmI(registry: string, flat: Flat): Promise<Identity> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Flat): Promise<unknown> }
  const opts: Flat = { ...flat, ...readLimits(), registry }
  // Always asked afresh: a cached "logged in" says nothing about now.
  delete opts.cache
  try {
    const body = (await npmFetch.json('/-/whoami', opts)) as { username?: unknown } | null
    // The registry's word goes into the record (claim.by, approvedBy): no character the schema refuses.
    const name = typeof body?.username === 'string' ? toSafeText(body.username, 256) : ''
    return name ? { ok: true, username: name } : { ok: false, reason: 'unauthenticated' }
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode
    if (status === 401 || status === 403) return { ok: false, reason: 'unauthenticated' }
    const mapped = registryError(err, registry, 'ask who you are (whoami)')
    if (mapped.code === 'ENEEDAUTH') return { ok: false, reason: 'unauthenticated' }
    return { ok: false, reason: 'error', error: mapped }
  }
}

/** The approver's name on the registry, or undefined when it will not say (for whatever reason). */
export async function whoami(registry: string, flat: Flat): Promise<string | undefined> {
  const who = await whoAmI(registry, flat)
  return who.ok ? who.username : undefined
}

/**
 * Reads are retried once, quickly, and each attempt has a timeout: npm's defaults (5 minutes per
 * attempt, 2 retries 10 s to 60 s apart) keep a user waiting for many minutes on a silent server.
 * Prefer readLimits(), which adds a hard end to the whole read.
 */
export const QUICK_RETRIES = {
  timeout: NETWORK_LIMITS.readTimeoutMs,
  retry: { retries: NETWORK_LIMITS.readRetries, factor: 2, minTimeout: 500, maxTimeout: 2000 },
}

/** npm-registry-fetch (and pacote) options for one read: a timeout per attempt, one quick retry, a hard end. */
export const readLimits = (): Flat => ({ ...QUICK_RETRIES, signal: AbortSignal.timeout(NETWORK_LIMITS.readDeadlineMs) })

/** Options for one write (publish, stage, approve, reject): a longer timeout for the upload, no retries, a hard end. */
export const writeLimits = (): Flat => ({ timeout: NETWORK_LIMITS.writeTimeoutMs, retry: { retries: 0 }, signal: AbortSignal.timeout(NETWORK_LIMITS.writeDeadlineMs) })

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'FETCH_ERROR'])
const TIMEOUTS = new Set(['ETIMEDOUT', 'ERR_SOCKET_TIMEOUT', 'ECONNECTIONTIMEOUT', 'EIDLETIMEOUT', 'ERESPONSETIMEOUT', 'ETRANSFERTIMEOUT'])

export function registryMessage(err: unknown): string {
  const e = err as { body?: unknown; message?: string }
  const body = e.body as { error?: unknown; message?: unknown } | string | undefined
  const fromBody = typeof body === 'string' ? body : body && (body.error ?? body.message)
  // One line: a registry's text must not start lines of its own in our output (the door escapes the rest).
  return redact(String(fromBody || e.message || err)).replace(/\s*[\n\r\v\f\u0085\u2028\u2029]+\s*/g, ' ').slice(0, 500)
}

/** A timeout of ours (the per-attempt timeout, the hard end) or of the connection. */
function timedOut(e: { code?: string; errno?: string; type?: string; name?: string }): boolean {
  return TIMEOUTS.has(String(e.code)) || TIMEOUTS.has(String(e.errno)) || e.type === 'request-timeout' || e.type === 'body-timeout' || e.type === 'aborted' || e.name === 'AbortError' || e.name === 'TimeoutError'
}

/** What a server that is not an npm registry sent instead of JSON: an HTML page, or something else. */
function notJson(e: { code?: string; type?: string; message?: string; headers?: unknown }): 'HTML' | 'invalid JSON' | undefined {
  const headers = (e.headers && typeof e.headers === 'object' ? e.headers : {}) as Record<string, unknown>
  // npm-registry-fetch hands over raw headers: each value a string or an array of strings.
  const contentType: unknown = headers['content-type']
  const types = Array.isArray(contentType) ? contentType.filter((t): t is string => typeof t === 'string') : typeof contentType === 'string' ? [contentType] : []
  if (types.some((t) => /text\/html/i.test(t))) return 'HTML'
  if (e.type !== 'invalid-json' && e.code !== 'EJSONPARSE') return undefined
  // minipass-fetch quotes the parser's complaint: an HTML page starts with '<'.
  return /token '?<|<!doctype|<html/i.test(String(e.message)) ? 'HTML' : 'invalid JSON'
}

export function registryError(err: unknown, registry: string, doing: string): StagePublishError {
  if (err instanceof StagePublishError) return err
  const e = err as { code?: string; errno?: string; statusCode?: number; type?: string; name?: string; message?: string; headers?: unknown }
  const where = redact(registry)
  if (timedOut(e)) {
    return new StagePublishError('EREGISTRYUNREACHABLE', `The registry ${where} did not answer in time to ${doing}`, {
      hint: 'It accepted the connection but sent nothing back. Check the registry URL (--registry or .npmrc), your proxy and network, then try again. Nothing was published or changed.',
      cause: err,
    })
  }
  const strange = e.statusCode === 401 ? undefined : notJson(e)
  if (strange) {
    return new StagePublishError('ENOTREGISTRY', `Could not ${doing}: ${where} answered with ${strange}, not JSON: is ${where} an npm registry?`, {
      hint: 'Check the registry URL (--registry or .npmrc): it must be the registry itself (such as https://registry.npmjs.org/), not a web page. Nothing was published or changed.',
      cause: err,
    })
  }
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
