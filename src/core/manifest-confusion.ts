/**
 * "Manifest confusion": the registry serves a version's manifest from the document the publisher
 * sent, not from the package.json inside the tarball, and npm installs dependencies by that served
 * manifest. Where stage-publish publishes, it sends the manifest read from the verified bytes, so they
 * agree. A registry that stages natively publishes the document sent at staging time, which its
 * staging API does not show: after approval the served manifest is compared with the tarball's. Pure.
 */
import { isDeepStrictEqual } from 'node:util'

/** Only what decides what gets installed; npm normalises other fields (bin paths, gyp scripts) on its own. */
const FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const

/** The install-relevant fields in which the served manifest differs from the tarball's package.json. */
export function manifestMismatches(tarball: Record<string, unknown>, served: Record<string, unknown>): string[] {
  const norm = (v: unknown): unknown => (v && typeof v === 'object' && Object.keys(v).length ? v : undefined)
  return FIELDS.filter((f) => !isDeepStrictEqual(norm(tarball[f]), norm(served[f])))
}
