/**
 * "Manifest confusion": the registry serves a version's manifest from the document the publisher
 * sent, not from the package.json inside the tarball, and npm installs by that served manifest
 * (dependencies, scripts, bin, platform fields). Where stage-publish publishes, it sends the manifest
 * read from the verified bytes, so they agree. A registry that stages natively publishes the document
 * sent at staging time: before approval, the document the registry holds is compared with the
 * tarball's package.json; after approval, what it serves is compared again. Pure.
 */
import { isDeepStrictEqual } from 'node:util'
import { INSTALL_DEPENDENCY_FIELDS } from './dependency-fields.js'

/**
 * The fields that decide what an install does: what is fetched (dependencies of every kind), what
 * runs (scripts, gypfile), what lands on PATH (bin), where it may install (os, cpu, libc, engines),
 * and the identity of the package itself.
 */
export const INSTALL_FIELDS = [
  'name',
  'version',
  ...INSTALL_DEPENDENCY_FIELDS,
  'peerDependenciesMeta',
  'bundleDependencies',
  'scripts',
  'bin',
  'os',
  'cpu',
  'libc',
  'engines',
  'gypfile',
] as const

export type InstallField = (typeof INSTALL_FIELDS)[number]

/** Empty objects/arrays, `false` bundles and absent fields all mean "none"; bundledDependencies is an alias. */
function valueOf(manifest: Record<string, unknown>, field: InstallField): unknown {
  let v = manifest[field]
  if (field === 'bundleDependencies' && v === undefined) v = manifest.bundledDependencies
  if (v === false || v === null) return undefined
  if (Array.isArray(v)) return v.length ? (v as unknown[]).map(String).sort() : undefined
  if (v && typeof v === 'object') return Object.keys(v).length ? v : undefined
  return v
}

/** The install-relevant fields in which the registry's manifest differs from the tarball's package.json. */
export function manifestMismatches(tarball: Record<string, unknown>, served: Record<string, unknown>): InstallField[] {
  return INSTALL_FIELDS.filter((f) => !isDeepStrictEqual(valueOf(tarball, f), valueOf(served, f)))
}

/**
 * The version manifest a registry holds for a staged item, from the item's `packument` (Verdaccio 9
 * returns the whole staged document with the item; npm's documented item lists no manifest). Untrusted:
 * `null` when the item carries no document at all; a document that does not hold this version as an
 * object comes back as `{}`, which then differs from the tarball on name and version.
 */
export function stagedManifestOf(item: unknown, version: string): Record<string, unknown> | null {
  const packument = (item as { packument?: unknown } | null)?.packument
  if (packument === undefined || packument === null) return null
  const versions = (packument as { versions?: unknown }).versions
  const manifest = versions && typeof versions === 'object' && Object.hasOwn(versions, version) ? (versions as Record<string, unknown>)[version] : undefined
  return manifest && typeof manifest === 'object' && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : {}
}
