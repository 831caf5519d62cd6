/**
 * The webhook body for each event (staged, approved, rejected, expired): JSON with the releases, who,
 * the approve command and the review summary, plus a `text` that Slack incoming webhooks (and
 * Mattermost, Rocket.Chat, Discord's /slack endpoint) show as the message. Pure.
 * Values stay exact in the JSON (receivers must escape for their own output); in `text`, which chat
 * tools render as mrkdwn, foreign values are escaped (`&`, `<`, `>` as Slack asks; backticks, which
 * would end the code span, and newlines are replaced).
 */
import type { ReportedRelease } from './ci-report.js'
import { inline } from './sanitize.js'

/** The version of the body's shape: receivers can check it. */
export const PAYLOAD_SCHEMA = 1

export type NotifyEventName = 'staged' | 'approved' | 'rejected' | 'expired'

export interface NotifyEvent {
  event: NotifyEventName
  releases: ReportedRelease[]
  /** Who staged, approved or rejected (an expiry has nobody). */
  by: string | null
  at: string
  setId: string | null
  /** staged: the exact command that approves what was staged. */
  approveCommand?: string
  /** rejected: the reason given, if any. */
  reason?: string
}

/** Slack mrkdwn: `&<>` as entities (so no `<!channel>` or `<url|label>` can be formed), no code-span breaks. */
export const slackText = (value: string): string =>
  inline(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, "'")

const VERBS: Record<NotifyEventName, string> = { staged: 'staged', approved: 'approved and published', rejected: 'rejected', expired: 'expired without approval' }

function sentence(e: NotifyEvent): string {
  const names = e.releases.map((r) => `${slackText(r.name)}@${slackText(r.version)}`)
  const what = e.setId ? `release set ${slackText(e.setId)} (${names.join(', ')})` : names.join(', ')
  const who = e.by ? ` by ${slackText(e.by)}` : ''
  const parts = [`stage-publish: ${what} ${VERBS[e.event]}${who}.`]
  const reviewed = e.releases.filter((r) => r.review)
  if (reviewed.length) {
    const danger = reviewed.reduce((n, r) => n + (r.review?.danger ?? 0), 0)
    const warn = reviewed.reduce((n, r) => n + (r.review?.warn ?? 0), 0)
    parts.push(`Review: ${danger} danger, ${warn} warning${warn === 1 ? '' : 's'}.`)
    const first = reviewed.flatMap((r) => r.review?.top ?? [])[0]
    if (first) parts.push(`Top finding: ${slackText(first.message)} [${first.code}]`)
  }
  if (e.reason) parts.push(`Reason: ${slackText(e.reason)}`)
  if (e.approveCommand) parts.push(`To publish: \`${slackText(e.approveCommand)}\``)
  return parts.join(' ')
}

/** The JSON body of one event: serialise it once and sign exactly those bytes. */
export function webhookPayload(e: NotifyEvent): Record<string, unknown> {
  return {
    schema: PAYLOAD_SCHEMA,
    event: e.event,
    text: sentence(e),
    at: e.at,
    by: e.by,
    setId: e.setId,
    ...(e.approveCommand !== undefined && { approveCommand: e.approveCommand }),
    ...(e.reason !== undefined && { reason: e.reason }),
    releases: e.releases.map(({ review, ...r }) => ({ ...r, review: review && { danger: review.danger, warn: review.warn, info: review.info, top: review.top } })),
  }
}
