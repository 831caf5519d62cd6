/**
 * `stage-publish approvals <id>` and `attestations <id>`: a release's stored approvals, each verified
 * again (statement, namespace, key, signature against allowed_signers) against the release as its
 * bytes prove it, under the project's stagePublish.approvals or --allowed-signers / --required.
 */
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { tallyApprovals, type CheckedApproval, type Tally } from '../core/approval-count.js'
import type { ApprovalEnvelope } from '../core/approval-envelope.js'
import type { StagedRecord } from '../core/record.js'
import { backendFor, findRecord, type BackendRequest, type Deps } from './context.js'
import { checkApprovals, loadQuorum, readSigners, requireQuorumBackend, stagerOf, subjectOf, type Quorum } from './quorum.js'
import { loadVerified } from './verify.js'

export interface ApprovalsRequest extends BackendRequest {
  /** An allowed_signers file instead of the project's stagePublish.approvals.allowedSigners. */
  allowedSigners?: string
  required?: number
}

export interface ApprovalsResult {
  record: StagedRecord
  tally: Tally
  /** The stored envelopes that verify (what `attestations` prints). */
  verified: ApprovalEnvelope[]
  now: Date
}

/** The policy to count by: flags win over the project's; one of them must name the signers. */
export async function quorumFor(opts: { allowedSigners?: string; required?: number }, deps: Deps): Promise<Quorum> {
  const project = await loadQuorum(deps.cwd)
  if (opts.allowedSigners !== undefined) {
    const signers = await readSigners(path.resolve(deps.cwd, opts.allowedSigners), '--allowed-signers')
    return { policy: { required: opts.required ?? project?.policy.required ?? 2, allowedSigners: opts.allowedSigners, allowSelfApproval: project?.policy.allowSelfApproval ?? false }, signers }
  }
  if (!project) {
    throw new StagePublishError('ECONFIG', 'No allowed_signers to check approvals against', {
      hint: 'Pass --allowed-signers <file>, or run it in a project whose package.json sets stagePublish.approvals.',
    })
  }
  return opts.required === undefined ? project : { ...project, policy: { ...project.policy, required: opts.required } }
}

export async function listApprovals(rawId: string, opts: ApprovalsRequest, deps: Deps): Promise<ApprovalsResult> {
  const quorum = await quorumFor(opts, deps)
  const backend = await backendFor(opts, deps)
  requireQuorumBackend(backend)
  const { record } = await findRecord(backend, rawId)
  // The release as its bytes prove it while they exist; a rejected release's bytes are deleted, so its record's sha512 stands in.
  const integrity = record.state === 'rejected' ? record.integrity : (await loadVerified(backend, record)).record.integrity
  const envelopes = record.approvals ?? []
  const checked: CheckedApproval[] = await checkApprovals(envelopes, subjectOf(record, integrity), quorum.signers, deps.env)
  const tally = tallyApprovals(checked, quorum.policy, stagerOf(record))
  const verified = envelopes.filter((_, i) => checked[i]?.ok)
  return { record, tally, verified, now: deps.now() }
}
