/**
 * Credentials in URLs: a registry URL from an .npmrc (`http://user:pass@host/`), a git remote
 * (`https://x-access-token:<token>@github.com/...`, `?access_token=...`) or a CI run URL can carry a
 * secret. What we store or print is the URL without it. Pure: no I/O.
 */
import { isSecretParam } from '../secret-param.js'

// The rule lives below errors.ts, which redacts with it too; kept importable from here.
export { isSecretParam }

/** `[user@]host:path`, git's scp-like syntax: no scheme, and a colon before the first slash. */
const SCP_LIKE = /^(?:([^@/]*)@)?([A-Za-z0-9][A-Za-z0-9.-]*):(?!\/\/)(.*)$/
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i

/** Whether `remote` is git's scp-like syntax (`git@github.com:org/repo.git`) rather than a URL. */
export const isScpLike = (remote: string): boolean => !HAS_SCHEME.test(remote) && SCP_LIKE.test(remote)

/** ssh logins (`ssh://git@host/...`) name an account, not a secret: they are kept unless a password comes with them. */
const SSH_SCHEMES = new Set(['ssh:', 'git+ssh:'])

interface Analysed {
  /** The URL without credentials. */
  clean: string
  /** Whether the original carried any. */
  found: boolean
}

function analyse(raw: string): Analysed {
  const url = String(raw)
  if (isScpLike(url)) {
    const [, user, host, rest] = SCP_LIKE.exec(url) as RegExpExecArray
    // A user with a colon is `user:password`; a plain user (`git`) is the ssh login.
    if (user !== undefined && user.includes(':')) return { clean: `${host}:${rest}`, found: true }
    return { clean: url, found: false }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not a URL (a local path such as /srv/git/repo.git): there is no userinfo or query to look at.
    return { clean: url, found: false }
  }
  let found = false
  const keepUser = SSH_SCHEMES.has(parsed.protocol) && parsed.password === ''
  if (parsed.password !== '' || (parsed.username !== '' && !keepUser)) {
    parsed.username = ''
    parsed.password = ''
    found = true
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (isSecretParam(name)) {
      parsed.searchParams.delete(name)
      found = true
    }
  }
  if (!found) return { clean: url, found: false }
  // Setting username to '' on a non-special URL can leave `//@host`: WHATWG keeps the empty userinfo out.
  return { clean: parsed.href.replace(/^([a-z][a-z0-9+.-]*:\/\/)@/i, '$1'), found: true }
}

/**
 * The URL without userinfo (http(s), git+http(s): always; ssh: when there is a password) and
 * without token-like query parameters. scp-like remotes (`git@host:org/repo.git`) and local paths
 * are kept as they are. A URL without credentials comes back unchanged, character for character.
 */
export const stripCredentials = (url: string): string => analyse(url).clean

/** Whether `url` carries a credential that stripCredentials would remove. */
export const hasCredentials = (url: string): boolean => analyse(url).found
