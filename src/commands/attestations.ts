/**
 * `stage-publish attestations <id>`: the release's approvals that verify, one DSSE envelope per line
 * (JSON lines), for attaching to a GitHub release or feeding to `verify-approvals --bundle`.
 */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { ApprovalsRequest } from '../flows/quorum-list.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { requiredOption } from './flags.js'

export interface AttestationsOptions extends CommonOptions, ApprovalsRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('attestations <id>')
    .description('print the verified approval attestations of a staged release as JSON lines (DSSE envelopes)')
    .option('--allowed-signers <file>', "verify against this allowed_signers file instead of the project's stagePublish.approvals")
    .addOption(requiredOption('count against this many required signers instead of the policy'))
    .option('--backend <url>', 'where releases are staged')
    .action(async (id: string, opts: AttestationsOptions) => runAttestations(id, opts, deps()))
}

export async function runAttestations(rawId: string, opts: AttestationsOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { listApprovals } = await import('../flows/quorum-list.js')
  const { refusedLines } = await import('../ui/render-approvals.js')
  const result = await listApprovals(rawId, requestOf(opts), deps)
  for (const line of refusedLines(result.tally)) out.warn(`left out: ${line}`)
  // Written as they are, not through the redacting door: each is a strictly read envelope (fixed strings,
  // base64 and a fingerprint), and redaction could rewrite base64 that happens to read like `otp=`.
  for (const envelope of result.verified) deps.stdout.write(`${JSON.stringify(envelope)}\n`)
}
