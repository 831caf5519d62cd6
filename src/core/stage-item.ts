/**
 * A registry's staged item (npm's `/-/stage` API: `{id, packageName, version, tag, createdAt, actor,
 * actorType, access, shasum}`) as one of our records. Items come from the network: every field is
 * checked, and anything that is not an item is ECORRUPT, never acted on. Pure.
 */
import semver from 'semver'
import { StagePublishError } from '../errors.js'
import { isUuid, RECORD_SCHEMA, type StagedRecord } from './record.js'

const SHASUM_RE = /^[0-9a-f]{40}$/i
/** npm's package names (old ones may have capitals), without anything a terminal or a path would interpret. */
const NAME_RE = /^(?:@[A-Za-z0-9][\w.~-]*\/)?[A-Za-z0-9_][\w.~-]*$/

/** The record for an item of the staging API of `registry`. Such records are pending while they exist. */
export function recordFromStageItem(item: unknown, registry: string, expectedId?: string): StagedRecord {
  const i = item as Record<string, unknown> | null
  const id = typeof i?.id === 'string' ? i.id : undefined
  const bad = (why: string): StagePublishError =>
    new StagePublishError('ECORRUPT', `The staged item ${expectedId ?? id ?? ''} from ${registry} is not a staged release: ${why}`.replace('  ', ' '), {
      hint: 'Nothing was changed. The registry answered something other than npm\'s staging API expects.',
    })
  if (!i || typeof i !== 'object' || Array.isArray(i)) throw bad('it is not an object')
  if (!id || !isUuid(id.toLowerCase())) throw bad('its id is not a UUID')
  if (expectedId && id.toLowerCase() !== expectedId) throw bad(`it carries another id (${id})`)
  for (const key of ['packageName', 'version', 'createdAt', 'actor'] as const) {
    if (typeof i[key] !== 'string' || i[key] === '') throw bad(`field ${key} is missing`)
  }
  // Names, versions and tags end up in terminals, file names and URLs: nothing odd gets through.
  if (!NAME_RE.test(i.packageName as string)) throw bad('packageName is not a package name')
  if (!semver.valid(i.version as string)) throw bad('version is not a semver version')
  if (i.tag !== undefined && (typeof i.tag !== 'string' || encodeURIComponent(i.tag) !== i.tag)) throw bad('tag is not a dist-tag')
  if (typeof i.shasum !== 'string' || !SHASUM_RE.test(i.shasum)) throw bad('its shasum is not a sha1')
  if (Number.isNaN(Date.parse(i.createdAt as string))) throw bad('createdAt is not a date')
  return {
    schema: RECORD_SCHEMA,
    id: id.toLowerCase(),
    packageName: i.packageName as string,
    version: i.version as string,
    tag: typeof i.tag === 'string' && i.tag ? i.tag : 'latest',
    access: accessOf(i.access),
    registry,
    shasum: (i.shasum as string).toLowerCase(),
    createdAt: i.createdAt as string,
    actor: i.actor as string,
    actorType: i.actorType === 'trusted automation' ? 'trusted automation' : 'user',
    state: 'pending',
  }
}

/** npm says public or restricted; Verdaccio 9 says private for restricted. */
function accessOf(access: unknown): StagedRecord['access'] {
  if (access === 'public') return 'public'
  if (access === 'restricted' || access === 'private') return 'restricted'
  return null
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
