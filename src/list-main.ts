/**
 * `stage-publish list` without commander and the other eleven commands: a maintainer's most frequent command
 * starts about as fast as `--version`. bin/stage-publish.js tries this first for `list` and `ls`; scripts/build.mjs
 * builds it on its own into dist/list.js, with the local backend only.
 *
 * It takes only command lines it reads exactly as commander reads them (parseListArgs) and only a local
 * backend; for anything else (--help, --older-than, --registry, a mistake, S3, a registry) it answers
 * undefined before doing anything, and the bin runs the full CLI, which parses and reports it. What it
 * runs is the command's own runList: the same flow, renderer and output, byte for byte
 * (test/e2e/list-fast-path.test.ts compares the two).
 */
import { chosenBackendUrl, defaultDeps, type Deps } from './flows/context.js'
import { parseBackendUrl } from './backends/index.js'
import { parseListLimit, runList, type ListOptions } from './commands/list-run.js'
import { failureOptionsOf, reportFailure } from './commands/failure.js'
import { quietOnClosedPipe } from './ui/closed-pipe.js'

export interface ParsedList {
  packageName?: string
  opts: ListOptions
}

/**
 * `list|ls [package-name] [--all] [--json] [--color|--no-color] [--limit <n>] [--backend <url>]` (either option
 * also as --opt=value), in any order, as commander parses it (the last --color/--no-color wins); undefined
 * for anything else, including what commander would refuse.
 */
export function parseListArgs(args: readonly string[]): ParsedList | undefined {
  if (args[0] !== 'list' && args[0] !== 'ls') return undefined
  const opts: ListOptions = {}
  let packageName: string | undefined
  for (let i = 1; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--all') opts.all = true
    else if (arg === '--json') opts.json = true
    else if (arg === '--color') opts.color = true
    else if (arg === '--no-color') opts.color = false
    else if (arg.startsWith('--backend') || arg.startsWith('--limit')) {
      const eq = arg.indexOf('=')
      const name = eq === -1 ? arg : arg.slice(0, eq)
      // A value that looks like an option, or none: left to commander's own rules and messages.
      const value = eq === -1 ? args[++i] : arg.slice(eq + 1)
      if (value === undefined || value === '' || value.startsWith('-')) return undefined
      if (name === '--backend') opts.backend = value
      else if (name === '--limit') {
        const limit = parseListLimit(value)
        if (limit === undefined) return undefined
        opts.limit = limit
      } else return undefined
    } else if (arg.startsWith('-') || arg === '' || packageName !== undefined) return undefined
    else packageName = arg
  }
  return { ...(packageName !== undefined && { packageName }), opts }
}

/** The exit code of `list` run here, or undefined: not one for the fast path (nothing was done or printed). */
export async function listMain(argv: readonly string[], deps: () => Deps = defaultDeps): Promise<number | undefined> {
  const parsed = parseListArgs(argv.slice(2))
  if (!parsed) return undefined
  const d = deps()
  try {
    if (parseBackendUrl(await chosenBackendUrl(parsed.opts, d), d.cwd).kind !== 'file') return undefined
  } catch {
    // A package.json that does not parse, a backend URL that is not one: the full CLI says so.
    return undefined
  }
  quietOnClosedPipe([d.stdout, d.stderr])
  try {
    await runList(parsed.packageName, parsed.opts, d)
    return 0
  } catch (err) {
    return reportFailure(err, failureOptionsOf(argv), d)
  }
}
