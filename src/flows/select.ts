/**
 * What the approver named, found in the backend: a release id, a release set id (full or an 8+
 * character prefix of either), several of them, every pending release of a package, or every
 * pending release. Untrusted ids are validated before any I/O (parseIdArgument).
 *
 * A set is what its set object lists (core/release-set.ts), never what records claim: `approve
 * <set-id>` reads the set object and exactly the listed records, and a record that claims a set is
 * approved only if that set object lists it (listedSetMembers).
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, isWaiting, matchIdPrefix, parseIdArgument, type StagedRecord } from '../core/record.js'
import { requireListed, resolveSet, type ReleaseSet, type SetObject, type SetObjectMember } from '../core/release-set.js'
import { isNative, type CasStagingBackend, type StagingBackend, type Versioned } from '../backends/types.js'
import { followUp } from './follow-up.js'

export type Named = { kind: 'release'; current: Versioned } | { kind: 'set'; set: ReleaseSet; members: Versioned[] }

/** Listed member records read at once when a set is loaded. */
const SET_READ_CONCURRENCY = 16

/**
 * A record id first (one read when the id is complete); else a set id, found among the set objects
 * (a record store's `sets/`; a registry keeps no sets). A prefix that matches exactly one record id
 * is that record.
 */
export async function resolveName(backend: StagingBackend, raw: string): Promise<Named> {
  const { id, exact } = parseIdArgument(raw)
  if (exact) {
    const found = await backend.getRecord(id)
    if (found) return { kind: 'release', current: found }
  } else {
    const matches = (await backend.listIds()).filter((x) => x.startsWith(id))
    if (matches.length > 1) matchIdPrefix(id, matches) // throws EAMBIGUOUS with the candidates
    if (matches.length === 1) {
      const found = await backend.getRecord(matches[0] as string)
      if (found) return { kind: 'release', current: found }
    }
  }
  const set = isNative(backend) ? null : await findSetObject(backend, id, exact)
  if (!set) {
    throw new StagePublishError('ENOTFOUND', exact ? `No staged release or release set with id ${id} in ${backend.location}` : `No staged release or release set has an id starting with ${id}`, {
      hint: `Check the id with \`${followUp(backend, 'list --all')}\`, and that --backend points where it was staged.`,
    })
  }
  return loadSet(backend as CasStagingBackend, set)
}

async function findSetObject(backend: CasStagingBackend, id: string, exact: boolean): Promise<SetObject | null> {
  if (exact) return backend.getSet(id)
  const matches = (await backend.listSetIds()).filter((s) => s.startsWith(id))
  if (!matches.length) return null
  return backend.getSet(matchIdPrefix(id, matches)) // throws EAMBIGUOUS when several match
}

/** The listed records of a set, each checked against the set object (ESETMISMATCH otherwise). */
async function loadSet(backend: CasStagingBackend, set: SetObject): Promise<Named> {
  const found = new Map<string, Versioned | null>()
  const ids = set.members.map((m) => m.id)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(SET_READ_CONCURRENCY, ids.length) }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as string
        found.set(id, await backend.getRecord(id))
      }
    }),
  )
  const resolved = resolveSet(set, new Map([...found].map(([id, v]) => [id, v?.record ?? null])))
  return { kind: 'set', set: resolved, members: resolved.members.map((r) => found.get(r.id) as Versioned) }
}

// Set objects never change once written: one read per set and backend is enough for a whole run.
const setCache = new WeakMap<CasStagingBackend, Map<string, Promise<SetObject | null>>>()

/**
 * The members of the set a record claims, once its set object is found to list it with its integrity;
 * null for a record outside any set (or on a registry, which keeps none). ESETMISMATCH otherwise.
 */
export async function listedSetMembers(backend: StagingBackend, record: StagedRecord): Promise<SetObjectMember[] | null> {
  if (!record.setId || isNative(backend)) return null
  let byId = setCache.get(backend)
  if (!byId) setCache.set(backend, (byId = new Map<string, Promise<SetObject | null>>()))
  let set = byId.get(record.setId)
  if (!set) {
    set = backend.getSet(record.setId)
    byId.set(record.setId, set)
    set.catch(() => byId?.delete(record.setId as string))
  }
  return requireListed(record, await set)
}

/** A set is approved whole or not at all: a member without a record stops it before anything is asked. */
export function requireComplete(set: ReleaseSet): void {
  if (!set.missing.length) return
  throw new StagePublishError('ESETINCOMPLETE', `The release set ${set.setId} is incomplete: ${set.missing.map((m) => `${m.name}@${m.version}`).join(', ')} ${set.missing.length === 1 ? 'has' : 'have'} no staged record`, {
    hint: 'Nothing was published. Its staging did not finish, or the backend was changed by hand: stage the workspace again (stage-publish --workspaces) and approve the new set.',
  })
}

export interface Selection {
  releases: Versioned[]
  /** The set, when exactly one set was named. */
  setId: string | null
}

/** The releases `approve` acts on, deduplicated, from ids and set ids, or --package / --all. */
export async function selectReleases(backend: StagingBackend, names: string[], opts: { package?: string; all?: boolean }, now: Date): Promise<Selection> {
  if (opts.package !== undefined || opts.all) {
    const found = await backend.listRecords({ ...(opts.package !== undefined && { packageName: opts.package }), waiting: true, onCorrupt: () => undefined })
    const waiting = found.filter((v) => isWaiting(effectiveState(v.record, now)))
    return { releases: waiting.reverse(), setId: null }
  }
  const releases = new Map<string, Versioned>()
  const sets: string[] = []
  for (const raw of names) {
    const named = await resolveName(backend, raw)
    if (named.kind === 'release') releases.set(named.current.record.id, named.current)
    else {
      requireComplete(named.set)
      sets.push(named.set.setId)
      for (const m of named.members) releases.set(m.record.id, m)
    }
  }
  return { releases: [...releases.values()], setId: sets.length === 1 && names.length === 1 ? (sets[0] as string) : null }
}
