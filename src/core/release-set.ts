/**
 * Release sets: the packages of a workspace staged together (`stage-publish --workspaces`) under one
 * set id. The set is fixed when it is staged: a set object (`sets/<setId>.json`), written once with
 * create-if-absent before any member record, lists every member by record id, name, version and
 * integrity. A member record carries `setId` so it can be found from the set and approved on its own,
 * but a record's claim is never enough: a record belongs to a set only if the set object lists its id
 * with its integrity. Anyone who can write records (the CI credential) cannot join a set staged by
 * someone else, because the set object already exists and is never replaced. Pure.
 */
import { createRequire } from 'node:module'
import { semverValid } from './semver-lazy.js'
import { StagePublishError } from '../errors.js'
import { isUuid, type DetailedRecord, type SetMember, type StagedRecord } from './record.js'

export const SET_SCHEMA = 1
/** More members than any workspace has: an object with more is not ours. */
export const MAX_SET_MEMBERS = 1000
/** Far more than MAX_SET_MEMBERS members take as JSON; a bigger set object is refused unread. */
export const MAX_SET_BYTES = 1024 * 1024

/** One member of a set, as listed in the set object. */
export interface SetObjectMember {
  /** The record id. */
  id: string
  name: string
  version: string
  /** sha512 of the tarball, as in the record. */
  integrity: string
}

/** The set object: what the set is, written once when it is staged. */
export interface SetObject {
  schema: typeof SET_SCHEMA
  setId: string
  createdAt: string
  members: SetObjectMember[]
}

export interface ReleaseSet {
  setId: string
  /** The listed members that have a record, by name then version. */
  members: StagedRecord[]
  /** Listed members that have no record (never staged, or removed by hand). */
  missing: SetMember[]
}

// validate-npm-package-name is CommonJS without types.
const validateName = createRequire(import.meta.url)('validate-npm-package-name') as (name: string) => { validForOldPackages: boolean }
const INTEGRITY_RE = /^sha512-[A-Za-z0-9+/]{86}==$/
const SET_KEYS = ['schema', 'setId', 'createdAt', 'members']
const MEMBER_KEYS = ['id', 'name', 'version', 'integrity']

/** The set object for members about to be stored (ids and integrities known). */
export function newSetObject(setId: string, createdAt: Date, members: readonly Pick<DetailedRecord, 'id' | 'packageName' | 'version' | 'integrity'>[]): SetObject {
  return {
    schema: SET_SCHEMA,
    setId,
    createdAt: createdAt.toISOString(),
    members: members.map((r) => ({ id: r.id, name: r.packageName, version: r.version, integrity: r.integrity })),
  }
}

export const serializeSetObject = (set: SetObject): string => `${JSON.stringify(set, null, 2)}\n`

/**
 * Checks that bytes from a backend are a set object we wrote, for `expectedSetId`. Strict: exact
 * keys, UUIDs, valid npm names, semver versions, sha512 integrities, unique ids and names, a bounded
 * number of members. Anything else is ECORRUPT (or ETOOLARGE), never acted on.
 */
export function parseSetObject(text: string, expectedSetId?: string): SetObject {
  const where = expectedSetId ?? ''
  if (text.length > MAX_SET_BYTES) {
    throw new StagePublishError('ETOOLARGE', `The release set ${where} is too large to be ours (over ${MAX_SET_BYTES} bytes)`.replace('  ', ' '), { hint: HINT })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt(where, 'it is not valid JSON')
  }
  if (!isPlainObject(data)) throw corrupt(where, 'it is not an object')
  const extra = Object.keys(data).filter((k) => !SET_KEYS.includes(k))
  if (extra.length) throw corrupt(where, `unknown field ${extra[0]?.slice(0, 40)}`)
  if (data.schema !== SET_SCHEMA) throw corrupt(where, `unknown schema ${String(data.schema).slice(0, 20)}`)
  if (typeof data.setId !== 'string' || !isUuid(data.setId)) throw corrupt(where, 'its setId is not a UUID')
  if (expectedSetId !== undefined && data.setId !== expectedSetId) throw corrupt(where, `it carries another set id (${data.setId})`)
  if (typeof data.createdAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(data.createdAt) || Number.isNaN(Date.parse(data.createdAt))) {
    throw corrupt(data.setId, 'field createdAt is not a time')
  }
  const { members } = data
  if (!Array.isArray(members) || members.length === 0) throw corrupt(data.setId, 'it has no members')
  if (members.length > MAX_SET_MEMBERS) throw corrupt(data.setId, `it has ${members.length} members, more than ${MAX_SET_MEMBERS}`)
  const ids = new Set<string>()
  const names = new Set<string>()
  members.forEach((m: unknown, i) => {
    const bad = (why: string) => corrupt(data.setId as string, `member ${i + 1} ${why}`)
    if (!isPlainObject(m)) throw bad('is not an object')
    const extraKeys = Object.keys(m).filter((k) => !MEMBER_KEYS.includes(k))
    if (extraKeys.length) throw bad(`has an unknown field ${extraKeys[0]?.slice(0, 40)}`)
    if (typeof m.id !== 'string' || !isUuid(m.id)) throw bad('has an id that is not a UUID')
    if (typeof m.name !== 'string' || m.name.length > 214 || !validateName(m.name).validForOldPackages) throw bad('has an invalid package name')
    if (typeof m.version !== 'string' || semverValid(m.version) !== m.version) throw bad('has a version that is not semver')
    if (typeof m.integrity !== 'string' || !INTEGRITY_RE.test(m.integrity)) throw bad('has an integrity that is not sha512')
    if (ids.has(m.id)) throw bad(`repeats the id ${m.id}`)
    if (names.has(m.name)) throw bad(`repeats the package ${m.name}`)
    ids.add(m.id)
    names.add(m.name)
  })
  return { schema: SET_SCHEMA, setId: data.setId, createdAt: data.createdAt, members: members.map((m: SetObjectMember) => ({ id: m.id, name: m.name, version: m.version, integrity: m.integrity })) }
}

/**
 * The set as its object lists it, from the records read for exactly the listed ids (null: no record).
 * Every listed record must be what the set object says it is — claiming this set, with the listed
 * name, version and integrity — or the whole set is refused (ESETMISMATCH): a record swapped in
 * under a listed id never rides along. Records that claim the set but are not listed are never read.
 */
export function resolveSet(set: SetObject, records: ReadonlyMap<string, StagedRecord | null>): ReleaseSet {
  const members: StagedRecord[] = []
  const missing: SetMember[] = []
  for (const m of set.members) {
    const record = records.get(m.id) ?? null
    if (!record) {
      missing.push({ name: m.name, version: m.version })
      continue
    }
    const why = mismatch(record, set, m)
    if (why) throw setMismatch(`The release set ${set.setId} does not match its staged records: ${m.name}@${m.version} (${m.id}) ${why}`, set.setId)
    members.push(record)
  }
  const key = (x: { name: string; version: string }) => `${x.name}@${x.version}`
  members.sort((a, b) => key({ name: a.packageName, version: a.version }).localeCompare(key({ name: b.packageName, version: b.version })))
  missing.sort((a, b) => key(a).localeCompare(key(b)))
  return { setId: set.setId, members, missing }
}

/**
 * A record that claims a set, approved on its own or in a batch: the set object (null when there is
 * none) must list it with its integrity. Returns the set's members, to check what it depends on.
 */
export function requireListed(record: StagedRecord, set: SetObject | null): SetObjectMember[] {
  const setId = record.setId as string
  const what = `${record.packageName}@${record.version} (${record.id})`
  if (!set) throw setMismatch(`${what} claims release set ${setId}, which does not exist`, null)
  const listed = set.members.find((m) => m.id === record.id)
  if (!listed) throw setMismatch(`${what} claims release set ${setId}, which does not list it`, null)
  const why = mismatch(record, set, listed)
  if (why) throw setMismatch(`${what} ${why}`, setId)
  return set.members
}

function mismatch(record: StagedRecord, set: SetObject, listed: SetObjectMember): string | null {
  if (record.setId !== set.setId) return record.setId ? `claims another set (${record.setId})` : 'does not claim the set'
  if (record.packageName !== listed.name || record.version !== listed.version) return `is ${record.packageName}@${record.version} in its record`
  if (record.integrity !== listed.integrity) return `has integrity ${record.integrity ?? 'none'} in its record, not the ${listed.integrity} the set was staged with`
  return null
}

function setMismatch(summary: string, setId: string | null): StagePublishError {
  return new StagePublishError('ESETMISMATCH', summary, {
    hint: `Nothing was published. The backend was changed after the set was staged${setId ? '' : ', or this record was written by someone else'}: inspect it, reject what you did not stage (stage-publish reject <id>), and stage the workspace again.`,
  })
}

const HINT = 'Nothing was changed. Inspect the backend: a set object is written once, when a workspace is staged.'

function corrupt(setId: string, why: string): StagePublishError {
  return new StagePublishError('ECORRUPT', `The release set ${setId} is corrupt: ${why}`.replace('  ', ' '), { hint: HINT })
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

export type ListRow<T extends { record: Pick<StagedRecord, 'setId' | 'packageName' | 'version'> }> = { kind: 'set'; setId: string; size: number } | { kind: 'item'; item: T; inSet: boolean }

/**
 * The rows of `list`: newest first, except that the members of a set are kept together under a set
 * row, where the newest of them would be. With `maxItems`, only the first rows holding that many items
 * (and the rest of a set that reaches it): a table of the newest 100 of 10,000 builds 100 rows.
 */
export function groupBySet<T extends { record: Pick<StagedRecord, 'setId' | 'packageName' | 'version'> }>(items: readonly T[], maxItems = Infinity): ListRow<T>[] {
  const rows: ListRow<T>[] = []
  // Members by set, gathered once: filtering every item per set is quadratic in a long listing of sets.
  const bySet = new Map<string, T[]>()
  for (const item of items) {
    const { setId } = item.record
    if (!setId) continue
    const members = bySet.get(setId)
    if (members) members.push(item)
    else bySet.set(setId, [item])
  }
  const done = new Set<string>()
  let count = 0
  for (const item of items) {
    if (count >= maxItems) break
    const { setId } = item.record
    if (!setId) {
      rows.push({ kind: 'item', item, inSet: false })
      count++
      continue
    }
    if (done.has(setId)) continue
    done.add(setId)
    const members = (bySet.get(setId) as T[]).sort((a, b) => a.record.packageName.localeCompare(b.record.packageName) || a.record.version.localeCompare(b.record.version))
    rows.push({ kind: 'set', setId, size: members.length }, ...members.map((m): ListRow<T> => ({ kind: 'item', item: m, inSet: true })))
    count += members.length
  }
  return rows
}
