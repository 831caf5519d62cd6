/**
 * `stage-publish verify-approvals <name@version> --allowed-signers <file> [--required <n>] [--bundle <file>]`:
 * exit 0 when at least n distinct listed signers approved exactly the bytes the registry serves, 1 with the reason otherwise.
 */
import type { Command } from 'commander'
import { StagePublishError } from '../errors.js'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { VerifyApprovalsRequest } from '../flows/quorum-verify.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { registryOption, requiredOption } from './flags.js'

export interface VerifyApprovalsOptions extends CommonOptions, VerifyApprovalsRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('verify-approvals <spec>')
    .description('check that enough distinct listed signers approved exactly the bytes the registry serves for <name>@<version>')
    .option('--allowed-signers <file>', "the signers to trust (OpenSSH allowed_signers; default: the project's stagePublish.approvals)")
    .addOption(requiredOption("how many distinct signers (default: the project's stagePublish.approvals.required, else 2)"))
    .option('--bundle <file>', 'read the attestations from this file (JSON lines from `stage-publish attestations`) instead of the backend')
    .addOption(registryOption('the registry whose published version to check (default: from .npmrc)'))
    .option('--backend <url>', 'where releases are staged (when no --bundle is given)')
    .option('--json', 'print the result as JSON')
    .action(async (spec: string, opts: VerifyApprovalsOptions) => runVerifyApprovals(spec, opts, deps()))
}

export async function runVerifyApprovals(spec: string, opts: VerifyApprovalsOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { verifyApprovals } = await import('../flows/quorum-verify.js')
  const { renderVerified, verifiedJson, verifyFailure } = await import('../ui/render-approvals.js')
  const result = await verifyApprovals(spec, requestOf(opts), deps)
  out.data(verifiedJson(result))
  out.line(renderVerified(result, out.style))
  // The result is printed (it says why); the exit code is what a CI gate reads.
  if (!result.tally.met) throw new StagePublishError('EAPPROVALS', verifyFailure(result), { reported: true })
}
