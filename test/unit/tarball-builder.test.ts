import { describe, expect, it } from 'vitest'
import { gunzipSync } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { gzipBomb, packageTgz, tgzOf } from '../support/tarball-builder.js'

const entries = async (tgz: Buffer) => {
  const seen: Array<{ path: string; type: string; linkpath?: string }> = []
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({ onReadEntry: (e: ReadEntry) => { seen.push({ path: e.path, type: e.type, ...(e.linkpath && { linkpath: e.linkpath }) }); e.resume() } })
    p.on('end', resolve)
    p.on('error', reject)
    p.end(tgz)
  })
  return seen
}

describe('tarball builder (test support)', () => {
  it('writes exactly the entries given, duplicates and links included', async () => {
    const tgz = tgzOf([
      { path: 'package/package.json', data: '{"name":"a","version":"1.0.0"}' },
      { path: 'package/package.json', data: '{"name":"b","version":"1.0.0"}' },
      { path: 'package/link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      { path: '../escape.js', data: 'x' },
    ])
    expect(await entries(tgz)).toEqual([
      { path: 'package/package.json', type: 'File' },
      { path: 'package/package.json', type: 'File' },
      { path: 'package/link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      { path: '../escape.js', type: 'File' },
    ])
  })
  it('packs a well-formed package', async () => {
    expect((await entries(packageTgz({ name: 'a', version: '1.0.0' }))).map((e) => e.path)).toEqual(['package/package.json', 'package/index.js'])
  })
  it('makes a gzip bomb that is small packed and large unpacked', async () => {
    const bomb = await gzipBomb({ name: 'a', version: '1.0.0' }, 64 * 1024 * 1024)
    expect(bomb.length).toBeLessThan(200 * 1024)
    expect(gunzipSync(bomb).length).toBeGreaterThan(64 * 1024 * 1024)
  })
})
