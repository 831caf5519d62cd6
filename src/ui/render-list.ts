/** Words for `list` (src/flows/list.ts): the table, the empty case, the footer and its warnings. Pure: takes a Style, returns text. */
import type { RecordState } from '../core/record.js'
import type { RecordSummary } from '../backends/types.js'
import type { Style } from './output.js'
import { inline } from './sanitize.js'
import { limitListRows, renderListTable } from './render.js'

export interface ListedItem {
  /** With --json, the whole record as stored; for the table, at least what it shows. */
  record: RecordSummary
  state: RecordState
}

/** What `list` found (src/flows/list.ts returns it; defined here because ui does not import flows). */
export interface ListView {
  packageName: string | undefined
  all: boolean
  /** `--older-than`: only releases staged longer ago than this (ms). */
  olderThanMs?: number
  /** Where the releases are staged, as the backend names itself. */
  location: string
  /** A registry that stages natively: it keeps nothing approved, rejected or expired. */
  native: boolean
  now: Date
  /** The records as found, newest first: what --json prints. */
  items: ListedItem[]
  /** The same records for people: a release-set claim the set object does not confirm is removed. */
  shown: ListedItem[]
  /** The follow-up commands the footer suggests, naming --backend when the user did. */
  followUps: { approve: string; approveSet: string; listAll: string; listUnlimited: string }
  /** The table shows at most this many releases, the newest (0: all of them; --json always lists all). */
  limit: number
}

/**
 * How many releases the table shows unless --limit says otherwise: a screenful to act on, not a history
 * (gh pr list shows 30). Nothing is hidden silently: the footer says how many more there are and how to see them.
 */
export const DEFAULT_LIST_LIMIT = 100

/** A record that could not be read, skipped by the listing. */
export const renderSkipped = (id: string, message: string): string => `skipped ${inline(id)}: ${inline(message)}`

export const renderUnlistedClaim = (claim: { id: string; setId: string }): string =>
  `${inline(claim.id)} claims release set ${inline(claim.setId)}, which does not list it: it is not part of that set (approving it is refused)`

/** --json: the records as stored, each with its effective state. */
export const listJson = (view: Pick<ListView, 'items'>): unknown[] => view.items.map(({ record, state }) => ({ ...record, state }))

/** `--older-than` as people say it: 3d, 12h, 90m. */
export function formatAge(ms: number): string {
  for (const [unit, size] of [['w', 7 * 86_400_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${Math.round(ms / 1000)}s`
}

/** The result on stdout: the table, or a sentence when there is nothing to list. */
export function renderListResult(view: ListView, style: Style): string {
  if (view.shown.length === 0) {
    const what = view.packageName ? `of ${inline(view.packageName)} ` : ''
    const location = inline(view.location)
    const age = view.olderThanMs === undefined ? undefined : formatAge(view.olderThanMs)
    if (view.all) return `No staged releases ${what}${age ? `staged more than ${age} ago ` : ''}in ${location}.`
    return `No staged releases ${what}waiting for approval${age ? ` for more than ${age}` : ''} in ${location}.`
  }
  return renderListTable(view.shown, view.now, style, view.limit).text
}

/** The hint under the table (stderr), or null when there is no table. */
export function renderListFooter(view: ListView, style: Style): string | null {
  if (view.shown.length === 0) return null
  const { hidden } = limitListRows(view.shown, view.limit)
  const more = hidden === 0 ? '' : `${style('bold', `${hidden} more not shown`)} (the newest ${view.shown.length - hidden} are): \`${inline(view.followUps.listUnlimited)}\` shows all of them, --json lists them as data.\n`
  // As the records claim (view.items): a claim the set object refutes still hints at approving sets.
  const sets = view.items.some(({ record }) => record.setId) ? `, a release set with \`${inline(view.followUps.approveSet)}\`` : ''
  // A registry keeps no approved, rejected or expired items: there is nothing more for --all to show.
  const decided = view.all || view.native ? '' : `; \`${inline(view.followUps.listAll)}\` shows approved, rejected and expired ones too`
  return `${more}${style('dim', `Approve one with \`${inline(view.followUps.approve)}\`${sets}${decided}.`)}`
}
