/**
 * The version and where it came from: which published version to compare with, the semver step,
 * versions that go backwards or jump, and a git ref that does not match the tag. Pure.
 */
import semver from 'semver'
import type { Add, Review, ReviewInput } from './findings.js'

/**
 * Which published version to compare with: the one the target tag points to, else the highest
 * published one (prereleases included), else none. Callers fetch that version, then call reviewRelease.
 */
export function chooseBaseline(input: {
  tag: string
  version: string
  distTags?: Record<string, string>
  publishedVersions?: string[]
}): Review['baseline'] {
  const tagged = input.distTags?.[input.tag]
  if (tagged && semver.valid(tagged) && tagged !== input.version) return { version: tagged, reason: 'tag' }
  const others = (input.publishedVersions ?? []).filter((v) => semver.valid(v) && v !== input.version)
  const highest = others.sort(semver.rcompare)[0]
  return highest ? { version: highest, reason: 'highest' } : { version: null, reason: 'first-release' }
}

export function reviewVersion(version: string, baseline: Review['baseline'], input: ReviewInput, add: Add): void {
  if (input.publishedVersions?.includes(version) || baseline.version === version) add('VERSION_ALREADY_PUBLISHED', { version })
  if (input.tag === 'latest' && semver.prerelease(version)) add('PRERELEASE_ON_LATEST', { version })
  if (baseline.version === null) { add('FIRST_RELEASE', { version }); return; }
  const v = semver.parse(version)
  const b = semver.parse(baseline.version)
  if (!v || !b) return
  const from = b.version
  const order = semver.compare(v, b)
  if (order === 0) return
  if (order < 0) {
    // Below the highest version on another tag is a backport; below what the tag holds moves it back.
    if (baseline.reason === 'tag' || input.tag === 'latest') add('VERSION_BACKWARDS', { from, to: v.version, tag: input.tag })
    else add('VERSION_BACKPORT', { from, to: v.version, tag: input.tag })
    return
  }
  const step = semver.diff(b, v) ?? 'patch'
  const code = step === 'prerelease' ? 'VERSION_PRERELEASE' : step.endsWith('major') ? 'VERSION_MAJOR' : step.endsWith('minor') ? 'VERSION_MINOR' : 'VERSION_PATCH'
  add(code, { from, to: v.version, step })
  // Skipping versions is how a hijacker makes sure every `^` range picks theirs up and that it
  // outranks the maintainer's next release: two majors at once, or ten minors or patches.
  if (v.major - b.major >= 2) add('VERSION_JUMP', { from, to: v.version, part: 'major', delta: v.major - b.major })
  else if (v.major === b.major && v.minor - b.minor >= 10) add('VERSION_JUMP', { from, to: v.version, part: 'minor', delta: v.minor - b.minor })
  else if (v.major === b.major && v.minor === b.minor && v.patch - b.patch >= 10) {
    add('VERSION_JUMP', { from, to: v.version, part: 'patch', delta: v.patch - b.patch })
  }
}

/** A version at the end of a git tag: `v1.2.3`, `1.2.3`, `pkg@1.2.3`, `@scope/pkg@1.2.3`, `pkg-v1.2.3`. */
const TAG_VERSION_RE = /(?:^|[@/_-])v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/

export function reviewRef(name: string, version: string, input: ReviewInput, add: Add): void {
  const ref = input.gitRef?.trim()
  if (!ref || ref === 'HEAD') return // a detached HEAD says nothing about where it came from
  if (/^refs\/(?:pull|merge-requests)\//.test(ref)) { add('REF_PULL_REQUEST', { ref, tag: input.tag }); return; }
  // Bare names are branches, unless they look like a version tag (GitLab's CI_COMMIT_REF_NAME is bare for both).
  const bareTag = !ref.startsWith('refs/') && TAG_VERSION_RE.test(ref)
  const gitTag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : bareTag ? ref : undefined
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref.startsWith('refs/') || bareTag ? undefined : ref
  if (gitTag !== undefined) {
    const m = TAG_VERSION_RE.exec(gitTag)
    // `other-pkg@2.0.0` in a monorepo belongs to another package: not ours to judge.
    const owner = gitTag.includes('@', 1) ? gitTag.slice(0, gitTag.lastIndexOf('@')) : undefined
    if (m?.[1] && (owner === undefined || owner === name) && semver.valid(m[1]) !== semver.valid(version)) {
      add('REF_TAG_MISMATCH', { ref: gitTag, version })
    }
  }
  if (branch !== undefined && input.tag === 'latest') {
    const defaults = input.defaultBranch ? [input.defaultBranch] : ['main', 'master']
    if (!defaults.includes(branch)) add('REF_BRANCH_NOT_DEFAULT', { branch, tag: input.tag, expected: defaults.join(', ') })
  }
}
