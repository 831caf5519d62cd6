/**
 * Commander wiring only. `buildProgram` is exported so tests can parse argv without running;
 * `main` turns every outcome into an exit code: 0 success, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander'
import { createRequire } from 'node:module'
import { EXIT_OK, EXIT_USAGE } from './errors.js'
import { failureOptionsOf, reportFailure } from './commands/failure.js'
import { defaultDeps, type Deps } from './flows/context.js'
import * as publish from './commands/publish.js'
import * as list from './commands/list.js'
import * as view from './commands/view.js'
import * as approve from './commands/approve.js'
import * as reject from './commands/reject.js'
import * as download from './commands/download.js'
import * as diff from './commands/diff.js'
import * as wait from './commands/wait.js'
import * as doctor from './commands/doctor.js'
import * as approvals from './commands/approvals.js'
import * as attestations from './commands/attestations.js'
import * as verifyApprovals from './commands/verify-approvals.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

export function buildProgram(deps: () => Deps = defaultDeps): Command {
  const program = new Command('stage-publish')
    .description('A drop-in replacement for `npm publish` that stages the release for a human to approve with 2FA.\nMachines propose releases; maintainers ratify them with a one-time password.')
    .version(version, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  for (const command of [publish, list, view, diff, approve, reject, download, approvals, attestations, verifyApprovals, wait, doctor]) command.register(program, deps)
  for (const sub of program.commands) {
    sub.exitOverride()
    // Every command (staging is the default one) takes both; src/ui/color.ts says what wins over what.
    sub.option('--color', 'colour the output even when it is not a terminal').option('--no-color', 'never colour the output (as NO_COLOR=1 does)')
  }
  program.addHelpText(
    'after',
    `
Examples:
  $ npx stage-publish                    stage the package in this folder (as npm publish would publish it)
  $ stage-publish list                   what is waiting for approval
  $ stage-publish view 3f2a9c1e          one release and its review (ids may be shortened to 8+ characters)
  $ stage-publish diff 3f2a9c1e          what changed against the published version, file by file
  $ stage-publish approve 3f2a9c1e       verify, confirm, enter your one-time password, publish
  $ npx stage-publish --workspaces       stage every public workspace package as one release set
  $ stage-publish approve <set-id>       publish a release set, dependencies first, with one one-time password
  $ stage-publish approve --all          every pending release: one review each, one confirmation, one code
  $ stage-publish doctor                 check backend access, npm login, 2FA and CI tokens for your role
  $ stage-publish wait 3f2a9c1e          block until it is approved and published (0), rejected (1) or --timeout (124)

Backends: --backend file:<dir> | s3://<bucket>/<prefix>?region=&endpoint=&forcePathStyle=true
          | registry | registry+https://<host>/<path>/   (a registry's own npm staging API)
          (or STAGE_PUBLISH_BACKEND, or package.json "stagePublish": { "backend": ... })`,
  )
  return program
}

export { quietOnClosedPipe } from './ui/closed-pipe.js'

export async function main(argv: string[], deps: () => Deps = defaultDeps): Promise<number> {
  const program = buildProgram(deps)
  try {
    await program.parseAsync(argv)
    return EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK
      // Commander has already printed what was wrong with the command line.
      return EXIT_USAGE
    }
    return reportFailure(err, failureOptionsOf(argv), deps())
  }
}
