/**
 * `stage-publish wait <id|set-id>`: blocks until the release (every member of a set) is approved and
 * served by the registry (exit 0), one is rejected, expired or removed (exit 1), or --timeout passes
 * (exit 124, EXIT_TIMEOUT). For pipelines that tag after the version is public.
 */
import type { Command } from 'commander'
import { EXIT_FAILURE, EXIT_TIMEOUT, StagePublishError } from '../errors.js'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { WaitRequest } from '../flows/wait.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { durationMs, registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface WaitOptions extends CommonOptions, WaitRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('wait <id>')
    .description('wait until a staged release (or every release of a set) is approved and published (exit 0), rejected or expired (exit 1), or --timeout passes (exit 124)')
    .option('--timeout <duration>', 'give up after this long, e.g. 30m, 6h (default 6h)', durationMs)
    .option('--interval <duration>', 'the longest pause between two checks (default 30s; they start at 2s and grow)', durationMs)
    .addOption(registryOption('the registry to confirm the publication on (default: where the release was staged for)'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the outcome as JSON')
    .action(async (id: string, opts: WaitOptions & { timeout?: number; interval?: number }) => {
      const { timeout, interval, ...rest } = opts
      await runWait(id, { ...rest, ...(timeout !== undefined && { timeoutMs: timeout }), ...(interval !== undefined && { maxIntervalMs: interval }) }, deps())
    })
}

export async function runWait(rawId: string, opts: WaitOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { waitForDecision } = await import('../flows/wait.js')
  const { untilReleased } = await import('../flows/exit-guard.js')
  const { renderWait, waitJson } = await import('../ui/render-wait.js')
  // Ctrl-C (or the CI runner stopping the job) ends the wait with a line instead of a half-written progress line.
  const release = untilReleased(async () => {
    out.tell('\nStopped waiting. Nothing was changed: the release is still staged as it was.')
    await Promise.resolve()
  })
  let result
  try {
    result = await waitForDecision(rawId, requestOf(opts), deps, out)
  } finally {
    release()
  }
  out.data(waitJson(result))
  out.line(renderWait(result))
  if (result.outcome === 'approved') return
  // Printed above: only the exit code is left to set.
  if (result.outcome === 'timeout') throw new StagePublishError('EWAITTIMEOUT', 'Not decided within --timeout', { exitCode: EXIT_TIMEOUT, reported: true })
  throw new StagePublishError('ENOTAPPROVED', `Not approved: ${result.outcome}`, { exitCode: EXIT_FAILURE, reported: true })
}
