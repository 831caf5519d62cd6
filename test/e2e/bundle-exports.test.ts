/**
 * A package the CLI imports with `await import()` must look the same bundled as under Node: esbuild would
 * give a CommonJS one only `default`, so `const { verify } = await import('sigstore')` would pass the
 * unit tests (which run src/) and break the shipped CLI. scripts/build.mjs wraps such imports; this checks
 * every dynamically imported package in dist/ against Node's own import of the same file.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../support/cli.js'

interface Metafile { outputs: Record<string, { entryPoint?: string }> }
const meta = JSON.parse(readFileSync(path.join(ROOT, '.tmp', 'build-meta.json'), 'utf8')) as Metafile
const packageEntries = Object.entries(meta.outputs).flatMap(([output, o]) => {
  const source = o.entryPoint?.replace(/^cjs-interop:/, '')
  return source?.includes('node_modules/') ? [{ output, source: path.resolve(ROOT, source), wrapped: o.entryPoint !== source }] : []
})
const names = (namespace: object) => Object.keys(namespace).filter((n) => n !== 'module.exports').sort()

describe('packages imported on demand, bundled', () => {
  it('include a CommonJS one (ci-info) that the build had to wrap', () => {
    expect(packageEntries.filter((e) => e.wrapped).map((e) => path.basename(path.dirname(e.source)))).toContain('ci-info')
  })
  // At least Node's names (it finds them by reading the source; the build, by loading the module: a few more).
  it.each(packageEntries.map((e) => [path.relative(ROOT, e.source), e] as const))('%s has the exports Node gives it', async (_label, entry) => {
    const bundled = (await import(pathToFileURL(path.join(ROOT, entry.output)).href)) as Record<string, unknown>
    const native = (await import(pathToFileURL(entry.source).href)) as Record<string, unknown>
    expect(names(native).length).toBeGreaterThan(1)
    expect(names(bundled)).toEqual(expect.arrayContaining(names(native)))
    for (const name of names(native)) expect(typeof bundled[name], name).toBe(typeof native[name])
  })
})
