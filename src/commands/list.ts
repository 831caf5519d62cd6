/** `stage-publish list [<package-name>]`: what is waiting for approval, newest first. */
import type { Command } from 'commander'
import { backendFor, defaultDeps, type Deps } from '../flows/context.js'
import { outputFor, type CommonOptions } from './shared.js'
import { registryOption } from './flags.js'
import { inline } from '../ui/sanitize.js'
import type { StagedRecord } from '../core/record.js'
import type { CasStagingBackend } from '../backends/types.js'
import type { Output } from '../ui/output.js'

export interface ListOptions extends CommonOptions {
  all?: boolean
  /** With the registry backend: the registry whose staged items to list. */
  registry?: string
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('list [package-name]')
    .alias('ls')
    .description('list staged releases waiting for approval, newest first')
    .option('--all', 'include approved, rejected and expired releases')
    .addOption(registryOption('with --backend registry: the registry whose staged items to list (default: from .npmrc)'))
    .option('--backend <url>', 'where releases are staged (default: STAGE_PUBLISH_BACKEND, package.json stagePublish.backend, or the local directory)')
    .option('--json', 'print the records as JSON')
    .action(async (name: string | undefined, opts: ListOptions) => runList(name, opts, deps()))
}

export async function runList(packageName: string | undefined, opts: ListOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { effectiveState, isWaiting } = await import('../core/record.js')
  const backend = await backendFor(opts, deps)
  const now = deps.now()
  const found = await backend.listRecords({
    ...(packageName && { packageName }),
    onCorrupt: (id, err) => out.warn(`skipped ${inline(id)}: ${inline(err.message)}`),
  })
  const items = found
    .map(({ record }) => ({ record, state: effectiveState(record, now) }))
    .filter(({ state }) => opts.all || isWaiting(state))
  if (out.json) {
    out.data(items.map(({ record, state }) => ({ ...record, state })))
    return
  }
  if (items.length === 0) {
    const what = packageName ? `of ${packageName} ` : ''
    out.line(opts.all ? `No staged releases ${what}in ${backend.location}.` : `No staged releases ${what}waiting for approval in ${backend.location}.`)
    return
  }
  const { renderList } = await import('../ui/render.js')
  out.line(renderList(backend.native ? items : await groupedAsListed(backend, items, out), now, out.style))
  const { followUp } = await import('../flows/follow-up.js')
  const sets = items.some(({ record }) => record.setId) ? `, a release set with \`${followUp(backend, 'approve <set-id>')}\`` : ''
  // A registry keeps no approved, rejected or expired items: there is nothing more for --all to show.
  const more = opts.all || backend.native ? '' : `; \`${followUp(backend, `list${packageName ? ` ${packageName}` : ''} --all`)}\` shows approved, rejected and expired ones too`
  out.notice(out.style('dim', `Approve one with \`${followUp(backend, 'approve <id>')}\`${sets}${more}.`))
}

/**
 * A release set is what its set object lists, not what records claim: a record that claims a set which
 * does not list it (or whose set object is missing or corrupt) is shown on its own, with a warning.
 */
async function groupedAsListed<T extends { record: StagedRecord }>(backend: CasStagingBackend, items: T[], out: Output): Promise<T[]> {
  const listed = new Map<string, Set<string>>()
  for (const setId of new Set(items.flatMap(({ record }) => (record.setId ? [record.setId] : [])))) {
    const set = await backend.getSet(setId).catch(() => null)
    listed.set(setId, new Set(set?.members.map((m) => m.id) ?? []))
  }
  return items.map((item) => {
    const { setId } = item.record
    if (!setId || listed.get(setId)?.has(item.record.id)) return item
    out.warn(`${inline(item.record.id)} claims release set ${inline(setId)}, which does not list it: it is not part of that set (approving it is refused)`)
    const { setId: _claimed, ...record } = item.record
    return { ...item, record }
  })
}
