/**
 * Telling people: CI reports after staging (src/notify/ci-files.ts) and webhook events (staged,
 * approved, rejected, expired: src/notify/webhook.ts). Everything here is best effort and bounded:
 * a report or notification that fails is a warning on stderr, never a failed staging or approval.
 *
 * Which webhook: STAGE_PUBLISH_WEBHOOK_URL, else package.json `stagePublish.notify.webhook` of the
 * project the command runs in (the nearest package.json above the working directory: the CI checkout
 * when staging, the approver's own project when approving), never a staged tarball's package.json.
 * The secret comes only from STAGE_PUBLISH_WEBHOOK_SECRET (a package.json is committed).
 *
 * `expired` is derived from time (a record is never stored as expired), so it fires when a command
 * that may write records meets an expired release: approve, and whatever else calls notifyExpired
 * (`wait`). It fires once per release: the first process to add `expiryNotifiedAt` to the record by
 * compare-and-set sends it; everyone else sees the mark.
 */
import { redact } from '../errors.js'
import { parseDuration } from '../core/duration.js'
import { effectiveState, type StagedRecord } from '../core/record.js'
import type { Review } from '../core/review.js'
import { isNative, type StagingBackend, type Versioned } from '../backends/types.js'
import type { TarballContents } from '../npm/tarball.js'
import { ciKind, writeCiReport } from '../notify/ci-files.js'
import { postWebhook, webhookHost, type WebhookTarget } from '../notify/webhook.js'
import { approveCommand, reportedRelease, type ReportedRelease, type StagedReport } from '../ui/ci-report.js'
import { webhookPayload, type NotifyEvent, type NotifyEventName } from '../ui/notify-payload.js'
import type { Output } from '../ui/output.js'
import { readProjectStageConfig, type Deps } from './context.js'
import { reviewStaged } from './review.js'

/** A hanging receiver costs at most this (STAGE_PUBLISH_WEBHOOK_TIMEOUT changes it, up to MAX). */
const DEFAULT_TIMEOUT_MS = 5_000
const MAX_TIMEOUT_MS = 30_000
/** The review for a report waits this long for the registry, then the report goes out without it. */
const REVIEW_TIMEOUT_MS = 20_000

/** The configured webhook, or null; a bad setting is a warning and no webhook. */
export async function webhookTarget(deps: Pick<Deps, 'env' | 'cwd'>, out: Output): Promise<WebhookTarget | null> {
  const fromEnv = deps.env.STAGE_PUBLISH_WEBHOOK_URL
  let raw: unknown = fromEnv
  let where = 'STAGE_PUBLISH_WEBHOOK_URL'
  if (!fromEnv) {
    const { config, dir } = await readProjectStageConfig(deps.cwd)
    const notify = config?.notify
    raw = notify && typeof notify === 'object' ? (notify as Record<string, unknown>).webhook : undefined
    where = `${dir ? `${dir}/` : ''}package.json stagePublish.notify.webhook`
    if (raw === undefined) return null
  }
  let url: URL | undefined
  try {
    url = typeof raw === 'string' ? new URL(raw) : undefined
  } catch {
    url = undefined
  }
  // The value is never echoed: it may be a secret URL with a typo.
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    out.warn(`${where} is not an http(s) URL; no notification is sent`)
    return null
  }
  const secret = deps.env.STAGE_PUBLISH_WEBHOOK_SECRET
  return { url, ...(secret && { secret }), timeoutMs: timeoutOf(deps.env, out) }
}

function timeoutOf(env: NodeJS.ProcessEnv, out: Output): number {
  const text = env.STAGE_PUBLISH_WEBHOOK_TIMEOUT
  if (!text) return DEFAULT_TIMEOUT_MS
  try {
    return Math.min(parseDuration(text), MAX_TIMEOUT_MS)
  } catch {
    out.warn(`STAGE_PUBLISH_WEBHOOK_TIMEOUT is not a duration (such as 5s); using ${DEFAULT_TIMEOUT_MS / 1000}s`)
    return DEFAULT_TIMEOUT_MS
  }
}

/** Sends one event; a failure is a warning that names the host only. */
export async function sendEvent(target: WebhookTarget, event: NotifyEvent, out: Output): Promise<boolean> {
  const body = Buffer.from(JSON.stringify(webhookPayload(event)))
  const delivery = await postWebhook(target, event.event, body)
  if (!delivery.ok) out.warn(`could not notify the webhook at ${webhookHost(target.url)} of ${event.event}: ${delivery.why}. Nothing else is affected.`)
  return delivery.ok
}

async function notify(deps: Deps, out: Output, event: Omit<NotifyEvent, 'at'>): Promise<void> {
  try {
    const target = await webhookTarget(deps, out)
    if (target) await sendEvent(target, { ...event, at: deps.now().toISOString() }, out)
  } catch (err) {
    out.warn(`could not send the ${event.event} notification (${err instanceof Error ? err.name : 'error'}). Nothing else is affected.`)
  }
}

/** A release just stored, with what its review needs. */
export interface StagedForReport {
  record: StagedRecord
  bytes: Buffer
  contents: TarballContents
  flat: Record<string, unknown>
}

/**
 * After a staging: the CI report (in GitHub Actions or GitLab CI) and the `staged` event. The review
 * against the published version is made only when one of them will be sent.
 */
export async function announceStaged(staged: StagedForReport[], setId: string | null, backendHint: string, deps: Deps, out: Output): Promise<void> {
  try {
    const ci = ciKind(deps.env)
    const target = await webhookTarget(deps, out)
    if (!ci && !target) return
    const releases: ReportedRelease[] = []
    for (const s of staged) releases.push(await reportWithReview(s))
    // The backend URL is the user's; a secret-looking parameter in it is not repeated (as in all our output).
    const report: StagedReport = { setId, releases, approveCommand: redact(approveCommand(setId, releases.map((r) => r.id), backendHint)) }
    if (ci) {
      const written = await writeCiReport(report, deps.env, deps.cwd, deps.stderr)
      for (const problem of written.problems) out.warn(`${problem}; the release is staged all the same`)
    }
    if (target) {
      const by = staged[0]?.record.actor ?? null
      await sendEvent(target, { event: 'staged', releases, by, at: deps.now().toISOString(), setId, approveCommand: report.approveCommand }, out)
    }
  } catch (err) {
    out.warn(`could not report the staging (${err instanceof Error ? err.name : 'error'}); the release is staged all the same`)
  }
}

async function reportWithReview(s: StagedForReport): Promise<ReportedRelease> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the registry did not answer within ${REVIEW_TIMEOUT_MS / 1000}s`)), REVIEW_TIMEOUT_MS)
    timer.unref()
  })
  try {
    const { review } = await Promise.race([reviewStaged(s.record, s, s.record.registry, s.flat), timeout])
    return reportedRelease(s.record, review)
  } catch (err) {
    return reportedRelease(s.record, null, err instanceof Error ? err.message : String(err))
  } finally {
    clearTimeout(timer)
  }
}

/** What an approval reports (./approve-one.ts `Finished`, declared by shape: approve-one imports this file). */
export interface ApprovedRelease {
  record: StagedRecord
  how: { alreadyApproved: boolean; alreadyPublished?: boolean; review?: Review }
}

/**
 * Whether this run made the release approved: not one approved before, and not a registry's item
 * whose version was found published (it stays staged there, so every run would say it again).
 * A record store's release found published with the same bytes (a crashed approval) counts: the
 * run that crashed never told anyone.
 */
export const isNewlyApproved = (done: ApprovedRelease, backend: StagingBackend): boolean =>
  !done.how.alreadyApproved && !(done.how.alreadyPublished && isNative(backend))

/** After publishing: one `approved` event for the releases this run approved. */
export async function announceApproved(approved: ApprovedRelease[], setId: string | null, deps: Deps, out: Output): Promise<void> {
  if (!approved.length) return
  const by = approved[0]?.record.approvedBy ?? null
  await notify(deps, out, { event: 'approved', releases: approved.map((a) => reportedRelease(a.record, a.how.review ?? null)), by, setId })
}

/** After a rejection by this run (not one found rejected already). */
export async function announceRejected(record: StagedRecord, deps: Deps, out: Output): Promise<void> {
  await notify(deps, out, { event: 'rejected', releases: [reportedRelease(record, null)], by: record.rejectedBy ?? null, setId: record.setId ?? null, ...(record.rejectReason && { reason: record.rejectReason }) })
}

/**
 * A release met expired: the `expired` event, once. Only with a webhook configured (otherwise nothing
 * is written), and only for record stores (a registry's items do not expire). The mark is set by
 * compare-and-set before sending; losing the race, or a record already marked, sends nothing.
 */
export async function notifyExpired(backend: StagingBackend, current: Versioned, deps: Deps, out: Output): Promise<void> {
  const kind: NotifyEventName = 'expired'
  try {
    if (isNative(backend) || effectiveState(current.record, deps.now()) !== 'expired' || current.record.expiryNotifiedAt) return
    const target = await webhookTarget(deps, out)
    if (!target) return
    const marked: StagedRecord = { ...current.record, expiryNotifiedAt: deps.now().toISOString() }
    const result = await backend.updateRecord(marked, current.etag)
    if (!result.updated) return
    await sendEvent(target, { event: kind, releases: [reportedRelease(marked, null)], by: null, at: deps.now().toISOString(), setId: marked.setId ?? null }, out)
  } catch (err) {
    out.warn(`could not send the ${kind} notification (${err instanceof Error ? err.name : 'error'}). Nothing else is affected.`)
  }
}
