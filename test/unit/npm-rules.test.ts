import { errorCodeOf } from '../support/cli.js'
import { describe, expect, it } from 'vitest'
import { checkTagName, checkVersionAgainstRegistry } from '../../src/core/npm-rules.js'
import { parseDuration } from '../../src/core/duration.js'
import { tarballFileName } from '../../src/core/file-names.js'


describe('npm tag rules', () => {
  const check = (version: string, versions: string[], explicitTag = false) =>
    errorCodeOf(() => checkVersionAgainstRegistry({ name: 'p', version, explicitTag, published: { versions } }))

  it('allows a new highest version with the default tag', () => {
    expect(check('1.1.0', ['1.0.0'])).toBeUndefined()
    expect(check('1.0.0', [])).toBeUndefined()
  })
  it('needs an explicit tag for a prerelease', () => {
    expect(check('2.0.0-beta.1', ['1.0.0'])).toBe('ETAG')
    expect(check('2.0.0-beta.1', ['1.0.0'], true)).toBeUndefined()
  })
  it('needs an explicit tag for a version lower than the highest', () => {
    expect(check('0.9.0', ['1.0.0'])).toBe('ETAG')
    expect(check('0.9.0', ['1.0.0'], true)).toBeUndefined()
  })
  it('ignores prereleases when finding the highest version', () => {
    expect(check('1.1.0', ['1.0.0', '2.0.0-rc.1'])).toBeUndefined()
  })
  it('refuses a version already published, whatever the tag', () => {
    expect(check('1.0.0', ['1.0.0'], true)).toBe('EPUBLISHCONFLICT')
  })
  it('refuses tag names that are semver ranges or not URL-safe', () => {
    expect(errorCodeOf(() => checkTagName('^1.0.0'))).toBe('ETAG')
    expect(errorCodeOf(() => checkTagName('a b'))).toBe('ETAG')
    expect(errorCodeOf(() => checkTagName('next'))).toBeUndefined()
  })
})

describe('durations', () => {
  it('parses units', () => {
    expect(parseDuration('30d')).toBe(30 * 86400e3)
    expect(parseDuration('12h')).toBe(12 * 3600e3)
    expect(parseDuration('90m')).toBe(90 * 60e3)
    expect(parseDuration('2w')).toBe(14 * 86400e3)
    expect(parseDuration('45s')).toBe(45e3)
  })
  it.each(['', '30', 'd', '-1d', '0d', '400d', '1y'])('refuses %j', (text) => {
    expect(errorCodeOf(() => parseDuration(text))).toBe('EUSAGE')
  })
})

describe('tarballFileName', () => {
  it('flattens the scope like npm', () => {
    expect(tarballFileName('@scope/pkg', '1.0.0', 'abc')).toBe('scope-pkg-1.0.0-abc.tgz')
  })
  it('cannot be turned into a path', () => {
    const name = tarballFileName('../../etc/passwd', '1.0.0/../../x')
    expect(name).not.toContain('/')
    expect(name.startsWith('.')).toBe(false)
  })
})
