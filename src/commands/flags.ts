/**
 * Flags several commands share, checked when the command line is parsed (before anything is read,
 * packed or sent). `--registry` has npm's meaning everywhere: the registry to talk to.
 */
import { InvalidArgumentError, Option } from 'commander'
import { StagePublishError } from '../errors.js'
import { parseDuration } from '../core/duration.js'

/** Query keys that carry a secret in URLs people paste (`?token=`, `?_authToken=`, signed URLs...). */
const SECRET_KEY = /token|auth|pass|secret|key|otp|sig|credential|session/i
/** Values that are tokens whatever their place: npm's own, and long opaque strings in the query. */
const TOKEN_LIKE = /\bnpm_[A-Za-z0-9]{20,}/

/** Commander argParser for `--registry <url>`: an http(s) URL without credentials, kept as typed. */
export function parseRegistryFlag(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // Not echoed: a token pasted in the wrong place must not end up in a terminal log.
    throw new StagePublishError('EUSAGE', '--registry needs an http:// or https:// URL', { hint: 'For example --registry https://registry.npmjs.org/', exitCode: 2 })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StagePublishError('EUSAGE', '--registry needs an http:// or https:// URL', { hint: 'For example --registry https://registry.npmjs.org/', exitCode: 2 })
  }
  const query = [...url.searchParams.entries()]
  if (url.username || url.password || TOKEN_LIKE.test(value) || query.some(([k, v]) => SECRET_KEY.test(k) || /^[A-Za-z0-9_+/=-]{32,}$/.test(v))) {
    throw new StagePublishError('EUSAGE', '--registry must not carry credentials (a user, password or token in the URL)', {
      // Nothing of the URL is repeated: even its host may be a pasted token.
      hint: 'Give the registry URL alone and keep the credential in .npmrc (`npm login --registry <url>`, or an _authToken line for its host). If that URL was shared or logged, rotate the credential.',
      exitCode: 2,
    })
  }
  return value
}

/** `--registry <url>` with the command's own wording of what the registry is used for. */
export const registryOption = (description: string): Option => new Option('--registry <url>', description).argParser(parseRegistryFlag)

/** `--access <access>`: only what npm accepts. */
export const accessOption = (description: string): Option => new Option('--access <access>', description).choices(['public', 'restricted'])

/** `--auth-type <type>` (approve, reject): how the registry asks for the second factor, as npm's `auth-type`. */
export const authTypeOption = (description: string): Option => new Option('--auth-type <type>', description).choices(['legacy', 'web'])

/** Commander argParser for a duration flag (`--timeout 30m`, `--older-than 3d`): milliseconds. */
export function durationMs(value: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}
/** `--required <n>` (approvals, verify-approvals): how many distinct signers, 1 to 32. */
export const requiredOption = (description: string): Option =>
  new Option('--required <n>', description).argParser((value: string) => {
    if (!/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > 32) {
      throw new StagePublishError('EUSAGE', '--required needs a whole number of signers from 1 to 32', { hint: 'For example --required 2', exitCode: 2 })
    }
    return Number(value)
  })
