/** `--version` and `--help` must stay light: the heavy npm and AWS modules load only in the commands that need them. */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { pathToFileURL } from 'node:url'
import { BIN, ROOT, run, sandbox } from '../support/cli.js'
import { isHeavyModulePath } from '../support/heavy-modules.mjs'
import { withBundledSources } from '../support/bundle-meta.mjs'

const HOOK = path.resolve(import.meta.dirname, '../support/hooks/record-loads.mjs')

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const sb = await sandbox()
  const file = path.join(sb.dir, 'loads.json')
  const r = await run(process.execPath, ['--import', HOOK, BIN, ...args], { cwd: sb.dir, env: { ...sb.env, RECORD_LOADS_FILE: file } })
  expect(r.code, r.all).toBe(0)
  return withBundledSources(JSON.parse(await fs.readFile(file, 'utf8')) as string[])
}

describe('start-up', () => {
  it.each([['--version'], ['-v']])('%s loads nothing but the bin and prints the package version', async (flag) => {
    const loaded = await modulesLoadedBy([flag])
    expect(loaded.filter((m) => !m.startsWith('node:'))).toEqual([pathToFileURL(BIN).href])
    const sb = await sandbox()
    const r = await run(process.execPath, [BIN, flag], { cwd: sb.dir, env: sb.env })
    const { version } = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' })
  })
  it.each([['--help'], ['approve', '--help'], ['diff', '--help'], ['--version', '--json']])('%s loads no heavy module', async (...args) => {
    const loaded = await modulesLoadedBy(args)
    expect(loaded.some((m) => m.includes('/dist/cli.js'))).toBe(true)
    expect(loaded.filter(isHeavyModulePath)).toEqual([])
  })
  it('--help loads neither node:crypto nor node:child_process (with net and streams: ~10% of its start-up)', async () => {
    const loaded = await modulesLoadedBy(['--help'])
    expect(loaded).toContain('node:fs')
    expect(loaded.filter((m) => m === 'node:crypto' || m === 'node:child_process')).toEqual([])
  })
  // Node 22+ (the test registry's own Node 24; the CLI itself runs on the machine's Node 20 elsewhere).
  it('on Node 22+ caches compiled code in the user\'s own cache folder, not the shared temp folder', async () => {
    const node24 = path.join(ROOT, 'test', 'support', 'verdaccio', 'node_modules', '.bin', 'node')
    const sb = await sandbox()
    const help = await run(node24, [BIN, '--help'], { cwd: sb.dir, env: sb.env })
    expect(help.code, help.all).toBe(0)
    const cache = path.join(sb.home, '.cache', 'stage-publish', 'compile-cache')
    expect((await fs.readdir(cache, { recursive: true })).length).toBeGreaterThan(1)
    const xdg = path.join(sb.dir, 'xdg')
    expect((await run(node24, [BIN, '--help'], { cwd: sb.dir, env: { ...sb.env, XDG_CACHE_HOME: xdg } })).code).toBe(0)
    expect(await fs.readdir(path.join(xdg, 'stage-publish', 'compile-cache'))).not.toEqual([])
    // A relative one is ignored (XDG): no cache folder appears where the command runs.
    const pkg = await sb.makePackage('cache-probe', { version: '1.0.0' })
    expect((await run(node24, [BIN, '--help'], { cwd: pkg, env: { ...sb.env, XDG_CACHE_HOME: 'rel' } })).code).toBe(0)
    expect(await fs.readdir(pkg)).toEqual(['index.js', 'package.json'])
  })
  it('the recorder does see them when a command needs them', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage('startup-probe', { version: '1.0.0' })
    const file = path.join(sb.dir, 'loads.json')
    await run(process.execPath, ['--import', HOOK, BIN, '--dry-run', '--backend', sb.backend, '--registry', 'http://127.0.0.1:9/'], { cwd: pkg, env: { ...sb.env, RECORD_LOADS_FILE: file } })
    const loaded = withBundledSources(JSON.parse(await fs.readFile(file, 'utf8')) as string[])
    expect(loaded.some((m) => m.includes('/pacote/'))).toBe(true)
  })
})
