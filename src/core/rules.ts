/**
 * npm's publishing rules, as pure decisions (npm lib/commands/publish.js):
 * tag names, prerelease tags, versions lower than `latest`, versions already published.
 * Plus ours: how long a staged release waits before it expires.
 */
import semver from 'semver'
import { StagePublishError } from '../errors.js'

export const DEFAULT_EXPIRY = '30d'

export function checkTagName(tag: string): void {
  if (semver.validRange(tag)) {
    throw new StagePublishError('ETAG', `Tag name must not be a valid SemVer range: ${tag.trim()}`, {
      hint: 'Use a name such as "next" or "beta" for --tag.',
      exitCode: 2,
    })
  }
  if (!tag || encodeURIComponent(tag) !== tag) {
    throw new StagePublishError('ETAG', `Invalid tag name "${tag}"`, {
      hint: 'Tags must be URL-safe, such as "latest", "next" or "beta".',
      exitCode: 2,
    })
  }
}

export interface PublishedVersions {
  /** Every version on the registry (including prereleases). */
  versions: string[]
}

/**
 * What npm checks before publishing. `explicitTag` is true when the tag came from --tag or
 * publishConfig.tag, which is what allows a prerelease or a lower version to be published.
 */
export function checkVersionAgainstRegistry(input: {
  name: string
  version: string
  explicitTag: boolean
  published: PublishedVersions
}): void {
  const { name, version, explicitTag } = input
  if (semver.parse(version)?.prerelease.length && !explicitTag) {
    throw new StagePublishError('ETAG', `${name}@${version} is a prerelease: it needs an explicit tag`, {
      hint: 'Stage it with --tag next (or another tag) so `latest` keeps pointing at a stable version.',
    })
  }
  if (input.published.versions.includes(version)) {
    throw new StagePublishError('EPUBLISHCONFLICT', `${name}@${version} is already published on the registry`, {
      hint: 'You cannot publish over a published version. Bump the version in package.json and stage again.',
    })
  }
  // Like npm: the highest stable version, ignoring prereleases.
  const stable = input.published.versions.filter((v) => semver.valid(v) && !semver.prerelease(v))
  const highest = stable.sort(semver.rcompare)[0]
  if (highest && semver.gte(highest, version) && !explicitTag) {
    throw new StagePublishError('ETAG', `Cannot implicitly apply the "latest" tag: ${name}@${highest} is higher than ${version}`, {
      hint: 'Stage it with an explicit --tag (for example --tag v1-maintenance).',
    })
  }
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }

/** Parses durations such as `30d`, `12h`, `90m`, `2w`, `45s`. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(String(text))
  const value = m ? Number(m[1]) * (UNITS[(m[2] as string).toLowerCase()] as number) : NaN
  if (!m || !(value > 0) || value > 366 * 86400e3) {
    throw new StagePublishError('EUSAGE', `"${text}" is not a duration`, {
      hint: 'Use a number and a unit, between 1s and 366d: 30d, 12h, 90m, 2w.',
      exitCode: 2,
    })
  }
  return value
}

export const expiryFrom = (createdAt: Date, duration: string): Date => new Date(createdAt.getTime() + parseDuration(duration))

/** A name@version a person can read back; the file name npm uses for tarballs, scope flattened. */
export const tarballFileName = (name: string, version: string, id?: string): string => {
  const base = `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}${id ? `-${id}` : ''}.tgz`
  // Names and versions come from an untrusted record: keep only what is safe in a file name.
  return base.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '_')
}
