/**
 * No credential is stored or printed: a token in a git remote (as userinfo or as `?access_token=`),
 * in a CI URL, or in the registry URL of a package's .npmrc never reaches the staged record on disk,
 * nor any output of stage, list or view (human or --json).
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, run, sandbox, uniqueName, type Sandbox } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const SECRETS = ['SECRETTOKEN1', 'SECRETTOKEN2', 'SECRETTOKEN3', 'SECRETTOKEN4']

/** A package in a git repository with `remote` as its origin and `registry` in its own .npmrc. */
async function packageInRepo(sb: Sandbox, remote: string, registryUrl: string): Promise<string> {
  const pkg = await sb.makePackage(uniqueName('creds'), { version: '1.0.0' }, { '.npmrc': `registry=${registryUrl}\n` })
  const env = { ...sb.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' }
  for (const args of [['init', '-q', '-b', 'main'], ['add', 'package.json', 'index.js'], ['commit', '-qm', 'init'], ['remote', 'add', 'origin', remote]]) {
    const r = await run('git', args, { cwd: pkg, env })
    expect(r.code, r.all).toBe(0)
  }
  return pkg
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}

describe('credentials in URLs', () => {
  it('never reach the staged record or any output of stage, list and view', async () => {
    const sb = await sandbox()
    const { port } = new URL(registry.url)
    const withPassword = `http://user:SECRETTOKEN3@127.0.0.1:${port}/`
    const outputs: string[] = []
    const ids: string[] = []
    // A CI whose server URL carries a token, so the run URL would carry it too.
    const ci = { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://ci:SECRETTOKEN4@github.example', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '9', GITHUB_ACTOR: 'octocat' }
    const packages = [
      await packageInRepo(sb, 'https://x-access-token:SECRETTOKEN1@github.com/o/r.git', withPassword),
      await packageInRepo(sb, 'https://github.com/o/r.git?access_token=SECRETTOKEN2', withPassword),
    ]
    for (const pkg of packages) {
      const human = await sb.run(['--dry-run', '--backend', sb.backend], { cwd: pkg, env: ci })
      expect(human.code, human.all).toBe(0)
      outputs.push(human.all)
      const staged = await sb.run(['--json', '--backend', sb.backend], { cwd: pkg, env: ci })
      expect(staged.code, staged.all).toBe(0)
      outputs.push(staged.all)
      const record = parseJson<{ id: string; registry: string }>(staged.stdout)
      expect(record.registry).toBe(`http://127.0.0.1:${port}/`)
      ids.push(record.id)
    }
    expect(new Set(ids).size).toBe(2)

    for (const args of [['list'], ['list', '--json'], ...ids.flatMap((id) => [['view', id], ['view', id, '--json']])]) {
      const r = await sb.run([...args, '--backend', sb.backend])
      expect(r.code, r.all).toBe(0)
      outputs.push(r.all)
    }
    for (const id of ids) {
      const viewed = parseJson<{ registry: string; git: { remote: string }; ci: { runUrl: string } }>((await sb.run(['view', id, '--json', '--backend', sb.backend])).stdout)
      expect(viewed.registry).toBe(`http://127.0.0.1:${port}/`)
      expect(viewed.git.remote).toBe('https://github.com/o/r.git')
      expect(viewed.ci.runUrl).toBe('https://github.example/o/r/actions/runs/9')
    }

    const stored = await Promise.all((await filesUnder(sb.store)).map((f) => fs.readFile(f, 'latin1')))
    expect(stored.length).toBeGreaterThan(0)
    for (const text of [...outputs, ...stored]) {
      for (const secret of SECRETS) expect(text).not.toContain(secret)
    }
  })
})
