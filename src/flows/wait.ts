/**
 * `stage-publish wait <id|set-id>`: looks at a staged release (or every member of a release set) until
 * it is decided, with pauses that grow up to `maxIntervalMs`, and returns what it came to
 * (src/ui/render-wait.ts words it; the command turns it into the exit code).
 *
 * "Approved" means the registry serves name@version with the staged digest (src/core/wait.ts says why):
 *  - a record store: the record says approved, then the registry is asked (until it serves the version);
 *  - a registry's staging API: an approved or rejected item disappears alike; the registry's package
 *    document then tells which (the version with the staged shasum: approved). A version that does not
 *    appear within NATIVE_SETTLE_MS of the item's disappearance was rejected.
 * A check that fails for a reason that may pass (network, a 5xx) is retried at the next pause; after
 * MAX_FAILED_CHECKS in a row the wait ends with that error.
 */
import { StagePublishError, isStagePublishError } from '../errors.js'
import { effectiveState } from '../core/record.js'
import { DEFAULT_POLL, nextPause, outcomeOf, servedAs, stateOfRecord, type WaitState } from '../core/wait.js'
import { isNative, type StagingBackend, type Versioned } from '../backends/types.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import type { Output } from '../ui/output.js'
import type { WaitedRelease, WaitResult } from '../ui/render-wait.js'
import { renderWaitProgress } from '../ui/render-wait.js'
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { requireComplete, resolveName } from './select.js'
import { notifyExpired } from './notify.js'

export interface WaitRequest extends BackendRequest {
  /** How long to wait at most, in ms (`--timeout`). */
  timeoutMs?: number
  /** The longest pause between two checks, in ms (`--interval`). */
  maxIntervalMs?: number
}

/** A day's worth of CI minutes is not what anyone wants by accident; GitHub ends a hosted job at 6 h. */
export const DEFAULT_TIMEOUT_MS = 6 * 3600_000
/** Checks that fail in a row before the wait gives up (each one bounded by core/network-limits.ts). */
export const MAX_FAILED_CHECKS = 5
/** How long a registry may take to serve a version after its staged item is gone, before that counts as a rejection. */
export const NATIVE_SETTLE_MS = 15_000
/** On a terminal, a line every this often says the wait is still alive. */
const HEARTBEAT_MS = 5 * 60_000

/** Failures that may pass by themselves: the network, a registry or bucket having a bad minute, a race. */
const TRANSIENT = new Set(['EBACKENDUNREACHABLE', 'EREGISTRYUNREACHABLE', 'EBACKEND', 'EREGISTRY', 'ECONFLICT'])

/** One release being waited for, with the digests it was staged with (a set's from its set object). */
interface Watched {
  id: string
  packageName: string
  version: string
  integrity?: string | undefined
  shasum?: string | undefined
  registry: string
  state: WaitState
  record?: Versioned['record']
  /** A registry backend: when its item was first seen gone. */
  goneAt?: number
}

export async function waitForDecision(rawId: string, request: WaitRequest, deps: Deps, out: Output): Promise<WaitResult> {
  return waitOn(() => backendFor(request, deps), rawId, request, deps, out)
}

/** The wait itself, on the backend `open` gives (opening is retried like any check). */
export async function waitOn(open: () => Promise<StagingBackend>, rawId: string, request: WaitRequest, deps: Deps, out: Output): Promise<WaitResult> {
  const started = deps.now().getTime()
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const deadline = started + timeoutMs
  const schedule = { firstMs: Math.min(DEFAULT_POLL.firstMs, request.maxIntervalMs ?? DEFAULT_POLL.maxMs), maxMs: request.maxIntervalMs ?? DEFAULT_POLL.maxMs }
  const progress = Boolean((deps.stderr as { isTTY?: boolean }).isTTY) && !out.json
  const retrying = retrier(out)

  const backend = await retrying(open)
  const named = await retrying(() => resolveName(backend, rawId))
  const registryOf = (record: Versioned['record']): string => (isNative(backend) ? backend.native.registry : normaliseRegistryUrl(request.registry ?? record.registry))
  let watched: Watched[]
  if (named.kind === 'release') {
    const { record } = named.current
    watched = [{ id: record.id, packageName: record.packageName, version: record.version, integrity: record.integrity, shasum: record.shasum, registry: registryOf(record), state: 'waiting' }]
  } else {
    requireComplete(named.set)
    // The set object's digests, not the records': a record is in a set only as the set object lists it.
    watched = named.members.map(({ record }) => {
      const listed = named.set.members.find((m) => m.id === record.id)
      return { id: record.id, packageName: record.packageName, version: record.version, integrity: listed?.integrity ?? record.integrity, shasum: record.shasum, registry: registryOf(record), state: 'waiting' }
    })
  }
  const target = named.kind === 'release' ? { kind: 'release' as const, id: named.current.record.id } : { kind: 'set' as const, id: named.set.setId }
  const flat = lazyNpmConfig(request, deps)

  if (progress) out.notice(renderWaitProgress({ kind: 'start', target, releases: watched, location: backend.location, timeoutMs }))
  let lastNotice = started
  for (let attempt = 0; ; attempt++) {
    const before = watched.map((w) => w.state)
    await retrying(() => lookOnce(backend, watched, flat, deps, out))
    const outcome = outcomeOf(watched.map((w) => w.state))
    const now = deps.now().getTime()
    if (progress) {
      const changed = watched.filter((w, i) => w.state !== before[i])
      for (const w of changed) out.notice(renderWaitProgress({ kind: 'change', release: released(w) }))
      if (!changed.length && now - lastNotice >= HEARTBEAT_MS) out.notice(renderWaitProgress({ kind: 'still', waitedMs: now - started }))
      if (changed.length || now - lastNotice >= HEARTBEAT_MS) lastNotice = now
    }
    if (outcome !== 'pending' || now >= deadline) {
      return { target, outcome: outcome === 'pending' ? 'timeout' : outcome, releases: watched.map(released), location: backend.location, waitedMs: now - started, timeoutMs }
    }
    await sleep(nextPause(attempt, schedule, deadline - now))
  }

  /**
   * Runs one step, again at the next pause when it fails for a reason that may pass (and warns);
   * the MAX_FAILED_CHECKS-th failure in a row ends the wait with a clear error.
   */
  function retrier(output: Output) {
    let failures = 0
    return async <T>(step: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          const value = await step()
          failures = 0
          return value
        } catch (err) {
          if (!isStagePublishError(err) || !TRANSIENT.has(err.code)) throw err
          failures++
          if (failures >= MAX_FAILED_CHECKS) {
            throw new StagePublishError(err.code, `Stopped waiting: ${failures} checks in a row failed. The last one: ${err.message}`, {
              hint: `${err.hint ?? ''} Nothing was changed; run \`stage-publish wait\` again once the backend and the registry answer.`.trim(),
              cause: err,
            })
          }
          const pause = nextPause(failures - 1, schedule, Math.max(0, deadline - deps.now().getTime()))
          output.warn(`a check failed (${err.code}: ${err.message}); trying again in ${Math.ceil(pause / 1000)} s (${failures} of ${MAX_FAILED_CHECKS - 1} retries)`)
          await sleep(pause)
        }
      }
    }
  }
}

/** Looks at every release not decided yet, and updates its state. */
async function lookOnce(backend: StagingBackend, watched: Watched[], flat: () => Promise<Record<string, unknown>>, deps: Deps, out: Output): Promise<void> {
  for (const w of watched) {
    if (w.state !== 'waiting' && w.state !== 'publishing') continue
    const found = await backend.getRecord(w.id)
    if (found) w.record = found.record
    if (isNative(backend)) {
      if (found) {
        w.state = 'waiting'
        delete w.goneAt
        continue
      }
      w.goneAt ??= deps.now().getTime()
      const served = await servedNow(w, flat)
      w.state = served === 'same' ? 'approved' : served === 'other' ? 'mismatch' : deps.now().getTime() - w.goneAt >= NATIVE_SETTLE_MS ? 'rejected' : 'publishing'
      continue
    }
    if (!found) {
      w.state = 'missing'
      continue
    }
    const { record } = found
    // The record must still be the release we started with: a record rewritten under us is not it.
    if (record.packageName !== w.packageName || record.version !== w.version || (w.integrity && record.integrity !== w.integrity)) {
      w.state = 'mismatch'
      continue
    }
    w.state = stateOfRecord(effectiveState(record, deps.now()))
    // The `expired` webhook event, once (./notify.ts): a wait is often the first to see a release expire.
    if (w.state === 'expired') await notifyExpired(backend, found, deps, out)
    if (w.state !== 'publishing') continue
    const served = await servedNow(w, flat)
    w.state = served === 'same' ? 'approved' : served === 'other' ? 'mismatch' : 'publishing'
  }
}

/** What the registry serves for the release's name@version, fresh (not from npm's cache). */
async function servedNow(w: Watched, flat: () => Promise<Record<string, unknown>>) {
  const { readPackument } = await import('../npm/publish.js')
  const packument = await readPackument({ name: w.packageName, registry: w.registry }, await flat())
  return servedAs(w, packument?.dists[w.version])
}

/** npm's configuration (credentials for a private registry), read once and only when the registry is asked. */
function lazyNpmConfig(request: WaitRequest, deps: Deps): () => Promise<Record<string, unknown>> {
  let loaded: Promise<Record<string, unknown>> | undefined
  return () =>
    (loaded ??= (async () => {
      const { loadNpmConfig } = await import('../npm/config.js')
      const flags = { ...(request.registry && { registry: request.registry }), ...(request.userconfig && { userconfig: request.userconfig }) }
      return (await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags })).flat
    })())
}

function released(w: Watched): WaitedRelease {
  const r = w.record
  const decided =
    w.state === 'rejected' && r?.rejectedBy !== undefined
      ? { by: r.rejectedBy, ...(r.rejectedAt && { at: r.rejectedAt }), ...(r.rejectReason && { reason: r.rejectReason }) }
      : (w.state === 'approved' || w.state === 'publishing') && r?.approvedBy !== undefined
        ? { by: r.approvedBy, ...(r.approvedAt && { at: r.approvedAt }) }
        : {}
  return { id: w.id, packageName: w.packageName, version: w.version, registry: w.registry, state: w.state, ...decided }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
