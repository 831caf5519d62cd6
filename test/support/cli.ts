/**
 * Runs the built CLI (bin/stage-publish.js → dist/) as a user would, in a clean environment:
 * its own HOME, state dir and npm user config, and none of the CI variables of the machine
 * running the tests (unless a test sets them on purpose).
 */
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(ROOT, 'bin', 'stage-publish.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout + stderr, for "never appears anywhere" assertions. */
  all: string
}

export interface Sandbox {
  dir: string
  home: string
  /** The staging directory (a file: backend). */
  store: string
  backend: string
  env: NodeJS.ProcessEnv
  run(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<CliResult>
  /** Writes a package folder and returns its path. */
  makePackage(name: string, manifest: Record<string, unknown>, files?: Record<string, string | Buffer>): Promise<string>
}

/** A fresh sandbox with an environment that shares nothing with the machine's npm or CI settings. */
export async function sandbox(): Promise<Sandbox> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-e2e-'))
  const home = path.join(dir, 'home')
  const store = path.join(dir, 'store')
  await fs.mkdir(home, { recursive: true })
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: home,
    XDG_STATE_HOME: path.join(dir, 'state'),
    NPM_CONFIG_USERCONFIG: path.join(home, '.npmrc'),
    NPM_CONFIG_CACHE: path.join(dir, 'npm-cache'),
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    NPM_CONFIG_FUND: 'false',
    NPM_CONFIG_AUDIT: 'false',
    NO_COLOR: '1',
    // Approvals publish directly unless a test chooses the final hop (the default, auto, stages on a
    // registry with npm's staging API, as Verdaccio 9 here is): test/e2e/final-hop.test.ts unsets it.
    STAGE_PUBLISH_FINAL_HOP: 'publish',
  }
  const sb: Sandbox = {
    dir,
    home,
    store,
    backend: `file:${store}`,
    env,
    run: (args, opts = {}) => runCli(args, { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, input: opts.input }),
    async makePackage(name, manifest, files = {}) {
      const pkgDir = path.join(dir, 'packages', name.replace(/[@/]/g, '_'))
      await fs.mkdir(pkgDir, { recursive: true })
      await fs.writeFile(path.join(pkgDir, 'package.json'), `${JSON.stringify({ name, ...manifest }, null, 2)}\n`)
      for (const [file, content] of Object.entries({ 'index.js': `module.exports = ${JSON.stringify(name)}\n`, ...files })) {
        await fs.mkdir(path.dirname(path.join(pkgDir, file)), { recursive: true })
        await fs.writeFile(path.join(pkgDir, file), content)
      }
      return pkgDir
    },
  }
  return sb
}

export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  return run(process.execPath, [BIN, ...args], opts)
}

export function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr), all: `${stdout}\n${stderr}` })
    })
    // No terminal: stdin is a closed pipe, as in CI.
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(opts.input ?? '')
  })
}

/** `npm view <name>@<version> dist.integrity` against a registry, or null when it is not there. */
export async function publishedIntegrity(sb: Sandbox, registry: string, spec: string): Promise<string | null> {
  const r = await run('npm', ['view', spec, 'dist.integrity', '--registry', registry, '--prefer-online'], { cwd: sb.dir, env: sb.env })
  if (r.code !== 0) return null
  return r.stdout.trim() || null
}

// The type parameter is the caller's statement of what the CLI printed (a cast, checked by the test's expects).
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export const parseJson = <T = unknown>(text: string): T => JSON.parse(text) as T

let counter = 0
/** A package name no other test (or earlier run against the same registry) uses. */
export const uniqueName = (base: string): string => `${base}-${process.pid}-${Date.now().toString(36)}-${counter++}`

/** The code of the StagePublishError a function throws, or undefined when it does not throw. */
export function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}
