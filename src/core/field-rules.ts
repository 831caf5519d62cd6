/**
 * The rules for the fields of a staged record, one per kind of value: each says why a string
 * breaks it, or undefined, and never quotes the value. Used by the record schema, and by what
 * builds records (origin, staging) so they write only what they can read back. Pure.
 */
import validateName from 'validate-npm-package-name'
import { semverValid, semverValidRange } from './semver-lazy.js'
import { hasCredentials } from './url.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
export const isUuid = (id: string): boolean => UUID_RE.test(id)

/** A rule on a string: why the value breaks it, or undefined. Reasons never quote the value. */
export type Rule = (value: string) => string | undefined

/** npm's names (valid for new or old packages: old ones may have capitals), with no path tricks. */
export const packageNameRule: Rule = (name) => {
  if (/\s/.test(name)) return 'contains whitespace'
  if (!validateName(name).validForOldPackages) return 'is not a valid npm package name'
  // validate-npm-package-name accepts `@../x` and `@./x`: names become file names and URLs.
  if (name.split('/').some((part) => part.replace(/^@/, '').startsWith('.'))) return 'has a part that starts with a period'
  return undefined
}

/** A strict semver version as npm stores it: `1.2.3`, `1.2.3-rc.1`, `1.2.3+build`; no `v`, no spaces. */
export const versionRule: Rule = (version) => {
  const valid = semverValid(version)
  if (!valid || !/^[0-9A-Za-z.+-]+$/.test(version) || !(version === valid || version.startsWith(`${valid}+`))) return 'is not a semver version'
  return undefined
}

/** npm's dist-tag rules (npm lib/commands/publish.js, dist-tag.js): URL-safe and not a semver range. */
export const tagRule: Rule = (tag) => {
  if (encodeURIComponent(tag) !== tag) return 'is not URL-safe'
  // Remembered: parsing a range is the costliest check of a record, and a listing of 10,000 records
  // asks about the same few tags ('latest', 'next') 10,000 times. Bounded, so hostile tags cannot grow it.
  let isRange = tagIsRange.get(tag)
  if (isRange === undefined) {
    isRange = Boolean(semverValidRange(tag))
    if (tagIsRange.size < 1000) tagIsRange.set(tag, isRange)
  }
  return isRange ? 'is a semver range, which npm refuses as a tag' : undefined
}
const tagIsRange = new Map<string, boolean>()

const ISO_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/

/** An ISO 8601 date and time with a zone, that Date parses: a bad time must never freeze or immortalise a release. */
export const timeRule: Rule = (time) => (ISO_TIME.test(time) && Number.isFinite(Date.parse(time)) ? undefined : 'is not an ISO date and time')

/** An http(s) URL with no userinfo and no token-like query parameter. */
export const httpUrlRule: Rule = (url) => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'is not an http(s) URL'
  if (parsed.username !== '' || parsed.password !== '' || hasCredentials(url)) return 'carries credentials'
  return undefined
}

/** A registry as npm configures it: an http(s) URL without credentials, ending with '/'. */
export const registryRule: Rule = (url) => httpUrlRule(url) ?? (url.endsWith('/') ? undefined : "does not end with '/'")

const REMOTE_SCHEMES = new Set(['http:', 'https:', 'git:', 'ssh:', 'git+ssh:', 'git+http:', 'git+https:', 'file:'])

/** A git remote: a URL of a scheme git uses, scp-like (`git@host:org/repo.git`) or a local path; never with credentials. */
export const remoteRule: Rule = (remote) => {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) {
    let parsed: URL
    try {
      parsed = new URL(remote)
    } catch {
      return 'is not a URL'
    }
    if (!REMOTE_SCHEMES.has(parsed.protocol)) return 'is not a git URL'
  }
  // Without a scheme it is scp-like or a path: git reads it as one or the other.
  return hasCredentials(remote) ? 'carries credentials' : undefined
}

export const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
export const SHASUM_RE = /^[0-9a-f]{40}$/
export const PROVIDER_RE = /^[a-z0-9-]{1,64}$/

/** `sha512-` and the base64 of exactly 64 bytes, canonical: what ssri and npm write. */
export const integrityRule: Rule = (integrity) => {
  const m = /^sha512-([A-Za-z0-9+/]{86}==)$/.exec(integrity)
  if (!m) return 'is not a sha512 integrity'
  const digest = Buffer.from(m[1] as string, 'base64')
  return digest.length === 64 && digest.toString('base64') === m[1] ? undefined : 'is not a sha512 integrity'
}

/** A path inside the package: relative, with `/` separators, no `..`, no drive letter. */
export const packagePathRule: Rule = (p) => {
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'is absolute'
  if (p.includes('\\')) return 'contains a backslash'
  if (p.split('/').some((seg) => seg === '..' || seg === '')) return 'has an empty or .. segment'
  return undefined
}
