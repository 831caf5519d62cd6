import { afterAll, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publishManifest } from '../../src/npm/publish-manifest.js'
import { readTarball } from '../../src/npm/tarball.js'
import { StagePublishError } from '../../src/errors.js'
import { packageTgz, sha512Of } from '../support/tarball-builder.js'

const require = createRequire(import.meta.url)
const pacote = require('pacote') as { manifest(spec: string, opts: object): Promise<Record<string, unknown>> }

const work = await mkdtemp(join(tmpdir(), 'publish-manifest-'))
afterAll(() => rm(work, { recursive: true, force: true }))

/** What npm publish <tarball> sends today: pacote reads the file (npm lib/commands/publish.js #getManifest). */
async function pacoteManifest(tgz: Buffer): Promise<Record<string, unknown>> {
  const file = join(work, `${Math.random().toString(16).slice(2)}.tgz`)
  await writeFile(file, tgz)
  return pacote.manifest(`file:${file}`, { cache: join(work, 'cache'), fullMetadata: true, fullReadJson: true })
}

const wire = (x: unknown): unknown => JSON.parse(JSON.stringify(x))

async function ours(tgz: Buffer) {
  return publishManifest({ bytes: tgz, contents: await readTarball(tgz) })
}

const cases: Array<[string, Record<string, unknown>, Record<string, string | Buffer>]> = [
  ['bin as a string, README, scripts through node_modules/.bin', {
    name: 'plain', version: '1.2.3', description: 'd', main: 'index.js', bin: './cli.js',
    scripts: { test: 'node_modules/.bin/vitest', postinstall: 'node setup.js' }, repository: 'github:o/r',
    dependencies: { 'left-pad': '^1.3.0' }, bundleDependencies: true,
  }, { 'index.js': 'x', 'cli.js': '#!/usr/bin/env node\n', 'setup.js': '', 'README.md': '# plain\n\nHello.\n' }],
  ['directories.bin and directories.man', {
    name: '@scope/dirs', version: '2.0.0-beta.1', directories: { bin: './bin', man: './man' },
  }, { 'bin/one': '#!/bin/sh\n', 'bin/sub/two': '#!/bin/sh\n', 'man/dirs.1': '.TH DIRS 1\n', 'readme.markdown': 'readme' }],
  ['binding.gyp, server.js, AUTHORS, index.d.ts', {
    name: 'native', version: '0.0.1', license: 'MIT',
  }, { 'binding.gyp': '{}', 'server.js': '', AUTHORS: 'A <a@example.com>\n# comment\nB\n', 'index.js': '', 'index.d.ts': 'export {}\n' }],
  ['no README, bin as an array, funding as a string', {
    name: 'bare', version: '3.0.0', bin: ['./x.js'], funding: 'https://example.com/fund', gypfile: false,
  }, { 'x.js': '', 'binding.gyp': '{}' }],
]

describe('publishManifest: the same manifest pacote gave npm publish <tarball>', () => {
  it.each(cases)('%s', async (_label, manifest, files) => {
    const tgz = packageTgz(manifest, files)
    const expected = await pacoteManifest(tgz)
    const actual = await ours(tgz)
    // pacote names the temporary file it read; we leave those two out on purpose.
    const { _resolved, _from, ...rest } = expected
    expect(_resolved).toEqual(expect.any(String))
    // Compared as sent (JSON): json-parse-even-better-errors also tags the object with symbols for
    // the file's indent and newline, which never leave the process.
    expect(wire(actual)).toEqual(wire(rest))
    expect(actual).not.toHaveProperty('_resolved')
    expect(actual._integrity).toBe(sha512Of(tgz))
  })

  it('uses the package.json object that was read and reviewed, with npm\'s BOM handling', async () => {
    const tgz = packageTgz({ name: 'a', version: '1.0.0' })
    const contents = await readTarball(tgz)
    const m = await publishManifest({ bytes: tgz, contents }, { name: 'a', version: '1.0.0' })
    expect(m).toMatchObject({ name: 'a', version: '1.0.0', _id: 'a@1.0.0', readme: 'ERROR: No README data found!' })
  })

  it('refuses with EINTEGRITY when the name or version is not the record\'s', async () => {
    const tgz = packageTgz({ name: 'evil', version: '1.0.0' })
    const err = await publishManifest({ bytes: tgz, contents: await readTarball(tgz) }, { name: 'a', version: '1.0.0' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StagePublishError)
    expect((err as StagePublishError).code).toBe('EINTEGRITY')
    expect((err as StagePublishError).message).toContain('"evil"@"1.0.0", not a@1.0.0')
  })

  it('never repeats a hostile name raw', async () => {
    const tgz = packageTgz({ name: 'a\u202eevil', version: '1.0.0' })
    const err = (await publishManifest({ bytes: tgz, contents: await readTarball(tgz) }, { name: 'a', version: '1.0.0' }).catch((e: unknown) => e)) as StagePublishError
    expect(['EBADMANIFEST', 'EINTEGRITY']).toContain(err.code)
    expect(err.message).not.toContain('\u202e')
    expect(err.message).toContain('\\u{202e}')
  })

  it('never looks above its own folder for a .git (gitHead stays out)', async () => {
    // Even run from inside a git work tree (this repository), nothing of it reaches the manifest.
    const tgz = packageTgz({ name: 'a', version: '1.0.0' })
    const m = await ours(tgz)
    expect(m).not.toHaveProperty('gitHead')
  })

  it('removes its temporary folder', async () => {
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('stage-publish-manifest-')).length
    await ours(packageTgz({ name: 'a', version: '1.0.0' }, { 'lib/deep/file.js': 'x', 'README': 'r' }))
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('stage-publish-manifest-')).length
    expect(after).toBeLessThanOrEqual(before)
  })
})
