/** `stage-publish list [<package-name>]`: what is waiting for approval, newest first. */
import { InvalidArgumentError, type Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import { durationMs, registryOption } from './flags.js'
import { parseListLimit, runList, type ListOptions } from './list-run.js'

/** Kept in step with DEFAULT_LIST_LIMIT (src/ui/render-list.ts), which the command does not load for --help. */
const DEFAULT_LIST_LIMIT = 100

/** `--limit <n>`: a whole number, 0 for no limit. */
function listLimit(value: string): number {
  const limit = parseListLimit(value)
  if (limit === undefined) throw new InvalidArgumentError('needs a whole number of releases, 0 for all')
  return limit
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('list [package-name]')
    .alias('ls')
    .description('list staged releases waiting for approval, newest first')
    .option('--all', 'include approved, rejected and expired releases')
    .option('--older-than <duration>', 'only releases staged longer ago than this, e.g. 3d, 12h (reminders)', durationMs)
    .addOption(registryOption('with --backend registry: the registry whose staged items to list (default: from .npmrc)'))
    .option('--backend <url>', 'where releases are staged (default: STAGE_PUBLISH_BACKEND, package.json stagePublish.backend, or the local directory)')
    .option('--limit <n>', `show at most this many releases, the newest (default ${DEFAULT_LIST_LIMIT}; 0: all); --json lists all`, listLimit)
    .option('--json', 'print the records as JSON')
    .action(async (name: string | undefined, opts: ListOptions & { olderThan?: number }) => {
      const { olderThan, ...rest } = opts
      await runList(name, { ...rest, ...(olderThan !== undefined && { olderThanMs: olderThan }) }, deps())
    })
}
