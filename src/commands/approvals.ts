/** `stage-publish approvals <id>`: a release's signed approvals, each verified again, and how far the quorum is. */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { ApprovalsRequest } from '../flows/quorum-list.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { requiredOption } from './flags.js'

export interface ApprovalsOptions extends CommonOptions, ApprovalsRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('approvals <id>')
    .description('list the signed approvals of a staged release (stagePublish.approvals), each verified against allowed_signers')
    .option('--allowed-signers <file>', "verify against this allowed_signers file instead of the project's stagePublish.approvals")
    .addOption(requiredOption('count against this many required signers instead of the policy'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the count, the signers and what does not count as JSON')
    .action(async (id: string, opts: ApprovalsOptions) => runApprovals(id, opts, deps()))
}

export async function runApprovals(rawId: string, opts: ApprovalsOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { listApprovals } = await import('../flows/quorum-list.js')
  const { quorumJson, renderApprovalList } = await import('../ui/render-approvals.js')
  const result = await listApprovals(rawId, requestOf(opts), deps)
  out.data({ id: result.record.id, name: result.record.packageName, version: result.record.version, state: result.record.state, approvals: quorumJson(result.tally) })
  out.line(renderApprovalList(result, out.style))
}
