/**
 * Staging, step by step, in the order npm publish takes them (npm lib/commands/publish.js):
 * read the manifest, apply publishConfig, check tag and registry, run prepublishOnly, pack,
 * then — instead of PUTting to the registry — store the tarball and create the record.
 */
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { RECORD_SCHEMA, effectiveState, type StagedRecord } from '../core/record.js'
import { DEFAULT_EXPIRY, checkTagName, checkVersionAgainstRegistry, expiryFrom } from '../core/rules.js'
import { chooseBackend, openBackend } from '../backends/index.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { loadNpmConfig, registryFor } from '../registry/config.js'
import { packLikePublish, readManifest, resolveSource, type Manifest } from '../registry/pack.js'
import { lookupPublished } from '../registry/publish.js'
import { detectOrigin, isCi } from '../origin/origin.js'
import type { Output } from '../ui/output.js'
import { renderContents } from '../ui/render.js'
import type { Deps } from '../commands/shared.js'
import type { PublishOptions } from '../commands/publish.js'

export interface Staged {
  record: StagedRecord
  dryRun: boolean
  /** ` --backend <url>` when the approver must name the backend, else ''. */
  backendHint: string
}

export async function stageRelease(spec: string | undefined, opts: PublishOptions, deps: Deps, out: Output): Promise<Staged> {
  const source = await resolveSource(spec, deps.cwd)
  const pkgDir = source.type === 'directory' ? source.path : deps.cwd
  const conf = await loadNpmConfig({
    cwd: pkgDir,
    env: deps.env,
    flags: { registry: opts.registry, tag: opts.tag, access: opts.access, ignoreScripts: opts.ignoreScripts, userconfig: opts.userconfig },
  })
  const manifest = await readManifest(source, conf.flat)
  const { name, version } = checkManifest(manifest, source.path)

  // Where it goes and how long it may wait: decided before any script runs, so a bad flag costs nothing.
  const stageConfig = (manifest.stagePublish ?? {}) as Record<string, unknown>
  const backendChoice = chooseBackend({ flag: opts.backend, env: deps.env, packageBackend: stageConfig.backend, packageDir: pkgDir })
  if (backendChoice.source === 'default' && (await isCi(deps.env)).isCI) {
    throw new StagePublishError('ECIBACKEND', 'Refusing to stage into a local directory on a CI runner: it vanishes with the runner, and the release with it', {
      hint: 'Name a shared backend: --backend s3://<bucket>/<prefix>, STAGE_PUBLISH_BACKEND, or package.json "stagePublish": { "backend": ... }. (--backend file:<dir> forces a local directory.)',
    })
  }
  const expiresIn = opts.expiresIn ?? (typeof stageConfig.expiresIn === 'string' ? stageConfig.expiresIn : DEFAULT_EXPIRY)
  const createdAt = deps.now()
  const expiresAt = expiryFrom(createdAt, expiresIn)

  conf.applyPublishConfig(manifest.publishConfig)
  const flat = conf.flat
  const tag = String(flat.defaultTag ?? 'latest')
  checkTagName(tag)
  const explicitTag = !conf.isDefault('tag') || Boolean(manifest.publishConfig?.tag)
  const access = normaliseAccess(flat.access, name)
  const registry = registryFor(name, flat)
  const backend = await openBackend(backendChoice.url, deps.cwd)

  // The registry and the backend are asked while the package packs: staging costs no more than npm pack.
  const checks = Promise.all([
    checkRegistry({ name, version, registry }, flat, out),
    stagedAlready(backend, name, out),
  ])
  checks.catch(() => undefined)
  const originP = detectOrigin(pkgDir, deps.env)
  originP.catch(() => undefined)

  const ignoreScripts = Boolean(opts.ignoreScripts || conf.get('ignore-scripts'))
  const packOptions = { flat, localPrefix: conf.localPrefix, ignoreScripts, foregroundScripts: !out.json }
  const packed = await packLikePublish(source, manifest, packOptions)
  const [published, others] = await checks
  checkVersionAgainstRegistry({ name, version, explicitTag, published: { versions: published } })
  const clash = others.find((v) => v.record.version === version && ['pending', 'approving'].includes(effectiveState(v.record, createdAt)))
  if (clash) {
    throw new StagePublishError('EALREADYSTAGED', `${name}@${version} is already staged and waiting for approval (id ${clash.record.id})`, {
      hint: `Approve or reject it first (stage-publish reject ${clash.record.id}), or bump the version.`,
    })
  }

  const packedName = packed.contents.manifest.name
  const packedVersion = packed.contents.manifest.version
  if (packedName !== name || packedVersion !== version) {
    throw new StagePublishError('EPACK', `The packed package.json says ${String(packedName)}@${String(packedVersion)}, not ${name}@${version}`, {
      hint: 'A script changed the name or version while packing. Nothing was staged.',
    })
  }

  const origin = await originP
  const { summary } = packed
  const record: StagedRecord = {
    schema: RECORD_SCHEMA,
    id: deps.newId(),
    packageName: name,
    version,
    tag,
    access,
    registry,
    integrity: summary.integrity,
    shasum: summary.shasum,
    size: summary.size,
    unpackedSize: summary.unpackedSize,
    fileCount: summary.entryCount,
    files: summary.files,
    bundled: summary.bundled,
    createdAt: createdAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
    actor: origin.actor,
    actorType: origin.actorType,
    ...(origin.git && { git: origin.git }),
    ...(origin.ci && { ci: origin.ci }),
    state: 'pending',
  }
  out.notice(renderContents(record, out.style))
  out.notice(`Staging to ${backend.location} for ${registry} with tag ${tag} and ${access ?? 'default'} access${opts.dryRun ? ' (dry-run)' : ''}`)
  if (opts.dryRun) return { record, dryRun: true, backendHint: '' }

  const created = await backend.createRelease(record, packed.bytes)
  if (!created.created) {
    throw new StagePublishError('EBACKEND', `A staged release with id ${record.id} already exists`, { hint: 'Run the command again.' })
  }
  record.id = created.id
  const backendHint = backendChoice.source === 'flag' || backendChoice.source === 'env' ? ` --backend ${backendChoice.url}` : ''
  return { record, dryRun: false, backendHint }
}

function checkManifest(manifest: Manifest, where: string): { name: string; version: string } {
  if (manifest.private) {
    throw new StagePublishError('EPRIVATE', `${String(manifest.name ?? path.basename(where))} is marked private in package.json`, {
      hint: "Remove the 'private' field from package.json to publish it. Nothing was staged.",
    })
  }
  const { name, version } = manifest
  if (typeof name !== 'string' || !name) {
    throw new StagePublishError('EBADMANIFEST', `The package.json in ${where} has no name`, { hint: 'Add a "name" field; npm cannot publish a package without one.' })
  }
  if (typeof version !== 'string' || !version) {
    throw new StagePublishError('EBADMANIFEST', `The package.json in ${where} has no valid version`, { hint: 'Add a semver "version" field, such as "1.0.0".' })
  }
  return { name, version }
}

function normaliseAccess(access: unknown, name: string): StagedRecord['access'] {
  if (access === null || access === undefined || access === '') return null
  if (access !== 'public' && access !== 'restricted') {
    throw new StagePublishError('EUSAGE', `--access must be "public" or "restricted", not "${String(access)}"`, { exitCode: 2 })
  }
  if (access === 'restricted' && !name.startsWith('@')) {
    throw new StagePublishError('EUSAGE', `Can't restrict access to the unscoped package ${name}`, {
      hint: 'Only scoped packages (@scope/name) can be restricted.',
      exitCode: 2,
    })
  }
  return access
}

/**
 * The versions the registry already has. A registry that does not know the package (404) has none.
 * One that refuses to say (401/403: CI often has no read token for a private registry) is warned
 * about and skipped: approval checks again with the approver's credentials before publishing.
 */
async function checkRegistry(target: { name: string; version: string; registry: string }, flat: Record<string, unknown>, out: Output): Promise<string[]> {
  try {
    return (await lookupPublished(target, flat)).versions
  } catch (err) {
    if (err instanceof StagePublishError && (err.code === 'ENEEDAUTH' || err.code === 'EREGISTRY')) {
      out.warn(`could not check ${target.name} on ${target.registry} (${err.message}); approval will check again before publishing`)
      return []
    }
    throw err
  }
}

/**
 * What is already staged for this package. A least-privilege CI role may create releases but not
 * read them (see the README's IAM policy): then the check is skipped with a warning — approvers
 * see both releases, and the registry refuses a version twice anyway.
 */
async function stagedAlready(backend: StagingBackend, name: string, out: Output): Promise<Versioned[]> {
  try {
    return await backend.listRecords({ packageName: name, onCorrupt: () => undefined })
  } catch (err) {
    if (err instanceof StagePublishError && err.code === 'EACCESSDENIED') {
      out.warn(`cannot read ${backend.location} to check whether ${name} is already staged (no read access); staging anyway`)
      return []
    }
    throw err
  }
}
