/**
 * `stage-publish [publish] [<folder|tarball>]`: packs exactly as `npm publish` would and stages
 * the result in the backend instead of the registry. Nothing becomes public.
 */
import type { Command } from 'commander'
import { StagePublishError } from '../errors.js'
import type { StagedRecord } from '../core/record.js'
import type { StagedSet } from '../flows/stage-set.js'
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
    .option('--dry-run', 'pack and check everything, but stage nothing')
    .option('--ignore-scripts', 'do not run prepublishOnly, prepack, prepare or postpack')
    .option('--otp <code>', 'accepted and ignored, so `npm publish --otp` lines keep working (staging needs no 2FA)')
    .option('--json', 'print the result as JSON')
    .action(async (spec: string | undefined, opts: PublishOptions) => runPublish(spec, opts, deps()))
}

export async function runPublish(spec: string | undefined, opts: PublishOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { otp: _otp, workspace: _workspace, workspaces: _workspaces, ...request } = requestOf(opts)
  if (opts.workspaces || opts.workspace?.length) {
    if (spec !== undefined) throw new StagePublishError('EUSAGE', 'Give either a folder or tarball, or --workspaces / -w, not both', { exitCode: 2 })
    const { stageWorkspaces } = await import('../flows/stage-set.js')
    const set = await stageWorkspaces(opts.workspaces ? [] : (opts.workspace ?? []), request, deps, out)
    printSet(set, opts, out)
    return
  }
  const { stageRelease } = await import('../flows/stage.js')
  const staged = await stageRelease(spec, request, deps, out)
  printStaged(staged.record, staged.dryRun, staged.backendHint, opts, out, staged.backendKind)
}

function packJson(record: StagedRecord, dryRun: boolean): Record<string, unknown> {
  return {
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
    expiresAt: record.expiresAt ?? null,
    ...(record.setId && { setId: record.setId }),
    state: dryRun ? 'dry-run' : record.state,
    dryRun,
  }
}

function printSet(set: StagedSet, opts: PublishOptions, out: ReturnType<typeof outputFor>): void {
  if (out.json) {
    out.data({ setId: set.setId, releases: set.records.map((r) => packJson(r, set.dryRun)), skipped: set.skipped, dryRun: set.dryRun })
    return
  }
  for (const r of set.records) out.line(`+ ${r.packageName}@${r.version} (${set.dryRun ? 'dry-run: nothing was staged' : `staged with id ${r.id}`})`)
  if (set.dryRun) return
  const ids = set.records.map((r) => r.id).join(' ')
  if (set.setId) {
    out.line(`Release set ${set.setId}: ${set.records.length} packages. Nothing is public yet. To publish them all, a maintainer runs:`)
    out.line(`  npx stage-publish approve ${set.setId}${set.backendHint}`)
  } else {
    out.line(`Nothing is public yet. To publish ${set.records.length === 1 ? 'it' : 'them, dependencies first'}, a maintainer runs:`)
    out.line(`  npx stage-publish approve ${ids}${set.backendHint}`)
  }
  if (opts.otp) out.notice('note: --otp is ignored when staging; the one-time password is asked for at approval.')
}

function printStaged(record: StagedRecord, dryRun: boolean, backendHint: string, opts: PublishOptions, out: ReturnType<typeof outputFor>, backendKind: string): void {
  if (out.json) {
    out.data(packJson(record, dryRun))
    return
  }
  if (dryRun) {
    out.line(`+ ${record.packageName}@${record.version} (dry-run: nothing was staged)`)
    return
  }
  out.line(`+ ${record.packageName}@${record.version} (staged with id ${record.id})`)
  out.line(`Nothing is public yet. To publish it, a maintainer runs:`)
  out.line(`  npx stage-publish approve ${record.id}${backendHint}`)
  // It is the registry's own staged item: npm's own command approves it too.
  if (backendKind === 'registry') out.line(`  (or: npm stage approve ${record.id} --registry ${record.registry})`)
  if (opts.otp) out.notice('note: --otp is ignored when staging; the one-time password is asked for at approval.')
}
