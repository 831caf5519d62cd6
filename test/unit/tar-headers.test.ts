/**
 * The raw-header look of the strict reader: what node-tar's parser passes over without a word but other
 * tar readers act on (and npm pack never writes) is refused; what npm pack writes is not.
 */
import { describe, expect, it } from 'vitest'
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { create, Pax } from 'tar'
import { readTarball } from '../../src/npm/tarball.js'
import { TarHeaderScanner } from '../../src/npm/tar-headers.js'
import { manifestEntry, tarOf, tgzOf } from '../support/tarball-builder.js'
import { paxPathEntry, tarWith } from '../support/hostile.js'

const m = { name: 'a', version: '1.0.0' }
const refusal = (bytes: Buffer, kind: 'staged' | 'published' = 'staged') =>
  readTarball(bytes, 'The tarball', { kind }).then(
    () => null,
    (err: unknown) => {
      const e = err as { code: string; message: string }
      return `${e.code}: ${e.message}`
    },
  )

describe('raw tar headers of a staged tarball', () => {
  it.each([
    ['a pax path with a line feed (node-tar keeps the ustar name, GNU tar uses the pax one)', tarWith([manifestEntry(m), paxPathEntry('package/a\nb.js')]), /pax path/],
    ['a pax path with a NUL (node-tar cuts it there)', tarWith([manifestEntry(m), paxPathEntry('package/a.js\u0000.png')]), /pax path/],
    ['a global pax header', tarWith([manifestEntry(m), new Pax({ path: '../evil' }, true).encode(), { path: 'package/b.js', data: 'x' }]), /global pax header/],
    ['a GNU dump-dir entry', tarWith([manifestEntry(m), { path: 'package/dump/', type: 'GNUDumpDir' }]), /dump-dir/],
    ['a folder entry that carries data', tarWith([manifestEntry(m), { path: 'package/lib/', type: 'Directory', size: 600, data: 'x'.repeat(600) }]), /folder entry carries data|EUNSAFETARBALL|ECORRUPT/],
  ])('refuses %s', async (_what, tar, why) => {
    expect(await refusal(gzipSync(tar))).toMatch(new RegExp(`^EUNSAFETARBALL|^ECORRUPT`))
    expect(await refusal(gzipSync(tar))).toMatch(why)
  })

  it('refuses a second archive appended as another gzip member (node-tar stops at the first end marker)', async () => {
    const two = Buffer.concat([tgzOf([manifestEntry(m)]), tgzOf([manifestEntry({ name: 'evil', version: '1.0.0' })])])
    expect(await refusal(two)).toMatch(/^EUNSAFETARBALL: .*after the end of the archive/)
  })

  it('accepts what tar (as npm pack uses it) writes: long paths and non-ASCII names in pax headers, padding after the end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-tarhdr-'))
    const deep = `lib/${'sub-directory-name/'.repeat(8)}file-with-a-long-name.js`
    await mkdir(join(dir, 'package', deep, '..'), { recursive: true })
    await writeFile(join(dir, 'package', 'package.json'), JSON.stringify(m))
    await writeFile(join(dir, 'package', deep), 'x')
    await writeFile(join(dir, 'package', 'café-ünïcödé.js'), 'y')
    const chunks: Buffer[] = []
    for await (const c of create({ cwd: dir, gzip: true, portable: true, noDirRecurse: false }, ['package/package.json', `package/${deep}`, 'package/café-ünïcödé.js'])) chunks.push(c)
    const contents = await readTarball(Buffer.concat(chunks))
    expect(contents.files.map((f) => f.path).sort()).toEqual(['café-ünïcödé.js', deep, 'package.json'].sort())
  })

  it('leaves a published baseline to the lenient reading', async () => {
    expect(await refusal(gzipSync(tarWith([manifestEntry(m), new Pax({ comment: 'x' }, true).encode(), { path: 'package/b.js', data: 'x' }])), 'published')).toBeNull()
  })

  it('finds the same problem whatever the chunking of the inflated stream', () => {
    const tar = tarWith([manifestEntry(m), paxPathEntry('package/a\nb.js')])
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      const scanner = new TarHeaderScanner()
      let why: string | undefined
      for (let i = 0; i < tar.length && !why; i += size) why = scanner.write(tar.subarray(i, i + size))
      expect(why, `chunks of ${size}`).toMatch(/pax path/)
    }
    const clean = new TarHeaderScanner()
    expect(clean.write(tarOf([manifestEntry(m), { path: 'package/x.js', data: 'x' }]))).toBeUndefined()
  })
})
