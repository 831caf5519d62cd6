/**
 * `stage-publish reject <id>`: record stores keep the record for the audit trail and delete the bytes;
 * a registry that stages natively deletes its item (with your one-time password).
 */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { RejectRequest } from '../flows/reject.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { authTypeOption, registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface RejectOptions extends CommonOptions, RejectRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('reject <id>')
    .description('reject a staged release: the record stays for the audit trail, the tarball is deleted')
    .option('--reason <text>', 'why, recorded with who and when')
    .option('--force', 'remove a corrupt record (one that does not parse) and its tarball, keeping an audit entry (needs --reason)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--otp <code>', 'registry backend: the one-time password the registry asks for to delete the staged item')
    .addOption(authTypeOption('registry backend: legacy (a code, default) or web (browser sign-in)'))
    .addOption(registryOption('with --backend registry: the registry whose staged item to reject (default: from .npmrc)'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the updated record as JSON')
    .action(async (id: string, opts: RejectOptions) => runReject(id, opts, deps()))
}

export async function runReject(rawId: string, opts: RejectOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { rejectRelease } = await import('../flows/reject.js')
  const { rejectJson, renderReject, renderRejectWarning } = await import('../ui/render-reject.js')
  const result = await rejectRelease(rawId, requestOf(opts), deps, out)
  const warning = renderRejectWarning(result)
  if (warning) out.warn(warning)
  out.data(rejectJson(result))
  out.line(renderReject(result))
}

