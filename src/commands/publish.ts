/**
 * `stage-publish [publish] [<folder|tarball>]`: packs exactly as `npm publish` would and stages
 * the result in the backend instead of the registry. Nothing becomes public.
 */
import type { Command } from 'commander'
import { StagePublishError } from '../errors.js'
import type { StagedRecord } from '../core/record.js'
import { defaultDeps, outputFor, type CommonOptions, type Deps } from './shared.js'

export interface PublishOptions extends CommonOptions {
  tag?: string
  access?: string
  registry?: string
  dryRun?: boolean
  ignoreScripts?: boolean
  otp?: string
  expiresIn?: string
  userconfig?: string
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('publish [folder-or-tarball]', { isDefault: true })
    .description('stage a package for approval, packed exactly as `npm publish` packs it (the default command)')
    .option('--tag <tag>', 'dist-tag to publish under once approved (default: latest, or publishConfig.tag)')
    .option('--access <access>', 'public or restricted (default: publishConfig.access or the registry default)')
    .option('--registry <url>', 'registry to publish to once approved (default: from .npmrc / publishConfig)')
    .option('--backend <url>', 'where to stage: file:<dir>, s3://<bucket>/<prefix>?... (default: STAGE_PUBLISH_BACKEND, package.json stagePublish.backend, or a local directory)')
    .option('--expires-in <duration>', 'how long the release may wait for approval, e.g. 30d, 12h (default: 30d or stagePublish.expiresIn)')
    .option('--dry-run', 'pack and check everything, but stage nothing')
    .option('--ignore-scripts', 'do not run prepublishOnly, prepack, prepare or postpack')
    .option('--otp <code>', 'accepted and ignored, so `npm publish --otp` lines keep working (staging needs no 2FA)')
    .option('--json', 'print the result as JSON')
    .action(async (spec: string | undefined, opts: PublishOptions) => runPublish(spec, opts, deps()))
}

export async function runPublish(spec: string | undefined, opts: PublishOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { stageRelease } = await import('../flows/stage.js')
  const staged = await stageRelease(spec, opts, deps, out)
  printStaged(staged.record, staged.dryRun, staged.backendHint, opts, out)
}

function printStaged(record: StagedRecord, dryRun: boolean, backendHint: string, opts: PublishOptions, out: ReturnType<typeof outputFor>): void {
  if (out.json) {
    out.data({
      id: dryRun ? null : record.id,
      name: record.packageName,
      version: record.version,
      size: record.size,
      unpackedSize: record.unpackedSize,
      shasum: record.shasum,
      integrity: record.integrity,
      filename: `${record.packageName.replace(/^@/, '').replace('/', '-')}-${record.version}.tgz`,
      files: record.files,
      entryCount: record.fileCount,
      bundled: record.bundled,
      tag: record.tag,
      access: record.access,
      registry: record.registry,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      state: dryRun ? 'dry-run' : record.state,
      dryRun,
    })
    return
  }
  if (dryRun) {
    out.line(`+ ${record.packageName}@${record.version} (dry-run: nothing was staged)`)
    return
  }
  out.line(`+ ${record.packageName}@${record.version} (staged with id ${record.id})`)
  out.line(`Nothing is public yet. To publish it, a maintainer runs:`)
  out.line(`  npx stage-publish approve ${record.id}${backendHint}`)
  if (opts.otp) out.notice('note: --otp is ignored when staging; the one-time password is asked for at approval.')
}

