/** `list`: the staged releases waiting for approval (or all of them), as data; src/ui/render-list.ts words them. */
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { followUp } from './follow-up.js'
import { effectiveState, isWaiting } from '../core/record.js'
import { limitListRows } from '../ui/render.js'
import { isNative, type CasStagingBackend, type RecordSummary } from '../backends/types.js'
import type { Output } from '../ui/output.js'
import { DEFAULT_LIST_LIMIT, renderSkipped, type ListedItem, type ListView } from '../ui/render-list.js'

export interface ListRequest extends BackendRequest {
  all?: boolean
  /** Only releases staged longer ago than this many ms (`--older-than`: reminders). */
  olderThanMs?: number
  /** At most this many releases in the table (0: all); default DEFAULT_LIST_LIMIT. --json lists all. */
  limit?: number
}

/** A record that claims a release set whose set object does not list it: shown on its own. */
export interface UnlistedClaim {
  id: string
  setId: string
}

/** The listing (for human output, `shown` is grouped as the set objects list it; with --json it is `items`). */
export interface ListResult extends ListView {
  unlisted: UnlistedClaim[]
}

export async function listReleases(packageName: string | undefined, request: ListRequest, deps: Deps, out: Output): Promise<ListResult> {
  const backend = await backendFor(request, deps)
  const now = deps.now()
  const limit = request.limit ?? DEFAULT_LIST_LIMIT
  const options = {
    ...(packageName && { packageName }),
    // Without --all only waiting records are asked for: a record store then reads O(pending), not its history.
    waiting: !request.all,
    onNotice: (message: string) => out.warn(message),
    // Warned while listing: a listing that fails later still says what it skipped.
    onCorrupt: (id: string, err: Error) => out.warn(renderSkipped(id, err.message)),
  }
  // A createdAt that does not parse (or lies in the future) is not "old": it never triggers a reminder.
  const cutoff = request.olderThanMs === undefined ? Infinity : now.getTime() - request.olderThanMs
  const select = async (records: readonly RecordSummary[]) => {
    // One pass (a listing may hold 10,000 records): the effective state, and the filters on it and on age.
    const items: ListedItem[] = []
    for (const record of records) {
      const state = effectiveState(record, now)
      if ((request.all || isWaiting(state)) && (request.olderThanMs === undefined || Date.parse(record.createdAt) <= cutoff)) items.push({ record, state })
    }
    const grouped = out.json || items.length === 0 || isNative(backend) ? { shown: items, unlisted: [] } : await groupedAsListed(backend, items)
    return { items, ...grouped }
  }
  let selected: Awaited<ReturnType<typeof select>>
  if (!out.json && backend.listSummaries) {
    // The table needs a few fields, which a backend may keep cached (the local one does); --json prints whole
    // records, read from the store. A listing answered from the cache is shown only if every row the table
    // shows is still what its file holds; otherwise every record is checked.
    const listing = await backend.listSummaries(options)
    selected = await select(listing.summaries)
    if (listing.confirm && !listing.confirm(shownIds(selected.shown, limit))) selected = await select((await backend.listSummaries({ ...options, checkEvery: true })).summaries)
  } else {
    selected = await select((await backend.listRecords(options)).map(({ record }) => record))
  }
  return {
    packageName,
    all: Boolean(request.all),
    ...(request.olderThanMs !== undefined && { olderThanMs: request.olderThanMs }),
    location: backend.location,
    native: isNative(backend),
    now,
    ...selected,
    followUps: {
      approve: followUp(backend, 'approve <id>'),
      approveSet: followUp(backend, 'approve <set-id>'),
      listAll: followUp(backend, `list${packageName ? ` ${packageName}` : ''} --all`),
      listUnlimited: followUp(backend, `list${packageName ? ` ${packageName}` : ''}${request.all ? ' --all' : ''} --limit 0`),
    },
    limit,
  }
}

/** The ids of the records the table shows: the rows limitListRows gives renderListTable. */
const shownIds = (shown: ListedItem[], limit: number): string[] => limitListRows(shown, limit).rows.flatMap((row) => (row.kind === 'item' ? [row.item.record.id] : []))

/**
 * A release set is what its set object lists, not what records claim: a record that claims a set which
 * does not list it (or whose set object is missing or corrupt) is shown on its own, with a warning.
 */
async function groupedAsListed(backend: CasStagingBackend, items: ListedItem[]): Promise<{ shown: ListedItem[]; unlisted: UnlistedClaim[] }> {
  const claimed = new Set<string>()
  for (const { record } of items) if (record.setId) claimed.add(record.setId)
  // No record claims a set (the usual case): nothing to read, nothing to change.
  if (claimed.size === 0) return { shown: items, unlisted: [] }
  const listed = new Map<string, Set<string>>()
  for (const setId of claimed) {
    const set = await backend.getSet(setId).catch(() => null)
    listed.set(setId, new Set(set?.members.map((m) => m.id) ?? []))
  }
  const unlisted: UnlistedClaim[] = []
  const shown = items.map((item) => {
    const { setId } = item.record
    if (!setId || listed.get(setId)?.has(item.record.id)) return item
    unlisted.push({ id: item.record.id, setId })
    const { setId: _claimed, ...record } = item.record
    return { ...item, record }
  })
  return { shown, unlisted }
}
