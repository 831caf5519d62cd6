/**
 * The offline verification swap (src/npm/provenance-publish.ts) changes the `sigstore` module that
 * libnpmpublish calls. It resolves sigstore itself, so both must be the same installed copy: a second
 * copy (a lockfile change nesting one under libnpmpublish) would make the swap miss and publishing go
 * online. This fails the day that happens, before any publish does.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)

describe('provenance publish', () => {
  it('libnpmpublish and stage-publish resolve the same sigstore', () => {
    const fromLibnpmpublish = require.resolve('sigstore', { paths: [path.dirname(require.resolve('libnpmpublish'))] })
    const fromSrc = require.resolve('sigstore', { paths: [path.resolve('src/npm')] })
    expect(fromLibnpmpublish).toBe(fromSrc)
  })
})
