import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { chooseBackend, defaultBackendDir, parseBackendUrl } from '../../src/backends/index.js'

describe('chooseBackend', () => {
  it('prefers the flag, then the environment, then package.json, then the default', () => {
    const env = { STAGE_PUBLISH_BACKEND: 's3://env/x' }
    expect(chooseBackend({ flag: 'file:/a', env, packageBackend: 's3://pkg' })).toEqual({ url: 'file:/a', source: 'flag' })
    expect(chooseBackend({ env, packageBackend: 's3://pkg' })).toEqual({ url: 's3://env/x', source: 'env' })
    expect(chooseBackend({ env: {}, packageBackend: 's3://pkg' })).toEqual({ url: 's3://pkg', source: 'package.json' })
    expect(chooseBackend({ env: { XDG_STATE_HOME: '/state' } })).toEqual({ url: 'file:/state/stage-publish', source: 'default' })
  })
  it('resolves a relative file: backend in package.json from the package folder', () => {
    expect(chooseBackend({ env: {}, packageBackend: 'file:.staged', packageDir: '/repo/pkg' }).url).toBe('file:/repo/pkg/.staged')
  })
  it('defaults to ~/.local/state/stage-publish without XDG_STATE_HOME', () => {
    expect(defaultBackendDir({})).toMatch(/\.local[/\\]state[/\\]stage-publish$/)
  })
})

describe('parseBackendUrl', () => {
  it('knows file:, s3:// and registry backends', () => {
    expect(parseBackendUrl('file:rel', '/cwd')).toEqual({ kind: 'file', dir: path.resolve('/cwd/rel') })
    expect(parseBackendUrl('file:///abs/dir')).toEqual({ kind: 'file', dir: '/abs/dir' })
    expect(parseBackendUrl('s3://b/p?region=eu-west-1')).toEqual({ kind: 's3', url: 's3://b/p?region=eu-west-1' })
    expect(parseBackendUrl('registry')).toEqual({ kind: 'registry' })
    expect(parseBackendUrl('registry+https://r.example/')).toEqual({ kind: 'registry', registry: 'https://r.example/' })
  })
  it('refuses anything else without echoing credentials', () => {
    expect(() => parseBackendUrl('ftp://user:pw@host/x')).toThrow(/Unknown backend/)
    try {
      parseBackendUrl('ftp://user:pw@host/x')
    } catch (err) {
      expect((err as Error).message).not.toContain('pw')
    }
  })
})
