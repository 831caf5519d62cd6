/** `stage-publish reject <id>`: keeps the record for the audit trail, deletes the bytes. */
import type { Command } from 'commander'
import { StagePublishError } from '../errors.js'
import { defaultDeps, backendFor, findRecord, outputFor, type CommonOptions, type Deps } from './shared.js'

export interface RejectOptions extends CommonOptions {
  reason?: string
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('reject <id>')
    .description('reject a staged release: the record stays for the audit trail, the tarball is deleted')
    .option('--reason <text>', 'why, recorded with who and when')
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the updated record as JSON')
    .action(async (id: string, opts: RejectOptions) => runReject(id, opts, deps()))
}

export async function runReject(rawId: string, opts: RejectOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { localActor } = await import('../origin/origin.js')
  const backend = await backendFor(opts, deps)
  let current = await findRecord(backend, rawId)
  for (let attempt = 0; ; attempt++) {
    const { record, etag } = current
    if (record.state === 'approved' || record.state === 'approving') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) is ${record.state}${record.approvedBy ? ` by ${record.approvedBy}` : ''}; it can no longer be rejected`, {
        hint: record.state === 'approved' ? 'It is published. To withdraw it, deprecate it (npm deprecate) or unpublish it within npm\'s rules.' : 'Wait for the approval to finish, then check with `stage-publish view`.',
      })
    }
    if (record.state === 'rejected') break
    const now = deps.now().toISOString()
    const next = { ...record, state: 'rejected' as const, rejectedAt: now, rejectedBy: localActor(), ...(opts.reason && { rejectReason: opts.reason }) }
    const result = await backend.updateRecord(next, etag)
    if (result.updated) {
      current = { record: next, etag: result.etag }
      break
    }
    // Someone changed it between our read and our write: read again and decide again.
    const again = attempt < 5 ? await backend.getRecord(record.id) : null
    if (!again) throw new StagePublishError('ECONFLICT', `The staged release ${record.id} changed while rejecting it`, { hint: 'Run the command again.' })
    current = again
  }
  // After the record says rejected, the bytes go. A crash in between leaves bytes nobody can approve;
  // running reject again removes them.
  await backend.deleteTarball(current.record.id)
  const r = current.record
  if (out.json) {
    out.data(r)
    return
  }
  out.line(`- ${r.packageName}@${r.version} rejected (id ${r.id})${r.rejectReason ? `: ${r.rejectReason}` : ''}`)
}
