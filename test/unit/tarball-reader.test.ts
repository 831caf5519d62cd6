import { describe, expect, it } from 'vitest'
import { createGzip, gzipSync } from 'node:zlib'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { create, Pax } from 'tar'
import { readTarball, type ReadTarballOptions } from '../../src/npm/tarball.js'
import { DEFAULT_TARBALL_LIMITS, tarballLimits } from '../../src/core/limits.js'
import { StagePublishError } from '../../src/errors.js'
import { gzipBomb, manifestEntry, packageTgz, tarOf, tgzOf, type TarEntry } from '../support/tarball-builder.js'

const M = { name: 'a', version: '1.0.0' }
const pkgJson = manifestEntry(M)
/** One bomb for every test that needs it (building it costs seconds): 600 MiB of zeros, over the 512 MiB default. */
let bombP: Promise<Buffer> | undefined
const bomb = () => (bombP ??= gzipBomb(M, 600 * 1024 * 1024))

async function refusal(bytes: Buffer, options?: ReadTarballOptions): Promise<StagePublishError> {
  const err = await readTarball(bytes, 'The tarball', options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StagePublishError)
  return err as StagePublishError
}

const unsafe = async (entries: TarEntry[]) => {
  const err = await refusal(tgzOf(entries))
  expect(err.code).toBe('EUNSAFETARBALL')
  return err.message
}

describe('readTarball: a staged tarball must look like npm pack output', () => {
  it('reads an ordinary package', async () => {
    const c = await readTarball(packageTgz(M, { 'index.js': 'x', 'lib/a.js': 'y' }))
    expect(c.manifest).toEqual(M)
    expect(c.files.map((f) => [f.path, f.data.toString()])).toEqual([
      ['package.json', `${JSON.stringify(M, null, 2)}\n`],
      ['index.js', 'x'],
      ['lib/a.js', 'y'],
    ])
  })

  it('accepts a UTF-8 BOM in package.json, as npm does', async () => {
    const c = await readTarball(tgzOf([{ path: 'package/package.json', data: `\uFEFF${JSON.stringify(M)}` }]))
    expect(c.manifest).toEqual(M)
  })

  it('allows and ignores folder entries (tar c writes them; npm pack does not)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reader-'))
    try {
      await mkdir(join(dir, 'package/lib'), { recursive: true })
      await writeFile(join(dir, 'package/package.json'), JSON.stringify(M))
      await writeFile(join(dir, 'package/lib/a.js'), 'a')
      const chunks: Buffer[] = []
      for await (const chunk of create({ gzip: true, cwd: dir, portable: true }, ['package'])) chunks.push(Buffer.from(chunk as Uint8Array))
      const c = await readTarball(Buffer.concat(chunks))
      expect(c.files.map((f) => f.path).sort()).toEqual(['lib/a.js', 'package.json'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses two package.json entries (the manifest-confusion attack), naming the entry', async () => {
    const msg = await unsafe([pkgJson, manifestEntry({ name: 'evil', version: '1.0.0', scripts: { postinstall: 'x' } })])
    expect(msg).toContain('"package/package.json"')
    expect(msg).toContain('appears twice')
  })

  it('refuses any other exact duplicate', async () => {
    expect(await unsafe([pkgJson, { path: 'package/index.js', data: 'a' }, { path: 'package/index.js', data: 'b' }])).toContain('appears twice')
  })

  it('refuses names that are one file on macOS and Windows: case and Unicode normalisation', async () => {
    expect(await unsafe([pkgJson, { path: 'package/README.md', data: 'a' }, { path: 'package/readme.md', data: 'b' }])).toContain('same file as "README.md"')
    expect(await unsafe([pkgJson, { path: 'package/PACKAGE.JSON', data: '{}' }])).toContain('same file')
    expect(await unsafe([pkgJson, { path: 'package/caf\u00e9.js', data: 'a' }, { path: 'package/cafe\u0301.js', data: 'b' }])).toContain('same file')
  })

  it('refuses a name that is both a file and a folder', async () => {
    expect(await unsafe([pkgJson, { path: 'package/lib', data: 'a' }, { path: 'package/lib/x.js', data: 'b' }])).toContain('"lib" is a file, not a folder')
    expect(await unsafe([pkgJson, { path: 'package/lib/x.js', data: 'b' }, { path: 'package/lib', data: 'a' }])).toContain('"lib" is both a file and a folder')
    expect(await unsafe([pkgJson, { path: 'package/lib', data: 'a' }, { path: 'package/lib/', type: 'Directory' }])).toContain('"lib" is both a file and a folder')
    expect(await unsafe([pkgJson, { path: 'package/Lib/', type: 'Directory' }, { path: 'package/lib', data: 'a' }])).toContain('"Lib" is both a file and a folder')
  })

  it('reads a long name from a pax header, as npm pack writes it', async () => {
    const long = `lib/${'a'.repeat(300)}.js`
    const pax = new Pax({ path: `package/${long}` }).encode()
    const c = await readTarball(gzipSync(Buffer.concat([tarOf([pkgJson]).subarray(0, -1024), pax, tarOf([{ path: 'package/x.js', data: 'x' }])])))
    expect(c.files.map((f) => f.path)).toEqual(['package.json', long])
  })

  it('refuses an oversized extended (pax) header', async () => {
    const pax = new Pax({ path: `package/${'d/'.repeat(9000)}x.js` }).encode()
    const err = await refusal(gzipSync(Buffer.concat([tarOf([pkgJson]).subarray(0, -1024), pax, tarOf([{ path: 'package/x.js', data: 'x' }])])))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('extended header')
  })

  it.each([
    ['other/index.js', 'outside package/'],
    ['index.js', 'outside package/'],
    ['package', 'outside'],
    ['/package/index.js', 'absolute'],
    ['/etc/passwd', 'absolute'],
    ['C:/package/index.js', 'absolute'],
    ['package/../index.js', '".."'],
    ['package/lib/../../x.js', '".."'],
    ['package/./index.js', '"."'],
    ['package//index.js', 'empty segment'],
    ['package/lib\\index.js', 'backslash'],
    ['package/.git/HEAD', '.git'],
    ['package/.GIT/config', '.git'],
  ])('refuses the path %j', async (path, why) => {
    expect(await unsafe([pkgJson, { path, data: 'x' }])).toContain(why)
  })

  it.each([
    ['NUL-free C0 (BEL)', '\u0007'],
    ['ESC', '\u001b'],
    ['newline', '\n'],
    ['DEL', '\u007f'],
    ['C1 (NEL)', '\u0085'],
    ['C1 (CSI)', '\u009b'],
    ['right-to-left override', '\u202e'],
    ['right-to-left isolate', '\u2067'],
    ['zero-width space', '\u200b'],
    ['zero-width joiner', '\u200d'],
    ['byte order mark', '\ufeff'],
    ['line separator', '\u2028'],
  ])('refuses a %s in a name, and never repeats it raw', async (_label, ch) => {
    const msg = await unsafe([pkgJson, { path: `package/a${ch}b.js`, data: 'x' }])
    expect(msg).toContain('control, bidirectional or invisible character')
    expect(msg).not.toContain(ch)
    expect(msg).toContain(`\\u{${ch.codePointAt(0)!.toString(16)}}`)
  })

  it.each([
    [{ type: 'SymbolicLink', linkpath: '/etc/passwd' }, 'symbolic link'],
    [{ type: 'SymbolicLink', linkpath: 'index.js' }, 'symbolic link'],
    [{ type: 'Link', linkpath: 'package/package.json' }, 'hard link'],
    [{ type: 'CharacterDevice' }, 'character device'],
    [{ type: 'BlockDevice' }, 'block device'],
    [{ type: 'FIFO' }, 'FIFO'],
    [{ type: 'ContiguousFile', data: 'x' }, 'contiguous file'],
  ] as const)('refuses a %o entry', async (shape, why) => {
    expect(await unsafe([pkgJson, { path: 'package/thing', ...shape }])).toContain(why)
  })

  it('refuses an entry of a type tar does not know (tar would skip it silently)', async () => {
    const tar = tarOf([pkgJson, { path: 'package/odd', data: 'x' }])
    // Rewrite the second header's type flag to 'Z' and fix its checksum.
    const h = tar.subarray(1024, 1536)
    h[156] = 'Z'.charCodeAt(0)
    h.fill(0x20, 148, 156)
    const sum = h.reduce((a, b) => a + b, 0)
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    const err = await refusal(gzipSync(tar))
    expect(err.code).toBe('EUNSAFETARBALL')
    expect(err.message).toContain('"package/odd"')
  })
})

describe('readTarball: corrupt input is ECORRUPT', () => {
  const corrupt = async (bytes: Buffer, why: RegExp) => {
    const err = await refusal(bytes)
    expect(err.code).toBe('ECORRUPT')
    expect(err.message).toMatch(why)
  }
  it('truncated', async () => corrupt(packageTgz(M).subarray(0, 60), /corrupt or truncated/))
  it('garbage', async () => corrupt(Buffer.from('this is not a tarball at all, not even close'), /not gzip/))
  it('an uncompressed tar', async () => corrupt(tarOf([pkgJson]), /not gzip/))
  it('gzip of gzip', async () => corrupt(gzipSync(packageTgz(M)), /twice/))
  it('data after the gzip stream', async () => corrupt(Buffer.concat([packageTgz(M), Buffer.alloc(64)]), /after the end of its gzip stream/))
  it('a header that lies about the size', async () => corrupt(tgzOf([pkgJson, { path: 'package/x.js', data: 'abc', size: 4000 }]), /corrupt/))
  it('no package.json', async () => corrupt(tgzOf([{ path: 'package/index.js', data: 'x' }]), /no package\.json/))
  it('package.json not JSON', async () => corrupt(tgzOf([{ path: 'package/package.json', data: '{nope' }]), /not valid JSON/))
  it('package.json not an object', async () => {
    await corrupt(tgzOf([{ path: 'package/package.json', data: '[1]' }]), /not a JSON object/)
    await corrupt(tgzOf([{ path: 'package/package.json', data: 'null' }]), /not a JSON object/)
  })
})

describe('readTarball: limits (ETOOLARGE)', () => {
  const limits = (over: Partial<typeof DEFAULT_TARBALL_LIMITS>) => ({ limits: { ...DEFAULT_TARBALL_LIMITS, ...over } })

  it('too many entries', async () => {
    const err = await refusal(packageTgz(M, { 'a.js': 'a', 'b.js': 'b' }), limits({ maxFiles: 2 }))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('more than 2 entries')
    expect(err.hint).toContain('STAGE_PUBLISH_MAX_FILES')
    await expect(readTarball(packageTgz(M, { 'a.js': 'a', 'b.js': 'b' }), 'x', limits({ maxFiles: 3 }))).resolves.toBeTruthy()
  })

  it('too many unpacked bytes, checked at the header', async () => {
    const err = await refusal(packageTgz(M, { 'big.bin': Buffer.alloc(5000) }), limits({ maxUnpackedSize: 4096 }))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('"package/big.bin"')
  })

  it('too many packed bytes', async () => {
    const err = await refusal(packageTgz(M), limits({ maxPackedSize: 50 }))
    expect(err.code).toBe('ETOOLARGE')
  })

  it('a gzip bomb (600 MiB of zeros in one entry) fails at once with bounded memory', async () => {
    const bytes = await bomb()
    expect(bytes.length).toBeLessThan(2 * 1024 * 1024)
    const before = process.memoryUsage()
    const started = performance.now()
    const err = await refusal(bytes)
    const elapsed = performance.now() - started
    const grew = process.memoryUsage().rss - before.rss
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('"package/zeros.bin"')
    expect(elapsed).toBeLessThan(1500)
    expect(grew).toBeLessThan(100 * 1024 * 1024)
  })

  it('zeros hidden after the end of the archive fail fast too', async () => {
    // 300 MB of zeros after a tiny, valid archive: no header accounts for them.
    const gz = createGzip({ level: 1 })
    const chunks: Buffer[] = []
    gz.on('data', (c: Buffer) => chunks.push(c))
    const done = new Promise((r) => gz.on('end', r))
    gz.write(tarOf([pkgJson]))
    const zeros = Buffer.alloc(4 * 1024 * 1024)
    for (let i = 0; i < 75; i++) gz.write(zeros)
    gz.end()
    await done
    const bomb = Buffer.concat(chunks)
    const started = performance.now()
    const before = process.memoryUsage().rss
    const err = await refusal(bomb)
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('more than its entries account for')
    expect(performance.now() - started).toBeLessThan(1500)
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024)
  })

  it('limits come from the environment', () => {
    expect(tarballLimits({})).toEqual(DEFAULT_TARBALL_LIMITS)
    expect(tarballLimits({ STAGE_PUBLISH_MAX_FILES: '10', STAGE_PUBLISH_MAX_UNPACKED_SIZE: '2m', STAGE_PUBLISH_MAX_PACKED_SIZE: '1GiB' })).toEqual({
      maxFiles: 10,
      maxUnpackedSize: 2 * 1024 * 1024,
      maxPackedSize: 1024 * 1024 * 1024,
    })
    expect(tarballLimits({ STAGE_PUBLISH_MAX_UNPACKED_SIZE: '1500' }).maxUnpackedSize).toBe(1500)
    for (const bad of [{ STAGE_PUBLISH_MAX_FILES: '10k' }, { STAGE_PUBLISH_MAX_FILES: '0' }, { STAGE_PUBLISH_MAX_UNPACKED_SIZE: 'lots' }, { STAGE_PUBLISH_MAX_PACKED_SIZE: '-1' }]) {
      expect(() => tarballLimits(bad)).toThrow(expect.objectContaining({ code: 'ECONFIG' }))
    }
  })
})

describe('readTarball: a published baseline is read leniently', () => {
  const published = { kind: 'published' as const }

  it('accepts another top-level folder and skips what npm would not install as a file', async () => {
    const c = await readTarball(
      tgzOf([
        { path: 'node-a/package.json', data: JSON.stringify(M) },
        { path: 'node-a/index.js', data: 'x' },
        { path: 'node-a/link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'node-a/../escape.js', data: 'x' },
        { path: 'node-a/README', data: 'a' },
        { path: 'node-a/readme', data: 'b' },
      ]),
      'The published tarball',
      published,
    )
    expect(c.manifest).toEqual(M)
    expect(c.files.map((f) => f.path)).toEqual(['package.json', 'index.js', 'README', 'readme'])
  })

  it('still refuses exact duplicates and still applies the limits', async () => {
    const dup = await refusal(tgzOf([pkgJson, manifestEntry({ name: 'b', version: '1.0.0' }, 'other/package.json')]), published)
    expect(dup.code).toBe('EUNSAFETARBALL')
    const big = await refusal(await bomb(), published)
    expect(big.code).toBe('ETOOLARGE')
  })
})

describe('readTarball: the manifest shown is the one npm would publish', () => {
  const codeOf = async (tgz: Buffer, kind?: 'staged' | 'published') => readTarball(tgz, 'The tarball', kind ? { kind } : {}).then(() => null, (e: unknown) => (e as StagePublishError).code)
  it('refuses a staged version that cleaning would change (shown as one version, published as another), and a missing name', async () => {
    // Build metadata too: libnpmpublish's semver.clean drops it, so 1.0.0+build.5 is published as 1.0.0.
    for (const version of ['v1.0.0', ' 1.0.0', '=1.0.0', '1.0', 1, '1.0.0+build.5']) expect(await codeOf(packageTgz({ name: 'a', version }))).toBe('ECORRUPT')
    expect(await codeOf(packageTgz({ version: '1.0.0' }))).toBe('ECORRUPT')
    expect(await codeOf(packageTgz({ name: 'a', version: '1.0.0-beta.1' }))).toBeNull()
    // An old published version is only a baseline: read as it is.
    expect(await codeOf(packageTgz({ name: 'a', version: 'v1.0.0' }), 'published')).toBeNull()
  })
  it('adds the install and start scripts npm adds for a root *.gyp and server.js, in both kinds of reading', async () => {
    const gyp = await readTarball(packageTgz({ name: 'a', version: '1.0.0' }, { 'binding.gyp': '{}', 'server.js': '' }))
    expect(gyp.manifest.scripts).toEqual({ install: 'node-gyp rebuild', start: 'node server.js' })
    expect(gyp.manifest.gypfile).toBe(true)
    const published = await readTarball(packageTgz({ name: 'a', version: '1.0.0' }, { 'binding.gyp': '{}' }), 'The tarball', { kind: 'published' })
    expect(published.manifest.scripts).toEqual({ install: 'node-gyp rebuild' })
    // npm finds them with a glob and fs.access, which a folder of that name satisfies too.
    const folders = await readTarball(packageTgz({ name: 'a', version: '1.0.0' }, { 'binding.gyp/index.js': 'x', 'server.js/x.js': 'y' }))
    expect(folders.manifest.scripts).toEqual({ install: 'node-gyp rebuild', start: 'node server.js' })
  })
  it('keeps explicit scripts, gypfile: false, and files below the root as they are', async () => {
    const own = await readTarball(packageTgz({ name: 'a', version: '1.0.0', scripts: { preinstall: 'x', start: 'y' } }, { 'binding.gyp': '{}', 'server.js': '' }))
    expect(own.manifest.scripts).toEqual({ preinstall: 'x', start: 'y' })
    const off = await readTarball(packageTgz({ name: 'a', version: '1.0.0', gypfile: false }, { 'binding.gyp': '{}', 'lib/server.js': '' }))
    expect(off.manifest.scripts).toBeUndefined()
  })
})
