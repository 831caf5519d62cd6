/**
 * Words for M-of-N approvals: the count ("1 of 2 approvals; 1 more needed"), who counted, and why a
 * stored approval does not count. Used by approve, `approvals` and `verify-approvals`. Every value
 * from a record or a statement goes through inline(). Pure: returns text and --json data.
 */
import type { StagedRecord } from '../core/record.js'
import type { RefusalCode, Tally } from '../core/approval-count.js'
import { formatTime } from './format.js'
import { inline } from './sanitize.js'
import type { Style } from './output.js'

/** What this run did about the approver's own signature. */
export type Signed = 'signed' | 'already' | 'none'

/** The count after an approval (src/flows/quorum-approve.ts). */
export interface QuorumView {
  tally: Tally
  signed: Signed
  /** The approver's principal, when they signed or had signed. */
  by?: string
}

/** An approval stored while the quorum is not met: nothing was published. */
export interface AwaitingView {
  record: StagedRecord
  quorum: QuorumView
  now: Date
}

export const REFUSAL_WORDING: Record<RefusalCode, string> = {
  malformed: 'it is not a readable approval',
  'other-release': 'it was signed for another release (package, version or bytes)',
  namespace: 'it is an SSH signature for another purpose (not the stage-publish approval namespace)',
  'key-mismatch': 'the key it names is not the key that signed it',
  unlisted: 'its key is not listed for that signer in allowed_signers',
  signature: 'its signature does not verify: the statement was changed after signing, or the signature is forged',
  self: 'the signer staged this release (allowSelfApproval is not set)',
  duplicate: 'the same signer (or key) counts once',
}

export const countLine = (t: Tally): string =>
  `${t.counted.length} of ${t.required} approval${t.required === 1 ? '' : 's'}; ${t.met ? 'the quorum is met' : `${t.needed} more needed`}`

export function quorumJson(t: Tally): Record<string, unknown> {
  return {
    required: t.required,
    count: t.counted.length,
    needed: t.needed,
    met: t.met,
    signers: t.counted.map((c) => ({ principal: c.principal, keyid: c.fingerprint, at: c.at })),
    refused: t.refused.map((r) => ({ index: r.index, code: r.code, ...(r.principal && { principal: r.principal }), ...(r.why && { detail: r.why }) })),
  }
}

/** One warning per stored approval that does not count (duplicates are not news). */
export function refusedLines(t: Tally): string[] {
  return t.refused
    .filter((r) => r.code !== 'duplicate')
    .map((r) => `approval #${r.index + 1}${r.principal ? ` (claims to be ${inline(r.principal)})` : ''} does not count: ${REFUSAL_WORDING[r.code]}${r.why ? ` (${inline(r.why)})` : ''}`)
}

export function awaitingJson({ record, quorum }: AwaitingView): Record<string, unknown> {
  return {
    id: record.id,
    name: record.packageName,
    version: record.version,
    registry: record.registry,
    state: record.state,
    published: false,
    signed: quorum.signed,
    ...(quorum.by && { by: quorum.by }),
    approvals: quorumJson(quorum.tally),
  }
}

export function renderAwaiting({ record, quorum }: AwaitingView): string {
  const what = `${inline(record.packageName)}@${inline(record.version)}`
  const did = quorum.signed === 'signed' ? `Approved ${what} as ${inline(quorum.by)}` : quorum.signed === 'already' ? `${inline(quorum.by)} had already approved ${what}` : what
  return `${did}: ${countLine(quorum.tally)}. Nothing was published.`
}

/** `approvals <id>`: the count, each signer, and each stored approval that does not count. */
export function renderApprovalList(view: { record: StagedRecord; tally: Tally; now: Date }, style: Style): string {
  const { record, tally, now } = view
  return [
    style('bold', `${inline(record.packageName)}@${inline(record.version)} (${inline(record.id)}): ${countLine(tally)}`),
    ...tally.counted.map((c) => `  ✓ ${inline(c.principal)}  ${inline(c.fingerprint)}  ${inline(formatTime(c.at, now))}`),
    ...refusedLines(tally).map((l) => style('red', `  ✗ ${l}`)),
  ].join('\n')
}

/** What `verify-approvals` found (src/flows/quorum-verify.ts). */
export interface VerifiedApprovalsView {
  name: string
  version: string
  registry: string
  /** The integrity the registry serves now. */
  integrity: string
  /** Where the statements came from: the backend's location or the bundle file. */
  source: string
  tally: Tally
}

export const verifiedJson = (v: VerifiedApprovalsView): Record<string, unknown> => ({
  ok: v.tally.met,
  name: v.name,
  version: v.version,
  registry: v.registry,
  integrity: v.integrity,
  source: v.source,
  approvals: quorumJson(v.tally),
})

/** Why verification failed, in one line (the error's summary). */
export function verifyFailure(v: VerifiedApprovalsView): string {
  const other = v.tally.refused.filter((r) => r.code === 'other-release').length
  return `${v.name}@${v.version} as ${v.registry} serves it (${v.integrity}) has ${countLine(v.tally)}${other ? `; ${other} approval${other === 1 ? ' was' : 's were'} signed for other bytes or another release` : ''}`
}

export function renderVerified(v: VerifiedApprovalsView, style: Style): string {
  const head = v.tally.met
    ? style('green', `✓ ${inline(v.name)}@${inline(v.version)}: ${countLine(v.tally)} for the bytes ${inline(v.registry)} serves (${inline(v.integrity)})`)
    : style('red', `✗ ${inline(verifyFailure(v))}`)
  return [
    head,
    ...v.tally.counted.map((c) => `  ✓ ${inline(c.principal)}  ${inline(c.fingerprint)}  ${inline(c.at)}`),
    ...refusedLines(v.tally).map((l) => `  ✗ ${l}`),
    `  (statements from ${inline(v.source)})`,
  ].join('\n')
}
