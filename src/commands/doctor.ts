/** `stage-publish doctor`: checks the set-up, one line per check with what to do; exit 1 when something is broken. */
import { Option, type Command } from 'commander'
import { EXIT_FAILURE, StagePublishError } from '../errors.js'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { DoctorRequest } from '../flows/doctor.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface DoctorOptions extends CommonOptions, DoctorRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('doctor')
    .description('check the set-up: backend access for your role, registry, npm login, 2FA, staging API support, and in CI whether an npm token could bypass staging')
    .addOption(new Option('--role <role>', 'check for this role (default: ci on a CI runner, approver elsewhere)').choices(['ci', 'approver']))
    .addOption(registryOption('the registry to check (default: from .npmrc, for the package in this folder)'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: DoctorOptions) => runDoctorCommand(opts, deps()))
}

export async function runDoctorCommand(opts: DoctorOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { runDoctor } = await import('../flows/doctor.js')
  const { doctorJson, doctorOk, renderDoctor } = await import('../ui/render-doctor.js')
  const result = await runDoctor(requestOf(opts), deps)
  out.data(doctorJson(result))
  out.line(renderDoctor(result, out.style))
  // Printed above: only the exit code is left to set.
  if (!doctorOk(result)) throw new StagePublishError('EDOCTOR', 'doctor found problems', { exitCode: EXIT_FAILURE, reported: true })
}
