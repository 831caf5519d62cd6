/**
 * Trusted publishing, the pure part (src/npm/oidc-parse.ts): when npm would try it, and the strict
 * reading of what GitHub's token service and the registry's exchange endpoint answer.
 */
import { describe, expect, it } from 'vitest'
import { audienceFor, checkIdToken, exchangeRefusal, parseExchangeToken, parseGithubIdToken, planOidc, publicRepository, serverMessage, stageRefusal } from '../../src/npm/oidc-parse.js'
import { StagePublishError } from '../../src/errors.js'

const jwt = (claims: unknown) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`
const AUD = 'npm:registry.npmjs.org'
const json = (value: unknown) => Buffer.from(JSON.stringify(value))

function thrown(fn: () => unknown): StagePublishError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(StagePublishError)
    return err as StagePublishError
  }
  throw new Error('did not throw')
}

describe('planOidc: when npm tries trusted publishing', () => {
  it('only in GitHub Actions, GitLab CI/CD and CircleCI; CI=false turns it off', () => {
    expect(planOidc({})).toBeUndefined()
    expect(planOidc({ CI: 'true', NPM_ID_TOKEN: 'x' })).toBeUndefined()
    expect(planOidc({ CI: 'true', JENKINS_URL: 'http://j', NPM_ID_TOKEN: 'x' })).toBeUndefined()
    expect(planOidc({ CI: 'false', GITHUB_ACTIONS: 'true', NPM_ID_TOKEN: 'x' })).toBeUndefined()
    expect(planOidc({ GITHUB_ACTIONS: '' , NPM_ID_TOKEN: 'x' })).toBeUndefined()
  })

  it('GitHub Actions: the runner\'s token service needs both variables (`id-token: write`); NPM_ID_TOKEN wins over it', () => {
    expect(planOidc({ GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'https://t/x?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'r' })).toEqual({
      provider: 'GitHub Actions',
      source: 'request',
      requestUrl: 'https://t/x?api-version=2.0',
      requestToken: 'r',
    })
    expect(planOidc({ GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'https://t/x' })).toEqual({ provider: 'GitHub Actions', source: 'none' })
    expect(planOidc({ GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'https://t/x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'r', NPM_ID_TOKEN: 'id' })).toEqual({ provider: 'GitHub Actions', source: 'NPM_ID_TOKEN', idToken: 'id' })
  })

  it('GitLab and CircleCI: NPM_ID_TOKEN only', () => {
    expect(planOidc({ GITLAB_CI: 'true', NPM_ID_TOKEN: 'id' })).toEqual({ provider: 'GitLab CI/CD', source: 'NPM_ID_TOKEN', idToken: 'id' })
    expect(planOidc({ GITLAB_CI: 'true', CI_JOB_JWT_V2: 'old' })).toEqual({ provider: 'GitLab CI/CD', source: 'none' })
    expect(planOidc({ CIRCLECI: 'true', CIRCLE_OIDC_TOKEN_V2: 'fixed-audience' })).toEqual({ provider: 'CircleCI', source: 'none' })
    expect(planOidc({ CIRCLECI: 'true', NPM_ID_TOKEN: 'id' })).toEqual({ provider: 'CircleCI', source: 'NPM_ID_TOKEN', idToken: 'id' })
  })

  it('the audience is npm: and the registry\'s host name, without port or path', () => {
    expect(audienceFor('https://registry.npmjs.org/')).toBe(AUD)
    expect(audienceFor('http://127.0.0.1:4873/some/path/')).toBe('npm:127.0.0.1')
  })
})

describe('checkIdToken: only an id token for this registry is ever sent', () => {
  it('accepts a JWT whose aud is the registry\'s (a string or one of a list)', () => {
    const t = jwt({ aud: AUD })
    expect(checkIdToken(t, AUD, 'NPM_ID_TOKEN', 'h')).toBe(t)
    const list = jwt({ aud: ['other', AUD] })
    expect(checkIdToken(list, AUD, 'NPM_ID_TOKEN', 'h')).toBe(list)
  })

  it('refuses another audience, no audience, claims that are not JSON, and what is not a JWT, without echoing the token', () => {
    const foreign = jwt({ aud: 'sts.amazonaws.com' })
    const e = thrown(() => checkIdToken(foreign, AUD, 'NPM_ID_TOKEN', 'the hint'))
    expect(e.code).toBe('EOIDC')
    expect(e.message).toBe('NPM_ID_TOKEN is not an OIDC id token for npm:registry.npmjs.org: its audience is "sts.amazonaws.com", so it was not sent')
    expect(e.hint).toBe('the hint')
    expect(`${e.message}${e.hint ?? ''}`).not.toContain(foreign)
    expect(thrown(() => checkIdToken(jwt({ sub: 'x' }), AUD, 'T', 'h')).message).toContain('its audience is missing')
    expect(thrown(() => checkIdToken(jwt({ aud: '\u001b[31mred' }), AUD, 'T', 'h')).message).not.toContain('\u001b')
    expect(thrown(() => checkIdToken('a.bm90IGpzb24.c', AUD, 'T', 'h')).message).toContain('its claims are not JSON')
    for (const bad of ['', 'plain-secret', 'a.b', 'a.b.c.d', 'a\nb.c.d', `${'a'.repeat(20_000)}.b.c`]) {
      expect(thrown(() => checkIdToken(bad, AUD, 'T', 'h')).message).toContain('it is not a JSON Web Token')
    }
  })
})

describe('parseGithubIdToken: the runner\'s answer', () => {
  it('200 { value } with the right audience', () => {
    const t = jwt({ aud: AUD })
    expect(parseGithubIdToken(200, json({ count: 1, value: t }), AUD)).toBe(t)
  })

  it('refusals and odd answers are EOIDC with the permission hint', () => {
    const refused = thrown(() => parseGithubIdToken(403, json({ message: 'Resource not accessible by integration' }), AUD))
    expect(refused.message).toBe('GitHub Actions refused to issue an id token for npm:registry.npmjs.org (HTTP 403: Resource not accessible by integration)')
    expect(refused.hint).toContain('`id-token`: `write`')
    expect(thrown(() => parseGithubIdToken(200, json({ count: 0 }), AUD)).message).toContain('without a token')
    expect(thrown(() => parseGithubIdToken(200, Buffer.from('<html>'), AUD)).message).toContain('without a token')
    expect(thrown(() => parseGithubIdToken(200, json({ value: jwt({ aud: 'x' }) }), AUD)).message).toContain('its audience is "x"')
    expect(thrown(() => parseGithubIdToken(500, Buffer.from('<html><h1>oops</h1></html>'), AUD)).message).toBe('GitHub Actions refused to issue an id token for npm:registry.npmjs.org (HTTP 500)')
  })
})

describe('parseExchangeToken: the registry\'s token', () => {
  it('2xx { token }: printable ASCII without spaces, bounded', () => {
    expect(parseExchangeToken(201, json({ token: 'npm_abcDEF123' }), 'R')).toBe('npm_abcDEF123')
    expect(parseExchangeToken(200, json({ token: 'a.b-c_d~e', expires: 'soon' }), 'R')).toBe('a.b-c_d~e')
  })

  it('anything else is refused, and the body is not repeated', () => {
    for (const [status, body] of [
      [201, json({ token: 'abc\r\nX-Injected: 1' })],
      [201, json({ token: 'with space' })],
      [201, json({ token: '' })],
      [201, json({ token: 'x'.repeat(5000) })],
      [201, json({ token: 42 })],
      [201, json(['token'])],
      [201, Buffer.from('{"token": "unterminated')],
      [201, Buffer.from('<html>token</html>')],
      [302, json({ token: 'fine-but-not-2xx' })],
    ] as Array<[number, Buffer]>) {
      const e = thrown(() => parseExchangeToken(status, body, 'R'))
      expect(e.code).toBe('EOIDC')
      expect(e.message).toBe(`R answered the token exchange (HTTP ${status}) without a usable token`)
    }
  })
})

describe('serverMessage: one safe line of a hostile body', () => {
  it('message or error, control and bidi characters replaced, one line, at most 300 characters', () => {
    expect(serverMessage(json({ message: 'OIDC token exchange error - package not found' }))).toBe('OIDC token exchange error - package not found')
    expect(serverMessage(json({ error: 'OIDC permission denied for this action' }))).toBe('OIDC permission denied for this action')
    const hostile = serverMessage(json({ message: 'a\u001b[2J\nb\u202ec\u0007' })) ?? ''
    expect(hostile).not.toMatch(/[\u0000-\u001f\u007f\u202e]/)
    expect(hostile).toContain('a')
    expect(serverMessage(json({ message: 'x'.repeat(10_000) }))).toHaveLength(300)
    expect(serverMessage(Buffer.from('<!doctype html><p>Sign in</p>'))).toBeUndefined()
    expect(serverMessage(json({ message: 7 }))).toBeUndefined()
    expect(serverMessage(json('message'))).toBeUndefined()
  })
})

describe('exchangeRefusal and stageRefusal: the registry\'s refusals in words', () => {
  const ctx = { packageName: 'widgets', where: 'https://registry.npmjs.org/', provider: 'GitHub Actions' as const }
  const notFound = json({ message: 'OIDC token exchange error - package not found' })

  it('404 for a package the registry does not have: a trusted publisher needs the package', () => {
    const e = exchangeRefusal(404, notFound, { ...ctx, packageExists: false })
    expect(e.code).toBe('EOIDC')
    expect(e.message).toBe('https://registry.npmjs.org/ would not exchange the GitHub Actions id token for a token to stage widgets: the package does not exist there yet, and a trusted publisher can only be configured for an existing package (https://registry.npmjs.org/ answered 404: OIDC token exchange error - package not found)')
    expect(e.hint).toContain('Publish the first version')
  })

  it('404 for an existing package: no trusted publisher matches this job', () => {
    const e = exchangeRefusal(404, notFound, { ...ctx, packageExists: true })
    expect(e.message).toContain('the package has no trusted publisher that matches this GitHub Actions job')
    expect(e.hint).toContain('--allow-stage-publish')
  })

  it('404 when the registry would not say whether the package exists: both causes named', () => {
    const e = exchangeRefusal(404, notFound, { ...ctx, packageExists: undefined })
    expect(e.message).toContain('the package does not exist there yet, or it has no trusted publisher that matches this GitHub Actions job')
  })

  it('a refusal that speaks of staging or permissions: the trusted publisher does not allow staging', () => {
    const e = exchangeRefusal(403, json({ message: 'Trusted publisher does not permit stage publish' }), { ...ctx, packageExists: true })
    expect(e.message).toContain('its trusted publisher does not allow staging')
    expect(e.hint).toContain('must allow stage publish, not only publish')
  })

  it('401/403 otherwise: the identity does not match, or the token expired; 5xx: said as is', () => {
    expect(exchangeRefusal(401, json({ message: 'invalid token' }), { ...ctx, packageExists: true }).message).toContain('does not match a trusted publisher of the package, or it expired')
    expect(exchangeRefusal(503, Buffer.from('<html>'), { ...ctx, packageExists: true }).message).toBe('https://registry.npmjs.org/ would not exchange the GitHub Actions id token for a token to stage widgets (https://registry.npmjs.org/ answered 503)')
  })

  it('a stage request refused with the exchanged token: 403 is a trust configuration for publishing only', () => {
    const e = stageRefusal(403, 'OIDC permission denied for this action', ctx)
    expect(e?.message).toBe('https://registry.npmjs.org/ refused to stage widgets with the short-lived token from trusted publishing (GitHub Actions): 403 OIDC permission denied for this action')
    expect(e?.hint).toContain('allows `npm publish` but not `npm stage publish`')
    expect(stageRefusal(401, 'expired', ctx)?.hint).toContain('run the job again')
    expect(stageRefusal(403, 'Package name too similar to existing package', ctx)).toBeUndefined()
    expect(stageRefusal(409, 'exists', ctx)).toBeUndefined()
    expect(stageRefusal(undefined, '', ctx)).toBeUndefined()
  })
})

describe('publicRepository: npm\'s rule for automatic provenance after an exchange', () => {
  it('GitHub: repository_visibility public; GitLab: project_visibility public and SIGSTORE_ID_TOKEN; CircleCI: never', () => {
    expect(publicRepository(jwt({ repository_visibility: 'public' }), 'GitHub Actions', {})).toBe(true)
    expect(publicRepository(jwt({ repository_visibility: 'private' }), 'GitHub Actions', {})).toBe(false)
    expect(publicRepository(jwt({ project_visibility: 'public' }), 'GitLab CI/CD', {})).toBe(false)
    expect(publicRepository(jwt({ project_visibility: 'public' }), 'GitLab CI/CD', { SIGSTORE_ID_TOKEN: 'x' })).toBe(true)
    expect(publicRepository(jwt({ repository_visibility: 'public', project_visibility: 'public' }), 'CircleCI', { SIGSTORE_ID_TOKEN: 'x' })).toBe(false)
    expect(publicRepository('not-a-jwt', 'GitHub Actions', {})).toBe(false)
    expect(publicRepository('a.bm90IGpzb24.c', 'GitHub Actions', {})).toBe(false)
  })
})
