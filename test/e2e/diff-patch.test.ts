/**
 * `stage-publish diff <id> > x.patch` gives a file that `git apply` and `patch` accept against the
 * published version: the prose header goes to stderr, only the patch to stdout. Real tools, a real
 * registry: the previous version is published to Verdaccio with the npm CLI.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { parseJson, run, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
let publisher: TestUser
beforeAll(async () => {
  registry = await sharedRegistry()
  publisher = await registry.createUser({ tfa: false })
})

const V1: Record<string, string> = {
  'index.js': "'use strict'\nmodule.exports = function greet(name) {\n  return `Hello, ${name}!`\n}\n",
  'lib/util.js': 'exports.tidy = (text) => text.trim()\n',
  'README.md': '# patch fixture\n\nGreets people.\n',
}

describe('diff > x.patch', () => {
  it('is a patch git apply and patch accept, and applying it gives the staged files', async () => {
    const sb = await sandbox()
    const name = uniqueName('patch')
    const rc = await publisher.writeNpmrc(path.join(sb.dir, 'publisher'), registry.url)
    const v1 = await sb.makePackage(name, { version: '1.0.0' }, V1)
    const pub = await run('npm', ['publish', '--registry', registry.url, '--ignore-scripts'], { cwd: v1, env: { ...sb.env, NPM_CONFIG_USERCONFIG: rc } })
    expect(pub.code, pub.all).toBe(0)

    // 1.1.0: one file changed, one removed, one added (in a new folder), a binary added, package.json changed.
    const v2 = path.join(sb.dir, 'v2')
    await fs.cp(v1, v2, { recursive: true })
    await fs.writeFile(path.join(v2, 'package.json'), `${JSON.stringify({ name, version: '1.1.0' }, null, 2)}\n`)
    await fs.writeFile(path.join(v2, 'index.js'), V1['index.js']!.replace('Hello', 'Goodbye'))
    await fs.rm(path.join(v2, 'README.md'))
    await fs.mkdir(path.join(v2, 'src'))
    await fs.writeFile(path.join(v2, 'src', 'new.js'), 'module.exports = 42\n')
    await fs.writeFile(path.join(v2, 'logo.bin'), Buffer.from([0, 1, 2, 3, 0, 255]))
    const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: v2 })
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<{ id: string }>(staged.stdout)

    const d = await sb.run(['diff', id, '--backend', sb.backend])
    expect(d.code, d.all).toBe(0)
    expect(d.stderr).toContain(`Diff of ${name}@1.1.0 against 1.0.0`)
    expect(d.stdout).not.toContain('Diff of')
    const patchFile = path.join(sb.dir, 'x.patch')
    await fs.writeFile(patchFile, d.stdout)

    // The published 1.0.0, as the registry serves it.
    const base = path.join(sb.dir, 'base')
    await fs.mkdir(base)
    const packed = await run('npm', ['pack', `${name}@1.0.0`, '--registry', registry.url], { cwd: base, env: sb.env })
    expect(packed.code, packed.all).toBe(0)
    expect((await run('tar', ['xzf', packed.stdout.trim()], { cwd: base, env: sb.env })).code).toBe(0)
    const pkgDir = path.join(base, 'package')

    const check = await run('git', ['apply', '--check', '-v', patchFile], { cwd: pkgDir, env: sb.env })
    expect(check.code, check.all).toBe(0)
    const dry = await run('patch', ['--dry-run', '-p1', '-i', patchFile], { cwd: pkgDir, env: sb.env })
    expect(dry.code, dry.all).toBe(0)

    const applied = await run('git', ['apply', patchFile], { cwd: pkgDir, env: sb.env })
    expect(applied.code, applied.all).toBe(0)
    for (const file of ['package.json', 'index.js', 'lib/util.js', 'src/new.js']) {
      expect(await fs.readFile(path.join(pkgDir, file), 'utf8'), file).toBe(await fs.readFile(path.join(v2, file), 'utf8'))
    }
    await expect(fs.access(path.join(pkgDir, 'README.md'))).rejects.toThrow()
  })
})
