/** Words for `wait` (src/flows/wait.ts): progress lines on a terminal, the result, and its --json. Pure. */
import type { WaitOutcome, WaitState } from '../core/wait.js'
import { inline } from './sanitize.js'

/** One release as the wait left it. `by`, `at` and `reason` come from a record (untrusted). */
export interface WaitedRelease {
  id: string
  packageName: string
  version: string
  /** Where "approved" was confirmed (or would have been). */
  registry: string
  state: WaitState
  by?: string
  at?: string
  reason?: string
}

/** What `wait` came to (src/flows/wait.ts returns it; defined here because ui does not import flows). */
export interface WaitResult {
  target: { kind: 'release' | 'set'; id: string }
  /** `pending` never comes back: a wait that ends undecided is `timeout`. */
  outcome: Exclude<WaitOutcome, 'pending'> | 'timeout'
  releases: WaitedRelease[]
  location: string
  waitedMs: number
  timeoutMs: number
}

export type WaitProgress =
  | { kind: 'start'; target: WaitResult['target']; releases: Array<Pick<WaitedRelease, 'packageName' | 'version'>>; location: string; timeoutMs: number }
  | { kind: 'change'; release: WaitedRelease }
  | { kind: 'still'; waitedMs: number }

export function formatWaited(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`
  return `${Math.floor(m / 60)}h${m % 60 ? ` ${m % 60}m` : ''}`
}

const nameOf = (r: Pick<WaitedRelease, 'packageName' | 'version'>): string => `${inline(r.packageName)}@${inline(r.version)}`

const STATE_WORDS: Record<WaitState, string> = {
  waiting: 'waiting for approval',
  publishing: 'approved; waiting for the registry to serve it',
  approved: 'approved and published',
  rejected: 'rejected',
  expired: 'expired without a decision',
  missing: 'no longer in the backend (removed)',
  mismatch: 'the registry serves other bytes than the staged ones, or the record changed',
}

/** A line for stderr, on a terminal only. */
export function renderWaitProgress(p: WaitProgress): string {
  switch (p.kind) {
    case 'start': {
      const what = p.target.kind === 'set' ? `release set ${inline(p.target.id)} (${p.releases.map(nameOf).join(', ')})` : nameOf(p.releases[0] ?? { packageName: '?', version: '?' })
      return `Waiting up to ${formatWaited(p.timeoutMs)} for ${what} in ${inline(p.location)} to be decided (Ctrl-C stops waiting; nothing is changed)`
    }
    case 'change':
      return `${nameOf(p.release)}: ${STATE_WORDS[p.release.state]}`
    case 'still':
      return `still waiting (${formatWaited(p.waitedMs)})`
  }
}

/** The result for stdout: one line per release, then what it came to. */
export function renderWait(result: WaitResult): string {
  const lines = result.releases.map((r) => {
    const who = r.by ? ` by ${inline(r.by)}` : ''
    const why = r.reason ? `: ${inline(r.reason)}` : ''
    return `${r.state === 'approved' ? '+' : r.state === 'waiting' || r.state === 'publishing' ? '…' : '-'} ${nameOf(r)} ${STATE_WORDS[r.state]}${who}${why}`
  })
  if (result.outcome === 'timeout') lines.push(`Not decided after ${formatWaited(result.waitedMs)} (--timeout ${formatWaited(result.timeoutMs)}).`)
  return lines.join('\n')
}

/** --json: what it came to, and each release. */
export const waitJson = (result: WaitResult): unknown => ({
  outcome: result.outcome,
  [result.target.kind === 'set' ? 'setId' : 'id']: result.target.id,
  waitedSeconds: Math.round(result.waitedMs / 1000),
  releases: result.releases,
})
