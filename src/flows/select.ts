/**
 * What the approver named, found in the backend: a release id, a release set id (full or an 8+
 * character prefix of either), several of them, every pending release of a package, or every
 * pending release. Untrusted ids are validated before any I/O (parseIdArgument).
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, matchIdPrefix, parseIdArgument } from '../core/record.js'
import { findSet, setIdsOf, type ReleaseSet } from '../core/release-set.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { followUp } from './follow-up.js'

export type Named = { kind: 'release'; current: Versioned } | { kind: 'set'; set: ReleaseSet; members: Versioned[] }

/**
 * A record id first (one read when the id is complete); else a set id, found by listing the records
 * (a set has no record of its own: see core/release-set.ts). A prefix that matches exactly one
 * record id is that record.
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
  const all = await backend.listRecords({ onCorrupt: () => undefined })
  const setIds = setIdsOf(all.map((v) => v.record))
  const setId = exact ? setIds.find((s) => s === id) : setIds.some((s) => s.startsWith(id)) ? matchIdPrefix(id, setIds) : undefined
  if (!setId) {
    throw new StagePublishError('ENOTFOUND', exact ? `No staged release or release set with id ${id} in ${backend.location}` : `No staged release or release set has an id starting with ${id}`, {
      hint: `Check the id with \`${followUp(backend, 'list --all')}\`, and that --backend points where it was staged.`,
    })
  }
  const set = findSet(setId, all.map((v) => v.record))
  const members = set.members.map((r) => all.find((v) => v.record.id === r.id) as Versioned)
  return { kind: 'set', set, members }
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
    const found = await backend.listRecords({ ...(opts.package !== undefined && { packageName: opts.package }), onCorrupt: () => undefined })
    const waiting = found.filter((v) => ['pending', 'approving'].includes(effectiveState(v.record, now)))
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
