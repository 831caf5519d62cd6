/**
 * Release sets: the packages of a workspace staged together (`stage-publish --workspaces`) under one
 * set id. A set has no record of its own: every member record carries `setId` and the full member
 * list (`setMembers`), so listing the records finds the set and any one member says whether a member
 * is missing. This needs nothing a backend does not already do (create-if-absent records, listing),
 * so it works the same on every record store. Pure.
 */
import type { SetMember, StagedRecord } from './record.js'

export interface ReleaseSet {
  setId: string
  /** The member records found, by name then version. */
  members: StagedRecord[]
  /** Members the records say the set has, but that have no record (never staged, or removed by hand). */
  missing: SetMember[]
}

const key = (m: SetMember): string => `${m.name}@${m.version}`

/** The set `setId` as the given records show it (records of other sets are ignored). */
export function findSet(setId: string, records: readonly StagedRecord[]): ReleaseSet {
  const members = records.filter((r) => r.setId === setId).sort((a, b) => key({ name: a.packageName, version: a.version }).localeCompare(key({ name: b.packageName, version: b.version })))
  const expected = new Map<string, SetMember>()
  for (const r of members) for (const m of r.setMembers ?? []) expected.set(key(m), { name: m.name, version: m.version })
  const present = new Set(members.map((r) => key({ name: r.packageName, version: r.version })))
  const missing = [...expected.values()].filter((m) => !present.has(key(m))).sort((a, b) => key(a).localeCompare(key(b)))
  return { setId, members, missing }
}

/** Every set id among the records. */
export const setIdsOf = (records: readonly StagedRecord[]): string[] => [...new Set(records.flatMap((r) => (r.setId ? [r.setId] : [])))]

export type ListRow<T extends { record: StagedRecord }> = { kind: 'set'; setId: string; size: number } | { kind: 'item'; item: T; inSet: boolean }

/**
 * The rows of `list`: newest first, except that the members of a set are kept together under a set
 * row, where the newest of them would be.
 */
export function groupBySet<T extends { record: StagedRecord }>(items: readonly T[]): ListRow<T>[] {
  const rows: ListRow<T>[] = []
  const done = new Set<string>()
  for (const item of items) {
    const { setId } = item.record
    if (!setId) {
      rows.push({ kind: 'item', item, inSet: false })
      continue
    }
    if (done.has(setId)) continue
    done.add(setId)
    const members = items.filter((i) => i.record.setId === setId).sort((a, b) => a.record.packageName.localeCompare(b.record.packageName) || a.record.version.localeCompare(b.record.version))
    rows.push({ kind: 'set', setId, size: members.length }, ...members.map((m): ListRow<T> => ({ kind: 'item', item: m, inSet: true })))
  }
  return rows
}
