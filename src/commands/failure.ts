/**
 * How a command that failed ends: what went wrong, said once on stderr (or as the --json error document), and
 * the exit code. Shared by the full CLI (src/cli.ts) and `list`'s fast path (src/list-main.ts).
 */
import { EXIT_FAILURE, exitCodeOf, isStagePublishError } from '../errors.js'
import { createOutput } from '../ui/output.js'
import type { Deps } from '../flows/context.js'

/** --json and --color as an error report reads them off the command line (a failed parse has no options). */
export const failureOptionsOf = (argv: readonly string[]): { json: boolean; color: boolean | undefined } => ({
  json: argv.includes('--json'),
  color: argv.includes('--no-color') ? false : argv.includes('--color') ? true : undefined,
})

export function reportFailure(err: unknown, opts: { json: boolean; color: boolean | undefined }, deps: Deps): number {
  // A batch that printed its summary (what was and was not published) has nothing more to say.
  if (isStagePublishError(err) && err.reported) return err.exitCode
  createOutput({ json: opts.json, stdout: deps.stdout, stderr: deps.stderr, color: opts.color, env: deps.env }).error(err)
  return exitCodeOf(err) || EXIT_FAILURE
}
