/**
 * Approving several releases at once (`approve <id> <id>...`, `--package`, `--all`, a release set):
 * in which order they are published, which must wait because a release they depend on was not
 * published, and the summary at the end. Pure: names and outcomes in, decisions out.
 */
import semver from 'semver'
import { INSTALL_DEPENDENCY_FIELDS } from './dependency-fields.js'

export interface BatchMember {
  id: string
  name: string
  version: string
  /** Names of the packages it needs at install time (dependencies, optional and peer dependencies). */
  dependsOn: string[]
}

/** The packages among `names` that a manifest needs at install time (devDependencies never reach users). */
export function dependenciesAmong(manifest: Record<string, unknown>, names: ReadonlySet<string>): string[] {
  const found = new Set<string>()
  for (const field of INSTALL_DEPENDENCY_FIELDS) {
    const deps = manifest[field]
    if (!deps || typeof deps !== 'object') continue
    for (const dep of Object.keys(deps)) if (names.has(dep) && dep !== manifest.name) found.add(dep)
  }
  return [...found].sort()
}

const byNameThenVersion = (a: BatchMember, b: BatchMember): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const compareVersions = (a: string, b: string): number => (semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : a < b ? -1 : a > b ? 1 : 0)

/**
 * The publish order: every member after the members it depends on, so no published version ever
 * points at a dependency that is not published yet. Among members free to go, by name then version
 * (several versions of one package go lowest first). Members that depend on each other in a circle
 * cannot all come after each other: the circle is broken at the first by name, and reported.
 */
export function publishOrder(members: readonly BatchMember[]): { order: BatchMember[]; cycles: string[][] } {
  const remaining = new Set(members)
  const order: BatchMember[] = []
  const cycles: string[][] = []
  const needs = (m: BatchMember): BatchMember[] => members.filter((o) => o !== m && o.name !== m.name && m.dependsOn.includes(o.name))
  while (remaining.size) {
    const free = [...remaining].filter((m) => needs(m).every((d) => !remaining.has(d))).sort(byNameThenVersion)
    if (free.length) {
      const next = free[0] as BatchMember
      order.push(next)
      remaining.delete(next)
      continue
    }
    const stuck = [...remaining].sort(byNameThenVersion)
    cycles.push([...new Set(stuck.map((m) => m.name))])
    const next = stuck[0] as BatchMember
    order.push(next)
    remaining.delete(next)
  }
  return { order, cycles }
}

export interface ErrorInfo {
  code: string
  summary: string
  detail: string
}

/**
 * What became of one release. `pending` ones were not published and are still waiting:
 * `otp`: the one-time password ran out and no fresh one could be had (the run stopped there);
 * `stopped`: the run stopped before reaching it; `dependency`: a release it depends on was not published.
 */
export type Outcome =
  | { status: 'published' }
  | { status: 'already-published' }
  | { status: 'already-approved'; by?: string; at?: string }
  | { status: 'failed'; error: ErrorInfo }
  | { status: 'pending'; reason: 'otp'; error: ErrorInfo }
  | { status: 'pending'; reason: 'stopped' }
  | { status: 'pending'; reason: 'dependency'; on: string[] }
  /** stagePublish.approvals: signed, but fewer distinct signers than required so far. */
  | { status: 'pending'; reason: 'approvals'; count: number; required: number }

export const isPublished = (o: Outcome | undefined): boolean =>
  o !== undefined && (o.status === 'published' || o.status === 'already-published' || o.status === 'already-approved')

const spec = (m: Pick<BatchMember, 'name' | 'version'>): string => `${m.name}@${m.version}`

/**
 * The releases before `member` in the publish order that it depends on and that are not published
 * (as name@version): [] when it may go. Only earlier ones count: in a broken circle, the first one
 * cannot wait for the others.
 */
export function blockingDependencies(member: BatchMember, order: readonly BatchMember[], outcomes: ReadonlyMap<string, Outcome>): string[] {
  const earlier = order.slice(0, Math.max(0, order.indexOf(member)))
  return earlier.filter((o) => o.name !== member.name && member.dependsOn.includes(o.name) && !isPublished(outcomes.get(o.id))).map(spec)
}

export interface SummaryEntry {
  id: string
  name: string
  version: string
}

export interface BatchSummary {
  /** The release set, when the batch was one. */
  setId: string | null
  /** Every release of the batch, in publish order. */
  order: SummaryEntry[]
  published: Array<SummaryEntry & { how: 'published' | 'already-published' | 'already-approved' }>
  failed: Array<SummaryEntry & { error: ErrorInfo }>
  pending: Array<SummaryEntry & ({ reason: 'otp'; error: ErrorInfo } | { reason: 'stopped' } | { reason: 'dependency'; on: string[] } | { reason: 'approvals'; count: number; required: number })>
  /** Every release is published: nothing left to do. */
  complete: boolean
}

export function summarizeBatch(order: readonly BatchMember[], outcomes: ReadonlyMap<string, Outcome>, setId: string | null = null): BatchSummary {
  const summary: BatchSummary = { setId, order: order.map(entry), published: [], failed: [], pending: [], complete: false }
  for (const m of order) {
    const o = outcomes.get(m.id) ?? { status: 'pending', reason: 'stopped' }
    if (o.status === 'failed') summary.failed.push({ ...entry(m), error: o.error })
    else if (o.status === 'pending') {
      const { status: _status, ...why } = o
      summary.pending.push({ ...entry(m), ...why })
    } else summary.published.push({ ...entry(m), how: o.status })
  }
  summary.complete = summary.failed.length === 0 && summary.pending.length === 0
  return summary
}

const entry = (m: BatchMember): SummaryEntry => ({ id: m.id, name: m.name, version: m.version })
