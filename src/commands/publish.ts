/**
 * `stage-publish [publish] [<folder|tarball>]`: packs exactly as `npm publish` would and stages
 * the result in the backend instead of the registry. Nothing becomes public.
 */
import type { Command } from 'commander'
import { StagePublishError } from '../errors.js'
import type { StageRequest } from '../flows/stage.js'
import { defaultDeps, type Deps } from '../flows/context.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { accessOption, registryOption } from './flags.js'

/** What commander parses: the staging flows' request, what only this command uses, and the options every command has. */
export interface PublishOptions extends CommonOptions, StageRequest {
  /** Accepted and ignored, so `npm publish --otp` lines keep working (a notice says so). */
  otp?: string
  /** -w <name|path>: these workspaces (repeatable). */
  workspace?: string[]
  /** --workspaces: every workspace. */
  workspaces?: boolean
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('publish [folder-or-tarball]', { isDefault: true })
    .description('stage a package for approval, packed exactly as `npm publish` packs it (the default command)')
    .option('--tag <tag>', 'dist-tag to publish under once approved (default: latest, or publishConfig.tag)')
    .addOption(accessOption('public or restricted (default: publishConfig.access or the registry default)'))
    .addOption(registryOption('registry to publish to once approved (default: from .npmrc / publishConfig)'))
    .option('--backend <url>', 'where to stage: file:<dir>, s3://<bucket>/<prefix>?..., registry, registry+https://<host>/ (default: STAGE_PUBLISH_BACKEND, package.json stagePublish.backend, or a local directory)')
    .option('-w, --workspace <name>', 'stage this workspace (name or folder; repeat for more) as part of one release set', (value: string, list?: string[]) => [...(list ?? []), value])
    .option('--workspaces', 'stage every public workspace package as one release set')
    .option('--expires-in <duration>', 'how long the release may wait for approval, e.g. 30d, 12h (default: 30d or stagePublish.expiresIn)')
    .option('--provenance', 'in CI (GitHub Actions, GitLab), make a Sigstore provenance bundle for the staged tarball, as npm publish --provenance does; it is published with the release')
    .option('--provenance-file <bundle>', 'a Sigstore provenance bundle made elsewhere for this tarball (npm publish --provenance-file); verified, stored and published with the release')
    .option('--dry-run', 'pack and check everything, but stage nothing')
    .option('--ignore-scripts', 'do not run prepublishOnly, prepack, prepare or postpack')
    .option('--otp <code>', 'accepted and ignored, so `npm publish --otp` lines keep working (staging needs no 2FA)')
    .option('--json', 'print the result as JSON')
    .action(async (spec: string | undefined, opts: PublishOptions) => runPublish(spec, opts, deps()))
}

export async function runPublish(spec: string | undefined, opts: PublishOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { OTP_IGNORED, packJson, renderStaged, renderStagedSet, stagedSetJson } = await import('../ui/render-publish.js')
  const { otp: _otp, workspace: _workspace, workspaces: _workspaces, ...request } = requestOf(opts)
  if (opts.workspaces || opts.workspace?.length) {
    if (spec !== undefined) throw new StagePublishError('EUSAGE', 'Give either a folder or tarball, or --workspaces / -w, not both', { exitCode: 2 })
    // One bundle names one package: it cannot be the provenance of every package of a set.
    if (opts.provenanceFile !== undefined) throw new StagePublishError('EUSAGE', '--provenance-file cannot be used with --workspaces / -w: a bundle is made for one package', { hint: 'Use --provenance (one bundle per package, made in CI), or stage each package with its own bundle.', exitCode: 2 })
    const { stageWorkspaces } = await import('../flows/stage-set.js')
    const set = await stageWorkspaces(opts.workspaces ? [] : (opts.workspace ?? []), request, deps, out)
    out.data(stagedSetJson(set))
    const text = renderStagedSet(set)
    // A dry run of no package prints nothing at all.
    if (text) out.line(text)
    if (opts.otp && !set.dryRun) out.notice(OTP_IGNORED)
    return
  }
  const { stageRelease } = await import('../flows/stage.js')
  const staged = await stageRelease(spec, request, deps, out)
  out.data(packJson(staged.record, staged.dryRun))
  out.line(renderStaged(staged))
  if (opts.otp && !staged.dryRun) out.notice(OTP_IGNORED)
}
