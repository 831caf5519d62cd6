/**
 * M-of-N approvals on record stores: the policy of the approver's own project, and counting a
 * release's stored approvals. Every stored approval is checked again at every count (what it names,
 * its namespace and key, then its signature by ssh-keygen against allowed_signers), so nothing an
 * attacker writes into a record counts: a statement for another release, a tampered one, a forged
 * signature or an unlisted key are each refused and said so.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { SIGNING_NAMESPACE } from '../core/approval-envelope.js'
import { precheckApproval } from '../core/approval-check.js'
import { tallyApprovals, type CheckedApproval, type Tally } from '../core/approval-count.js'
import { parseApprovalPolicy, type ApprovalPolicy } from '../core/approval-policy.js'
import { MAX_SIGNERS_FILE, parseAllowedSigners, type SignerEntry } from '../core/approval-signers.js'
import { PRINCIPAL_RE, sha512Hex, type ApprovalSubject } from '../core/approval-statement.js'
import type { StagedRecord } from '../core/record.js'
import { isNative, type StagingBackend } from '../backends/types.js'
import { sshVerify } from '../origin/ssh-sign.js'
import { readProjectStageConfig } from './context.js'

export interface Signers {
  /** Absolute path of the allowed_signers file (ssh-keygen reads it). */
  path: string
  entries: SignerEntry[]
}

export interface Quorum {
  policy: ApprovalPolicy
  signers: Signers
}

/** The backends that can hold approvals (records of ours, changed by compare-and-set). */
export const QUORUM_BACKENDS = 'a local directory (--backend file:<dir>) or an S3 bucket (--backend s3://<bucket>/<prefix>)'

/** package.json `stagePublish.approvals` of the approver's project (never the staged package), or null when there is none. */
export async function loadQuorum(cwd: string): Promise<Quorum | null> {
  const { config, dir } = await readProjectStageConfig(cwd)
  const where = `${dir ? `${dir}/` : ''}package.json stagePublish.approvals`
  const policy = parseApprovalPolicy(config?.approvals, where)
  if (!policy) return null
  return { policy, signers: await readSigners(path.resolve(dir ?? cwd, policy.allowedSigners), where) }
}

/** Reads an allowed_signers file (bounded). A file that lists no key is a configuration error. */
export async function readSigners(file: string, named = 'the allowed_signers file'): Promise<Signers> {
  const stat = await fs.stat(file).catch(() => undefined)
  if (!stat?.isFile()) throw new StagePublishError('ECONFIG', `The allowed_signers file ${file} (from ${named}) does not exist`, { hint: 'Create it in OpenSSH allowed_signers format (`<principal> <key type> <key>` per line, as git uses for SSH commit signing), or fix the path.' })
  if (stat.size > MAX_SIGNERS_FILE) throw new StagePublishError('ECONFIG', `The allowed_signers file ${file} is larger than ${MAX_SIGNERS_FILE / 1024} KiB`, { hint: 'List only the people who approve releases.' })
  const entries = parseAllowedSigners(await fs.readFile(file, 'utf8'))
  if (!entries.length) throw new StagePublishError('ECONFIG', `The allowed_signers file ${file} lists no usable key`, { hint: 'Each line: `<principal> [namespaces="stage-publish-approval@v1"] <key type> <base64 key>`; principals that are patterns do not name anyone.' })
  return { path: file, entries }
}

/** Refuses M-of-N approvals on a backend that cannot store them, naming the ones that can. */
export function requireQuorumBackend(backend: StagingBackend): void {
  if (!isNative(backend)) return
  throw new StagePublishError('ENOQUORUM', `${backend.location} cannot hold approvals: a registry's staging API keeps no records of ours, so package.json stagePublish.approvals (M-of-N signed approvals) is not available there`, {
    hint: `Stage to ${QUORUM_BACKENDS}, which support it; or approve from a project without stagePublish.approvals. Nothing was changed.`,
  })
}

/** What a release's statements must name: its package, version and the sha512 of its verified bytes. */
export function subjectOf(record: Pick<StagedRecord, 'packageName' | 'version'>, integrity: string | undefined): ApprovalSubject {
  const sha512 = sha512Hex(integrity)
  if (!sha512) throw new StagePublishError('EINTEGRITY', `${record.packageName}@${record.version} has no sha512 to approve`, { hint: 'Approvals bind the tarball\'s sha512: stage it to a local or S3 backend.' })
  return { name: record.packageName, version: record.version, sha512 }
}

/**
 * The most signatures one count hands to ssh-keygen: a record holds at most 32 approvals, but
 * verify-approvals reads every record of a version, and an attacker may write many.
 */
export const MAX_VERIFICATIONS = 128

/** Checks each stored approval: statically (./core/approval-check.ts), then its signature with ssh-keygen. */
export async function checkApprovals(envelopes: readonly unknown[], subject: ApprovalSubject, signers: Signers, env: NodeJS.ProcessEnv): Promise<CheckedApproval[]> {
  const checked: CheckedApproval[] = []
  // A copy of an approval is verified once (copies are then counted once by the tally).
  const seen = new Map<string, { ok: true } | { ok: false; why: string }>()
  for (const [index, raw] of envelopes.entries()) {
    const pre = precheckApproval(raw, index, subject)
    if (!pre.ok) {
      checked.push(pre.failed)
      continue
    }
    const { next } = pre
    const copy = `${next.envelope.payload}.${next.envelope.signatures[0].sig}`
    let verified = seen.get(copy)
    if (!verified) {
      if (seen.size >= MAX_VERIFICATIONS) {
        checked.push({ index, ok: false, code: 'malformed', why: `more than ${MAX_VERIFICATIONS} distinct approvals to verify; the rest are not checked`, principal: next.principal })
        continue
      }
      verified = await sshVerify({ data: next.data, signature: next.signature, principal: next.principal, allowedSigners: signers.path, namespace: SIGNING_NAMESPACE }, env)
      seen.set(copy, verified)
    }
    if (verified.ok) {
      checked.push({ index, ok: true, principal: next.principal, fingerprint: next.fingerprint, at: next.statement.predicate.approvedAt })
    } else {
      // A listed key whose signature fails was tampered with or forged; a key the file does not list is unlisted.
      const listed = signers.entries.some((e) => e.fingerprint === next.fingerprint && e.principals.includes(next.principal))
      checked.push({ index, ok: false, code: listed ? 'signature' : 'unlisted', why: verified.why, principal: next.principal })
    }
  }
  return checked
}

/** The record's claimed staging identity, when it could be a principal: it does not count toward its own release. */
export const stagerOf = (record: StagedRecord): string | undefined => (PRINCIPAL_RE.test(record.actor) ? record.actor : undefined)

/** Counts a release's stored approvals under the policy. */
export async function countApprovals(record: StagedRecord, subject: ApprovalSubject, quorum: Quorum, env: NodeJS.ProcessEnv): Promise<Tally> {
  const checked = await checkApprovals(record.approvals ?? [], subject, quorum.signers, env)
  return tallyApprovals(checked, quorum.policy, stagerOf(record))
}
