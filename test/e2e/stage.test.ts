/**
 * Staging packs exactly as npm does and refuses what npm publish would refuse — checked against
 * the real npm CLI and a real registry.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, run, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})


interface PackJson {
  id: string | null
  name: string
  version: string
  integrity: string
  shasum: string
  files: Array<{ path: string; size: number }>
  entryCount: number
  bundled: string[]
  tag: string
  access: string | null
  registry: string
  state: string
}

describe('packing', () => {
  it('produces the same bytes as npm pack: files, .npmignore, bundled dependencies', async () => {
    const sb = await sandbox()
    const name = uniqueName('parity')
    const pkg = await sb.makePackage(
      name,
      { version: '1.2.3', files: ['lib/', 'index.js'], bundleDependencies: ['dep-a'], dependencies: { 'dep-a': '1.0.0' } },
      {
        'lib/a.js': 'exports.a = 1\n',
        'lib/secret.test.js': 'test\n',
        'lib/.npmignore': '*.test.js\n',
        'notes.txt': 'not in files\n',
        'node_modules/dep-a/package.json': '{"name":"dep-a","version":"1.0.0"}',
        'node_modules/dep-a/index.js': 'module.exports = 1\n',
        'README.md': '# readme\n',
      },
    )
    const npmPack = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg, env: sb.env })
    expect(npmPack.code, npmPack.all).toBe(0)
    const [expected] = parseJson<Array<{ integrity: string; shasum: string; files: Array<{ path: string }>; bundled: string[] }>>(npmPack.stdout)

    const staged = await sb.run(['--json', '--dry-run', '--ignore-scripts', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(staged.code, staged.all).toBe(0)
    const data = parseJson<PackJson>(staged.stdout)
    expect(data.id).toBeNull()
    expect(data.state).toBe('dry-run')
    expect(data.integrity).toBe(expected!.integrity)
    expect(data.shasum).toBe(expected!.shasum)
    expect(data.files.map((f) => f.path).sort()).toEqual(expected!.files.map((f) => f.path).sort())
    expect(data.bundled).toEqual(['dep-a'])
    expect(data.files.map((f) => f.path)).not.toContain('notes.txt')
    expect(data.files.map((f) => f.path)).not.toContain('lib/secret.test.js')
    // --dry-run stages nothing.
    await expect(fs.readdir(path.join(sb.store, 'records'))).rejects.toThrow()
  })

  it('runs prepublishOnly, prepack, prepare and postpack — but not publish or postpublish — and none with --ignore-scripts', async () => {
    const sb = await sandbox()
    const name = uniqueName('scripts')
    const mark = (event: string) => `node -e "require('fs').appendFileSync('events.log', '${event}\\n')"`
    const scripts = Object.fromEntries(['prepublishOnly', 'prepack', 'prepare', 'postpack', 'publish', 'postpublish'].map((e) => [e, mark(e)]))
    const pkg = await sb.makePackage(name, { version: '1.0.0', scripts, files: ['index.js'] })
    const r = await sb.run(['--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    const events = (await fs.readFile(path.join(pkg, 'events.log'), 'utf8')).trim().split('\n')
    expect(events).toEqual(['prepublishOnly', 'prepack', 'prepare', 'postpack'])

    await fs.rm(path.join(pkg, 'events.log'))
    await sb.run(['reject', r.stdout.match(/staged with id ([0-9a-f-]{36})/)![1]!, '--yes', '--backend', sb.backend])
    const quiet = await sb.run(['--ignore-scripts', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(quiet.code, quiet.all).toBe(0)
    await expect(fs.access(path.join(pkg, 'events.log'))).rejects.toThrow()
  })

  it('stages a tarball made by npm pack, unchanged', async () => {
    const sb = await sandbox()
    const name = uniqueName('from-tgz')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const packed = await run('npm', ['pack', '--json', '--pack-destination', sb.dir], { cwd: pkg, env: sb.env })
    expect(packed.code, packed.all).toBe(0)
    const [info] = parseJson<Array<{ filename: string; integrity: string }>>(packed.stdout)
    const r = await sb.run(['publish', path.join(sb.dir, info!.filename), '--json', '--backend', sb.backend, '--registry', registry.url])
    expect(r.code, r.all).toBe(0)
    expect(parseJson<PackJson>(r.stdout).integrity).toBe(info!.integrity)
  })

  it('follows publishConfig for registry, tag and access, and flags win over it', async () => {
    const sb = await sandbox()
    const name = `@sp-test/${uniqueName('pubconf')}`
    const pkg = await sb.makePackage(name, { version: '1.0.0', publishConfig: { registry: registry.url, tag: 'next', access: 'restricted' } })
    const r = await sb.run(['--json', '--dry-run', '--backend', sb.backend], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<PackJson>(r.stdout)).toMatchObject({ tag: 'next', access: 'restricted', registry: registry.url })
    const flagged = await sb.run(['--json', '--dry-run', '--tag', 'beta', '--access', 'public', '--backend', sb.backend], { cwd: pkg })
    expect(parseJson<PackJson>(flagged.stdout)).toMatchObject({ tag: 'beta', access: 'public' })
  })

  it('reads the registry from .npmrc, with ${VAR} expansion and scoped registries', async () => {
    const sb = await sandbox()
    const name = `@scoped/${uniqueName('npmrc')}`
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    await fs.writeFile(path.join(pkg, '.npmrc'), 'registry=http://127.0.0.1:9/\n@scoped:registry=${SCOPED_REGISTRY}\n')
    const r = await sb.run(['--json', '--dry-run', '--backend', sb.backend], { cwd: pkg, env: { SCOPED_REGISTRY: registry.url } })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<PackJson>(r.stdout).registry).toBe(registry.url)
  })
})

describe('refusals', () => {
  const stage = async (manifest: Record<string, unknown> | null, args: string[] = [], files?: Record<string, string>) => {
    const sb = await sandbox()
    const name = uniqueName('refuse')
    const pkg = await sb.makePackage(name, { version: '1.0.0', ...manifest }, files)
    if (manifest === null) await fs.writeFile(path.join(pkg, 'package.json'), '{"description":"no name"}')
    const r = await sb.run(['--backend', sb.backend, '--registry', registry.url, ...args], { cwd: pkg })
    return { sb, r, name, pkg }
  }

  it('refuses private packages', async () => {
    const { r } = await stage({ private: true })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EPRIVATE')
  })
  it('refuses a package without a name', async () => {
    const { r } = await stage(null)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EBADMANIFEST')
  })
  it('refuses a folder without package.json', async () => {
    const sb = await sandbox()
    const r = await sb.run(['--backend', sb.backend], { cwd: sb.home })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EBADMANIFEST')
  })
  it('needs --tag for a prerelease', async () => {
    const { r, sb, pkg } = await stage({ version: '2.0.0-beta.1' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ETAG')
    expect(r.stderr).toContain('--tag')
    const tagged = await sb.run(['--backend', sb.backend, '--registry', registry.url, '--tag', 'beta'], { cwd: pkg })
    expect(tagged.code, tagged.all).toBe(0)
  })
  it('refuses a name@version already staged and pending, and one already published', async () => {
    const { r, sb, pkg, name } = await stage({})
    expect(r.code, r.all).toBe(0)
    const again = await sb.run(['--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('EALREADYSTAGED')

    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'pub'), registry.url)
    const pub = await run('npm', ['publish', '--registry', registry.url, '--otp', await user.otp(), '--ignore-scripts'], { cwd: pkg, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(pub.code, pub.all).toBe(0)
    const other = await sb.run(['--backend', `file:${sb.dir}/other`, '--registry', registry.url], { cwd: pkg })
    expect(other.code).toBe(1)
    expect(other.stderr).toContain('EPUBLISHCONFLICT')
    expect(other.stderr).toContain(`${name}@1.0.0`)
  })
  it('refuses a version lower than latest without an explicit tag', async () => {
    const sb = await sandbox()
    const name = uniqueName('lower')
    const pkg = await sb.makePackage(name, { version: '2.0.0' })
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'pub'), registry.url)
    const pub = await run('npm', ['publish', '--registry', registry.url, '--otp', await user.otp()], { cwd: pkg, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(pub.code, pub.all).toBe(0)
    await fs.writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '1.5.0' }))
    const r = await sb.run(['--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('ETAG')
    const tagged = await sb.run(['--backend', sb.backend, '--registry', registry.url, '--tag', 'v1-maintenance'], { cwd: pkg })
    expect(tagged.code, tagged.all).toBe(0)
  })
  it('refuses to stage into the default local directory on a CI runner', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('ci'), { version: '1.0.0' })
    const r = await sb.run(['--registry', registry.url], { cwd: pkg, env: { CI: 'true', GITHUB_ACTIONS: 'true' } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ECIBACKEND')
    expect(r.stderr).toContain('--backend')
    const explicit = await sb.run(['--registry', registry.url, '--json'], { cwd: pkg, env: { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'octocat', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '42', STAGE_PUBLISH_BACKEND: sb.backend } })
    expect(explicit.code, explicit.all).toBe(0)
    const id = parseJson<PackJson>(explicit.stdout).id!
    const view = parseJson<{ actorType: string; actor: string; ci: { provider: string; runUrl: string } }>((await sb.run(['view', id, '--json', '--backend', sb.backend])).stdout)
    expect(view.actorType).toBe('ci')
    expect(view.actor).toContain('octocat')
    expect(view.ci).toMatchObject({ provider: 'github-actions', runUrl: 'https://github.com/o/r/actions/runs/42' })
  })
  it('says clearly when the registry is unreachable, and stages nothing', async () => {
    const { r, sb } = await stage({}, ['--registry', 'http://127.0.0.1:9/'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(await fs.readdir(path.join(sb.store, 'records')).catch(() => [])).toEqual([])
  })
  it('accepts and ignores --otp, as npm publish --otp lines keep working', async () => {
    const { r } = await stage({}, ['--otp', '123456'])
    expect(r.code, r.all).toBe(0)
    expect(r.all).not.toContain('123456')
  })
  it('records git commit, branch and remote without credentials', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('git'), { version: '1.0.0' })
    const git = (...args: string[]) => run('git', args, { cwd: pkg, env: { ...sb.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } })
    await git('init', '-q', '-b', 'release')
    await git('add', '.')
    await git('commit', '-qm', 'init')
    await git('remote', 'add', 'origin', 'https://x-access-token:ghs_SECRET@github.com/o/r.git')
    const head = (await git('rev-parse', 'HEAD')).stdout.trim()
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    const id = parseJson<PackJson>(r.stdout).id!
    const stored = await fs.readFile(path.join(sb.store, 'records', `${id}.json`), 'utf8')
    expect(parseJson<{ git: unknown }>(stored).git).toEqual({ commit: head, branch: 'release', remote: 'https://github.com/o/r.git', dirty: false })
    expect(stored).not.toContain('ghs_SECRET')
  })
})

describe('ids and errors', () => {
  it('treats a malformed id as a usage error and an unknown one as not found, in npm\'s --json error shape', async () => {
    const sb = await sandbox()
    const bad = await sb.run(['view', '../../etc/passwd', '--backend', sb.backend])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('EINVALIDID')
    const unknown = await sb.run(['view', '00000000-0000-4000-8000-000000000000', '--json', '--backend', sb.backend])
    expect(unknown.code).toBe(1)
    expect(parseJson(unknown.stdout)).toEqual({ error: { code: 'ENOTFOUND', summary: expect.any(String), detail: expect.any(String) } })
    const unknownFlag = await sb.run(['list', '--nope'])
    expect(unknownFlag.code).toBe(2)
  })
  it('reports a corrupt record instead of acting on it', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('corrupt'), { version: '1.0.0' })
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    const id = parseJson<PackJson>(r.stdout).id!
    await fs.writeFile(path.join(sb.store, 'records', `${id}.json`), '{"schema":1,"id":')
    const view = await sb.run(['view', id, '--backend', sb.backend])
    expect(view.code).toBe(1)
    expect(view.stderr).toContain('ECORRUPT')
    const list = await sb.run(['list', '--backend', sb.backend])
    expect(list.code).toBe(0)
    expect(list.stderr).toContain(id)
  })
  it('reports a truncated tarball as corrupt', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('trunc'), { version: '1.0.0' })
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    const data = parseJson<PackJson>(r.stdout)
    const file = path.join(sb.store, 'tarballs', `${data.id}.tgz`)
    const bytes = await fs.readFile(file)
    await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)))
    const dl = await sb.run(['download', data.id!, '--backend', sb.backend])
    expect(dl.code).toBe(1)
    expect(dl.stderr).toMatch(/EINTEGRITY|ECORRUPT/)
  })
})
