/**
 * `stage-publish approve <id|set-id> [<id>...] | --package <name> | --all`: verify the staged bytes,
 * show what is being approved, ask for confirmation and a one-time password (once for a batch), then
 * publish with the approver's own npm credentials, dependencies first.
 */
import { Option, type Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { ApproveRequest } from '../flows/approve.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { authTypeOption, registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface ApproveOptions extends CommonOptions, ApproveRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('approve [ids...]')
    .description('verify staged releases (an id, several, or a release set id), then publish them with your npm credentials and one one-time password')
    .option('--package <name>', 'approve every pending release of this package')
    .option('--all', 'approve every pending release')
    .option('--otp <code>', 'one-time password from your authenticator (required without a terminal); reused for every release of a batch')
    .option('-y, --yes', 'skip the confirmation question (the one-time password is still required)')
    .addOption(registryOption('publish to this registry instead of the one recorded at staging (shown before you confirm)'))
    .addOption(authTypeOption('legacy: ask for a code from your authenticator (default); web: sign in through the browser URL the registry gives'))
    .option('--wait <duration>', 'how long to wait for another maintainer who is approving the same release (default: 60s)')
    .option('--allow <code...>', 'let these review finding codes through the stagePublish.policy of package.json, for this approval')
    .option('--expect <digest>', 'refuse unless the staged tarball has this integrity (sha512-...) or shasum (40 hex), e.g. the one CI printed')
    .option('--verify-local [dir]', 'pack this folder (default: the current one) as staging does and refuse unless every file is identical')
    .option('--ignore-scripts', 'with --verify-local: do not run prepublishOnly, prepack, prepare or postpack while packing')
    .addOption(
      new Option('--final-hop <how>', 'releases staged in a directory or bucket: publish directly, or stage on the registry\'s own staging API and approve there with your one-time password (default: auto, stage where the registry supports it)').choices(['auto', 'publish', 'stage']),
    )
    .option('--signing-key <path>', "with stagePublish.approvals: the SSH key that signs your approval (a private key, or the .pub of a key in ssh-agent; default: git's user.signingKey)")
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the result (with the review) as JSON')
    .action(async (ids: string[], opts: ApproveOptions) => runApprove(ids, opts, deps()))
}

export async function runApprove(ids: string[], opts: ApproveOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { approveRelease } = await import('../flows/approve.js')
  const outcome = await approveRelease(ids, requestOf(opts), deps, out)
  // A batch has reported its own summary (src/flows/approve-batch.ts).
  if (outcome.kind === 'batch') return
  if (outcome.kind === 'awaiting') {
    const { awaitingJson, renderAwaiting } = await import('../ui/render-approvals.js')
    out.data(awaitingJson(outcome))
    out.line(renderAwaiting(outcome))
    return
  }
  const { approvedJson, renderApproved } = await import('../ui/render-approve.js')
  out.data(approvedJson(outcome))
  out.line(renderApproved(outcome))
}

