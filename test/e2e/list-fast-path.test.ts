/**
 * `list`'s fast path (src/list-main.ts, dist/list.js): bin/stage-publish.js tries it first and it must be
 * invisible. It takes only what it reads as commander does, on a local backend, and then prints exactly what
 * the full CLI prints (same exit code, stdout and stderr, byte for byte); anything else it hands to the full
 * CLI before doing anything.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createLocalBackend } from '../../src/backends/local.js'
import { serializeRecord } from '../../src/core/record.js'
import { stage } from '../support/backend-contract.js'
import { run, sandbox, ROOT, BIN, type CliResult, type Sandbox } from '../support/cli.js'
import { withBundledSources } from '../support/bundle-meta.mjs'

const FULL = path.join(ROOT, 'test', 'support', 'full-cli.mjs')
const HOOK = path.join(ROOT, 'test', 'support', 'hooks', 'record-loads.mjs')

let sb: Sandbox
let project: string
beforeAll(async () => {
  sb = await sandbox()
  const backend = createLocalBackend(sb.store)
  const day = (d: number) => new Date(Date.UTC(2026, 0, d)).toISOString()
  await stage(backend, { packageName: 'alpha', version: '1.0.0', createdAt: day(1) })
  await stage(backend, { packageName: 'alpha', version: '1.1.0', createdAt: day(2), tag: 'next' })
  await stage(backend, { packageName: 'beta', version: '2.0.0', createdAt: day(3), state: 'approved', approvedAt: day(4), approvedBy: 'alice' })
  await stage(backend, { packageName: 'gamma', version: '0.1.0', createdAt: day(5), expiresAt: day(6) })
  // Claims a release set that does not exist: warned about, shown on its own.
  await stage(backend, { packageName: 'delta', version: '3.0.0', createdAt: day(7), setId: randomUUID() })
  // Hostile text in a field the table shows is refused by the schema: this record is skipped with a warning.
  const { record } = await stage(backend, { packageName: 'omega', version: '9.9.9', createdAt: day(8) })
  await fs.writeFile(path.join(sb.store, 'records', `${record.id}.json`), serializeRecord({ ...record, actor: 'x' }).replace('"actor": "x"', '"actor": "\\u001b]0;owned\\u0007"'))
  // A project whose package.json names the backend (relative to itself), and one that is not JSON.
  project = path.join(sb.dir, 'project')
  await fs.mkdir(path.join(project, 'broken'), { recursive: true })
  await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'p', stagePublish: { backend: `file:${path.relative(project, sb.store)}` } }))
  await fs.writeFile(path.join(project, 'broken', 'package.json'), '{ not json')
})

const fast = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> => sb.run(args, opts)
const full = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
  run(process.execPath, [FULL, ...args], { cwd: opts.cwd ?? sb.dir, env: { ...sb.env, ...opts.env } })

async function loadedBy(args: string[], opts: { cwd?: string } = {}): Promise<string[]> {
  const file = path.join(sb.dir, `loads-${randomUUID()}.json`)
  const r = await run(process.execPath, ['--import', HOOK, BIN, ...args], { cwd: opts.cwd ?? sb.dir, env: { ...sb.env, RECORD_LOADS_FILE: file } })
  expect(r.code, r.all).not.toBe(-1)
  return withBundledSources(JSON.parse(await fs.readFile(file, 'utf8')) as string[])
}
const usesFastPath = (loaded: string[]) => loaded.some((m) => m.endsWith('/dist/list.js')) && !loaded.some((m) => m.endsWith('/dist/cli.js'))

describe('list fast path', () => {
  const taken: Array<[string, string[], { cwd?: 'project'; env?: NodeJS.ProcessEnv }?]> = [
    ['plain', ['list', '--backend', '<store>']],
    ['the alias', ['ls', '--backend', '<store>']],
    ['a package', ['list', 'alpha', '--backend', '<store>']],
    ['--all', ['list', '--all', '--backend', '<store>']],
    ['--json', ['list', '--json', '--backend', '<store>']],
    ['--limit', ['list', '--limit', '1', '--backend', '<store>']],
    ['--opt=value forms', ['list', '--limit=0', '--backend=<store>', '--all']],
    ['options first, package last', ['ls', '--all', '--backend', '<store>', 'beta']],
    ['--color', ['list', '--color', '--backend', '<store>']],
    ['the last colour flag wins (1)', ['list', '--no-color', '--color', '--backend', '<store>']],
    ['the last colour flag wins (2)', ['list', '--color', '--no-color', '--backend', '<store>']],
    ['STAGE_PUBLISH_BACKEND', ['list'], { env: { STAGE_PUBLISH_BACKEND: '<store>' } }],
    ["package.json's stagePublish.backend", ['list', '--all'], { cwd: 'project' }],
    ['an empty backend', ['list', '--backend', 'file:<dir>/nothing-here']],
    ['a backend that is a file', ['list', '--backend', 'file:<dir>/project/package.json']],
  ]
  const declined: Array<[string, string[], { cwd?: 'project/broken' }?]> = [
    ['--help', ['list', '--help']],
    ['--older-than', ['list', '--older-than', '1d', '--backend', '<store>']],
    ['--registry', ['list', '--registry', 'https://registry.example/', '--backend', '<store>']],
    ['a --limit that is not a number', ['list', '--limit', 'many', '--backend', '<store>']],
    ['a missing value', ['list', '--backend']],
    ['two package names', ['list', 'a', 'b', '--backend', '<store>']],
    ['an unknown option', ['list', '--bogus', '--backend', '<store>']],
    ['an S3 backend', ['list', '--backend', 's3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1&forcePathStyle=true']],
    ['a registry backend', ['list', '--backend', 'registry+http://127.0.0.1:9/']],
    ['a package.json that is not JSON', ['list'], { cwd: 'project/broken' }],
  ]
  const fill = (args: string[]) => args.map((a) => a.replace('<store>', sb.backend).replace('<dir>', sb.dir))
  const cwdOf = (c: string | undefined) => (c ? path.join(sb.dir, c) : sb.dir)
  const envOf = (env: NodeJS.ProcessEnv | undefined) => (env ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v?.replace('<store>', sb.backend)])) : undefined)

  it.each(taken)('takes %s, and prints what the full CLI prints', async (_what, args, opts = {}) => {
    const argv = fill(args)
    const o = { cwd: cwdOf(opts.cwd), env: envOf(opts.env) }
    expect(usesFastPath(await loadedBy(argv, o))).toBe(true)
    const [a, b] = [await fast(argv, o), await full(argv, o)]
    expect(a).toEqual(b)
    // Never a stack trace, whatever went wrong.
    expect(a.stderr).not.toMatch(/\n\s+at /)
    // The listings say something real (the comparison above would also pass on two empty outputs).
    expect(a.all.length).toBeGreaterThan(20)
  }, 30_000)

  it.each(declined)('hands %s to the full CLI', async (_what, args, opts = {}) => {
    const argv = fill(args)
    const loaded = await loadedBy(argv, { cwd: cwdOf(opts.cwd) })
    expect(loaded.some((m) => m.endsWith('/dist/cli.js'))).toBe(true)
    const [a, b] = [await fast(argv, { cwd: cwdOf(opts.cwd) }), await full(argv, { cwd: cwdOf(opts.cwd) })]
    expect(a).toEqual(b)
  }, 30_000)

  it('the listing it prints is the real one: warnings, the claim refuted, hostile text never raw', async () => {
    const r = await fast(['list', '--all', '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    expect(r.stdout).toMatch(/alpha@1\.1\.0\s+next/)
    expect(r.stdout).toContain('beta@2.0.0')
    expect(r.stdout).toMatch(/gamma@0\.1\.0\s+\S+\s+expired/)
    expect(r.stderr).toContain('skipped')
    expect(r.stderr).toContain('which does not list it')
    expect(r.all).not.toContain('\u001b]0;owned')
    expect(r.stdout).not.toContain('omega')
  })

  it('loads neither commander nor any heavy module', async () => {
    const loaded = await loadedBy(['list', '--backend', sb.backend])
    expect(loaded.filter((m) => /\/node_modules\/(commander|pacote|libnpmpublish|@aws-sdk|npm-registry-fetch|@npmcli)\//.test(m))).toEqual([])
  })
})
