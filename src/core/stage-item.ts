/**
 * A registry's staged item (npm's `/-/stage` API: `{id, packageName, version, tag, createdAt, actor,
 * actorType, access, shasum}`) as one of our records. Items come from the network: every field is
 * checked, and anything that is not an item is ECORRUPT, never acted on. Pure.
 */
import { StagePublishError } from '../errors.js'
import { RECORD_SCHEMA, type StagedRecord } from './record.js'
import { checkRecord } from './record-schema.js'
import { stripCredentials } from './url.js'

/**
 * The record for an item of the staging API of `registry`. Such records are pending while they exist.
 * The item is held to the record schema's rules (record-schema.ts), field by field; only npm's known
 * fields are read, and the registry is recorded without credentials.
 */
export function recordFromStageItem(item: unknown, registry: string, expectedId?: string): StagedRecord {
  const where = stripCredentials(registry)
  const bad = (why: string): StagePublishError =>
    new StagePublishError('ECORRUPT', `The staged item ${expectedId ?? ''} from ${where} is not a staged release: ${why}`.replace('  ', ' '), {
      hint: 'Nothing was changed. The registry answered something other than npm\'s staging API expects.',
    })
  if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad('it is not an object')
  const i = item as Record<string, unknown>
  const field = (key: string): unknown => (Object.hasOwn(i, key) ? i[key] : undefined)
  const id = field('id')
  const shasum = field('shasum')
  const tag = field('tag')
  const candidate = {
    schema: RECORD_SCHEMA,
    // The API's ids and digests are case-insensitive; ours are lower-case.
    id: typeof id === 'string' ? id.toLowerCase() : id,
    packageName: field('packageName'),
    version: field('version'),
    tag: tag === undefined || tag === null || tag === '' ? 'latest' : tag,
    access: accessOf(field('access'), bad),
    registry: where,
    shasum: typeof shasum === 'string' ? shasum.toLowerCase() : shasum,
    createdAt: field('createdAt'),
    actor: field('actor'),
    actorType: actorTypeOf(field('actorType'), bad),
    state: 'pending',
  }
  const checked = checkRecord(candidate, { store: false, ...(expectedId !== undefined && { expectedId }) })
  if (!checked.ok) throw bad(`${checked.field} ${checked.why}`)
  return checked.record
}

/** npm says public or restricted; Verdaccio 9 says private for restricted; absent is the registry's default. */
function accessOf(access: unknown, bad: (why: string) => Error): StagedRecord['access'] {
  if (access === 'public') return 'public'
  if (access === 'restricted' || access === 'private') return 'restricted'
  if (access === undefined || access === null) return null
  throw bad('access is not public, restricted or private')
}

/** npm's items say `user` or `trusted automation`; absent means a person. */
function actorTypeOf(actorType: unknown, bad: (why: string) => Error): StagedRecord['actorType'] {
  if (actorType === undefined || actorType === null || actorType === 'user') return 'user'
  if (actorType === 'trusted automation') return 'trusted automation'
  throw bad('actorType is not user or trusted automation')
}

/** One page of `GET /-/stage`: its items, and the total the registry says it has. */
export function parseStagePage(body: unknown): { items: unknown[]; total: number } {
  const b = body as { items?: unknown; total?: unknown } | null
  if (!b || typeof b !== 'object' || !Array.isArray(b.items)) {
    throw new StagePublishError('ECORRUPT', 'The registry answered the staging list with something that is not a list of staged items', {
      hint: 'Nothing was changed. Check that --backend names a registry that implements npm\'s staging API.',
    })
  }
  const total = typeof b.total === 'number' && Number.isFinite(b.total) && b.total >= 0 ? b.total : b.items.length
  return { items: b.items, total }
}
