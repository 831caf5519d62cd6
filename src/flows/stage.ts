/**
 * Staging, step by step, in the order npm publish takes them (npm lib/commands/publish.js):
 * read the manifest, apply publishConfig, check tag and registry, run prepublishOnly, pack,
 * then — instead of PUTting to the registry — store the tarball and create the record.
 */
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { RECORD_SCHEMA, checkOwnRecord, effectiveState, isWaiting, type DetailedRecord, type StagedRecord } from '../core/record.js'
import { stripCredentials } from '../core/url.js'
import { checkTagName, checkVersionAgainstRegistry } from '../core/npm-rules.js'
import { isNative, type StagingBackend, type Versioned } from '../backends/types.js'
import { loadNpmConfig, registryFor, type NpmConfig } from '../npm/config.js'
import { packLikePublish, readManifest, resolveSource, type Manifest, type PackSource } from '../npm/pack.js'
import { lookupPublished } from '../npm/publish.js'
import type { TarballContents } from '../npm/tarball.js'
import { detectOrigin } from '../origin/origin.js'
import type { Output } from '../ui/output.js'
import { renderContents } from '../ui/render.js'
import { scriptBanner } from './script-banner.js'
import { provenanceRequest, stagedProvenance } from './stage-provenance.js'
import type { VerifiedProvenance } from '../npm/provenance-verify.js'
import { renderProvenanceNotice } from '../ui/render-provenance.js'
import type { Deps } from './context.js'
import type { StageRequest } from './stage-request.js'
import { checkRegistryBackend, chooseDestination, type Destination } from './destination.js'
import { reserveVersion } from './reserve.js'
import { announceStaged } from './notify.js'
import { explainTrustedStageError, oidcPlanFor, onlyTrusted, trustedStaging, type TrustedPublisher } from './stage-oidc.js'

export interface Staged {
  record: StagedRecord
  dryRun: boolean
  /** ` --backend <url>` when the approver must name the backend, else ''. */
  backendHint: string
  /** `file`, `s3` or `registry`. */
  backendKind: string
}

export type { StageRequest }

export async function stageRelease(spec: string | undefined, opts: StageRequest, deps: Deps, out: Output): Promise<Staged> {
  const source = await resolveSource(spec, deps.cwd)
  const pkgDir = source.type === 'directory' ? source.path : deps.cwd
  const conf = await loadNpmConfig({ cwd: pkgDir, env: deps.env, flags: npmFlags(opts) })
  const manifest = await readManifest(source, conf.flat)
  checkManifest(manifest, source.path)
  const destination = await chooseDestination((manifest.stagePublish ?? {}), pkgDir, opts, deps)
  const prepared = await preparePackage({ source, conf, manifest }, destination, opts, deps, out)
  const backendHint = destination.hint
  if (opts.dryRun) return { record: prepared.record, dryRun: true, backendHint: '', backendKind: prepared.backend.kind }
  const id = await createStaged(prepared)
  const record = { ...prepared.record, id }
  // CI reports and the `staged` webhook: best effort, after the release is stored (./notify.ts).
  await announceStaged([{ ...prepared, record }], null, backendHint, deps, out)
  return { record, dryRun: false, backendHint, backendKind: prepared.backend.kind }
}

export const npmFlags = (opts: StageRequest) => ({ registry: opts.registry, tag: opts.tag, access: opts.access, ignoreScripts: opts.ignoreScripts, userconfig: opts.userconfig })

export interface PackageToStage {
  source: PackSource
  conf: NpmConfig
  /** Read before any script ran. */
  manifest: Manifest
}

export interface PreparedRelease {
  record: DetailedRecord
  bytes: Buffer
  /** The bytes as the strict reader parsed them: what the summary shows and a registry backend publishes. */
  contents: TarballContents
  backend: StagingBackend
  /** npm's flat configuration for this package (the registry's credentials, for the review a CI report shows). */
  flat: Record<string, unknown>
  /** Set when the backend stages with a token from trusted publishing (./stage-oidc.ts). */
  trustedPublisher?: TrustedPublisher
  /** The provenance bundle staged with the bytes, verified for them (record.provenance names its digest). */
  provenance?: VerifiedProvenance
}

/**
 * Everything npm publish does before its PUT, for one package: publishConfig, tag and access rules,
 * the registry check, prepublishOnly and pack; plus ours: not already staged, who and where from.
 */
export async function preparePackage(pkg: PackageToStage, destination: Destination, opts: StageRequest, deps: Deps, out: Output): Promise<PreparedRelease> {
  const { source, conf, manifest } = pkg
  const { name, version } = checkManifest(manifest, source.path)
  conf.applyPublishConfig(manifest.publishConfig)
  const flat = conf.flat
  const tag = typeof flat.defaultTag === 'string' ? flat.defaultTag : 'latest'
  checkTagName(tag)
  const explicitTag = !conf.isDefault('tag') || Boolean(manifest.publishConfig?.tag)
  const access = normaliseAccess(flat.access, name)
  const registry = registryFor(name, flat)
  const opened = await destination.open(registry, flat)
  const oidc = oidcPlanFor(opened, deps.env)
  if (isNative(opened)) checkRegistryBackend(opened.native.registry, registry, name, conf, opts, out, oidc)

  // The registry and the backend are asked while the package packs: staging costs no more than npm pack.
  const checks = Promise.all([
    checkRegistry({ name, version, registry }, flat, out),
    onlyTrusted(oidc, conf, registry) ? Promise.resolve([]) : stagedAlready(opened, name, out),
  ])
  checks.catch(() => undefined)
  const pkgDir = source.type === 'directory' ? source.path : deps.cwd
  const originP = detectOrigin(pkgDir, deps.env)
  originP.catch(() => undefined)

  const ignoreScripts = Boolean(opts.ignoreScripts || conf.get('ignore-scripts'))
  const packOptions = { flat, localPrefix: conf.localPrefix, ignoreScripts, foregroundScripts: !out.json, banner: scriptBanner(out) }
  const packed = await packLikePublish(source, manifest, packOptions)
  const [published, others] = await checks
  checkVersionAgainstRegistry({ name, version, explicitTag, published: { versions: published ?? [] } })
  const clash = others.find((v) => v.record.version === version && isWaiting(effectiveState(v.record, destination.createdAt)))
  if (clash) {
    throw new StagePublishError('EALREADYSTAGED', `${name}@${version} is already staged and waiting for approval (id ${clash.record.id})`, {
      hint: `Approve or reject it first (stage-publish reject ${clash.record.id}${destination.hint}), or bump the version.`,
    })
  }

  const packedName = packed.contents.manifest.name
  const packedVersion = packed.contents.manifest.version
  if (packedName !== name || packedVersion !== version) {
    throw new StagePublishError('EPACK', `The packed package.json says ${String(packedName)}@${String(packedVersion)}, not ${name}@${version}`, {
      hint: 'A script changed the name or version while packing. Nothing was staged.',
    })
  }

  // After packing, as npm does: the short-lived token is fresh for the stage request.
  const askedProvenance = provenanceRequest(opts, flat)
  const provenanceUnset = askedProvenance === null && opts.provenance === undefined && conf.isDefault('provenance') && conf.isDefault('provenance-file')
  const { backend, trustedPublisher, automaticProvenance } = await trustedStaging({ plan: oidc, backend: opened, name, registry, conf, packageExists: published && published.length > 0, env: deps.env, provenanceUnset }, destination, out)
  const origin = await originP
  const { summary } = packed
  // Made (or read) and verified for these exact bytes before anything is stored: refused here otherwise.
  const provenance = await stagedProvenance(askedProvenance ?? (automaticProvenance ? { generate: true } : null), { name, version, integrity: summary.integrity, registry, access }, flat, deps.cwd, deps.env)
  const built: DetailedRecord = {
    schema: RECORD_SCHEMA,
    id: deps.newId(),
    packageName: name,
    version,
    tag,
    access,
    // An .npmrc may say `registry=http://user:pass@host/`: the record (read by anyone with access to
    // the backend) names the registry only; the approver's own .npmrc supplies credentials.
    registry: stripCredentials(registry),
    integrity: summary.integrity,
    shasum: summary.shasum,
    size: summary.size,
    unpackedSize: summary.unpackedSize,
    fileCount: summary.entryCount,
    files: summary.files,
    bundled: summary.bundled,
    createdAt: destination.createdAt.toISOString(),
    // A registry keeps a staged item until it is approved or rejected: no expiry to promise.
    ...(!isNative(backend) && { expiresAt: destination.expiresAt.toISOString() }),
    actor: origin.actor,
    actorType: origin.actorType,
    ...(origin.git && { git: origin.git }),
    ...(origin.ci && { ci: origin.ci }),
    ...(provenance && { provenance: { integrity: provenance.integrity, size: provenance.bundle.length } }),
    state: 'pending',
  }
  // What we store must pass the schema it is read with, or it would be a corrupt record nobody can approve.
  const record = checkOwnRecord(built, !isNative(backend)) as DetailedRecord
  out.notice(renderContents(record, out.style))
  if (provenance) out.notice(renderProvenanceNotice(provenance.facts, out.style))
  out.notice(`Staging to ${backend.location} for ${record.registry} with tag ${tag} and ${access ?? 'default'} access${opts.dryRun ? ' (dry-run)' : ''}`)
  return { record, bytes: packed.bytes, contents: packed.contents, backend, flat, ...(trustedPublisher && { trustedPublisher }), ...(provenance && { provenance }) }
}

/** Stores a prepared release; returns the id it is known by (ours, or the one a registry assigned). */
export async function createStaged(prepared: PreparedRelease): Promise<string> {
  const { backend, record } = prepared
  // The check above is a fast path; this is the rule: concurrent stagings of one version, one wins.
  // A registry refuses a second staging of a version itself (409).
  if (!isNative(backend)) await reserveVersion(backend, record, new Date(record.createdAt))
  const created = await backend.createRelease(record, prepared.bytes, prepared.contents, prepared.provenance?.bundle).catch((err: unknown) => {
    throw explainTrustedStageError(err, record.packageName, record.registry, prepared.trustedPublisher)
  })
  if (!created.created) {
    if (!isNative(backend)) await backend.releaseVersion(record.packageName, record.version, record.id).catch(() => undefined)
    throw new StagePublishError('EBACKEND', `A staged release with id ${prepared.record.id} already exists`, { hint: 'Run the command again.' })
  }
  return created.id
}

export function checkManifest(manifest: Manifest, where: string): { name: string; version: string } {
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
    throw new StagePublishError('EUSAGE', `--access must be "public" or "restricted", not ${JSON.stringify(access)}`, { exitCode: 2 })
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
 * about and skipped (undefined: unknown): approval checks again with the approver's credentials before publishing.
 */
async function checkRegistry(target: { name: string; version: string; registry: string }, flat: Record<string, unknown>, out: Output): Promise<string[] | undefined> {
  try {
    return (await lookupPublished(target, flat)).versions
  } catch (err) {
    if (err instanceof StagePublishError && (err.code === 'ENEEDAUTH' || err.code === 'EREGISTRY')) {
      out.warn(`could not check ${target.name} on ${stripCredentials(target.registry)} (${err.message}); approval will check again before publishing`)
      return undefined
    }
    throw err
  }
}

/**
 * What is already staged for this package. A least-privilege CI role may create releases but not
 * read them (see the IAM policies in docs/backends.md): then the check is skipped with a warning — approvers
 * see both releases, and the registry refuses a version twice anyway.
 */
async function stagedAlready(backend: StagingBackend, name: string, out: Output): Promise<Versioned[]> {
  try {
    // Only a waiting release of this version clashes: asked for as such, a record store reads O(pending).
    return await backend.listRecords({ packageName: name, waiting: true, onCorrupt: () => undefined })
  } catch (err) {
    if (err instanceof StagePublishError && err.code === 'EACCESSDENIED') {
      out.warn(`cannot read ${backend.location} to check whether ${name} is already staged (no read access); staging anyway`)
      return []
    }
    throw err
  }
}
