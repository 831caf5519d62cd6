/**
 * The parts of npm's staging API (`/-/stage`, npm CLI 11.15+, Verdaccio 9 `flags.stage`) that the final
 * hop of an approval from a record store needs and the registry backend does not have: whether a
 * registry implements it at all, staging a manifest that was already built and reviewed, and the
 * registry's word on a staged version (`GET /-/package/<name>/version/<version>/status`: observed on
 * the public registry, not documented; Verdaccio 9 does not have it). Listing, viewing, downloading
 * and approving items are the registry backend's (src/backends/registry.ts). Vendor errors become
 * StagePublishError here; expected outcomes are values.
 */
import { createRequire } from 'node:module'
import { StagePublishError, redact } from '../errors.js'
import { isUuid } from '../core/record.js'
import { parseStagePage } from '../core/stage-item.js'
import { optionsFor, provenancePublishError, QUICK_RETRIES, readLimits, registryError, registryMessage, twoFactorChallenge, writeLimits, type PublishFn, type Target } from './publish.js'
import { withProvenance } from './provenance-publish.js'
import type { Manifest } from './pack.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>

/** Statuses that say the registry does not have a route (the API, or the status route). */
const NO_ROUTE = new Set([404, 405, 501])

export type StagingSupport =
  | { supported: true }
  | { supported: false; status: number }
  /** The registry answered neither yes nor no (401/403: the credentials may not list staged items). */
  | { supported: 'unknown'; status: number }

/**
 * Whether `registry` implements npm's staging API, asked the cheapest way that needs no second factor:
 * an authenticated `GET /-/stage?page=0&perPage=1`. 200 with a staging page: yes (npm, Verdaccio 9 with
 * `flags.stage`). 404/405/501: no (Verdaccio without the flag routes `/-/stage` nowhere). Anything
 * else cannot be read either way. A registry that cannot be reached is an error.
 */
export async function detectStaging(registry: string, flat: Flat): Promise<StagingSupport> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Flat): Promise<unknown> }
  try {
    const body = await npmFetch.json('/-/stage', stageOptions(registry, flat, { query: { page: 0, perPage: 1 }, ...readLimits() }))
    parseStagePage(body)
    return { supported: true }
  } catch (err) {
    if (err instanceof StagePublishError) return { supported: 'unknown', status: 200 }
    const status = statusOf(err)
    if (status !== undefined && NO_ROUTE.has(status)) return { supported: false, status }
    if (status === 401 || status === 403) return { supported: 'unknown', status }
    throw registryError(err, registry, 'find out whether it implements npm\'s staging API')
  }
}

export type StageAttempt = { ok: true; stageId: string } | { ok: false; reason: 'exists'; message: string }

/**
 * Stages `manifest` and `bytes` on the target registry exactly as `npm stage publish` would send them
 * (libnpmpublish with `stage: true`: the publish document, POSTed to `/-/stage/package/<name>`).
 * `provenance`: the verified bundle, sent as libnpmpublish sends a provenance file (./provenance-publish.ts).
 * 409 (already staged, or published) is a value; a registry without the API is ENOSTAGE.
 */
export async function stageOnRegistry(
  input: { target: Target; manifest: Manifest; bytes: Buffer; flat: Flat; provenance?: Buffer | null },
  publishFn?: PublishFn,
): Promise<StageAttempt> {
  const publish = publishFn ?? (require('libnpmpublish') as { publish: PublishFn }).publish
  const { target } = input
  const opts: Flat = {
    ...optionsFor(target, input.flat),
    npmCommand: 'stage',
    command: 'stage',
    stage: true,
    defaultTag: target.tag,
    access: target.access,
    ...writeLimits(),
  }
  // npm's `provenance` from .npmrc would make libnpmpublish sign here, on the approver's machine (and
  // clash with a bundle made in CI); staging takes no second factor (it is deferred to the approval).
  delete opts.provenance
  delete opts.otp
  let res: unknown
  try {
    res = await withProvenance(input.provenance, opts, (o) => publish(input.manifest, input.bytes, o))
  } catch (err) {
    const status = statusOf(err)
    if (status === 409) return { ok: false, reason: 'exists', message: registryMessage(err) }
    if (status !== undefined && NO_ROUTE.has(status)) throw noStaging(target.registry, `POST /-/stage/package/… answered ${status}`)
    if (twoFactorChallenge(err)) {
      throw new StagePublishError('EOTP', `${redact(target.registry)} asked for a one-time password to stage ${target.name}@${target.version}`, {
        hint: 'Registries that implement npm\'s staging API take the second factor at approval, not at staging. Nothing was published; approve with --final-hop publish instead.',
      })
    }
    if (input.provenance) throw provenancePublishError(err, target, 'stage')
    throw registryError(err, target.registry, `stage ${target.name}@${target.version}`)
  }
  const raw = (res as { stageId?: unknown } | undefined)?.stageId
  const stageId = typeof raw === 'string' ? raw.toLowerCase() : ''
  if (!isUuid(stageId)) {
    throw new StagePublishError('EBACKEND', `${redact(target.registry)} staged ${target.name}@${target.version} but answered no valid stage id`, {
      hint: 'Nothing was published. Run the approval again: it finds the staged item by its bytes and approves it.',
    })
  }
  return { ok: true, stageId }
}

export const VERSION_STATUSES = ['published', 'validating', 'staged', 'blocked', 'deleted'] as const
export type VersionStatus = (typeof VERSION_STATUSES)[number]

/**
 * The registry's word on `name@version` (`GET /-/package/<name>/version/<version>/status`), or
 * undefined when it has no such route or answers something that is not one of the known statuses.
 * The answer is untrusted: only one of the five words is ever returned.
 */
export async function versionStatus(target: Pick<Target, 'name' | 'version' | 'registry'>, flat: Flat): Promise<VersionStatus | undefined> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Flat): Promise<unknown> }
  const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
  const route = `/-/package/${npa(target.name).escapedName}/version/${encodeURIComponent(target.version)}/status`
  let body: unknown
  try {
    body = await npmFetch.json(route, stageOptions(target.registry, flat, readLimits()))
  } catch (err) {
    const status = statusOf(err)
    if (status !== undefined && (NO_ROUTE.has(status) || status === 401 || status === 403)) return undefined
    throw registryError(err, target.registry, `read the status of ${target.name}@${target.version}`)
  }
  const raw = body && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, 'status') ? (body as { status: unknown }).status : undefined
  return VERSION_STATUSES.find((s) => s === raw)
}

/** The registry does not implement npm's staging API, and the approver asked for it (--final-hop stage). */
export function noStaging(registry: string, why: string): StagePublishError {
  return new StagePublishError('ENOSTAGE', `--final-hop stage: ${redact(registry)} does not implement npm's staging API (${why})`, {
    hint: 'Nothing was published; the release is still pending. Approve with --final-hop publish (a direct publish with your credentials), or leave --final-hop out to choose by what the registry supports.',
  })
}

function stageOptions(registry: string, flat: Flat, extra: Flat): Flat {
  const o: Flat = { ...flat, registry, npmCommand: 'stage', ...QUICK_RETRIES, ...extra }
  // Staged items and statuses change: never answered from npm's HTTP cache.
  delete o.cache
  return o
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode
