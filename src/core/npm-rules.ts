/**
 * npm's publishing rules, as pure decisions (npm lib/commands/publish.js): tag names, prerelease tags,
 * versions lower than `latest`, versions already published.
 */
import semver from 'semver'
import { StagePublishError } from '../errors.js'

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
