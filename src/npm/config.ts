/**
 * npm's configuration, read by npm's own loader (@npmcli/config, the version npm 11 bundles):
 * project/user/global .npmrc, NPM_CONFIG_* variables, ${VAR} expansion, `@scope:registry`,
 * `//host/:_authToken` and basic auth. The flat options it produces are what pacote,
 * libnpmpublish and npm-registry-fetch expect.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { StagePublishError } from '../errors.js'

const require = createRequire(import.meta.url)

/** npm itself (its builtin npmrc, its node-gyp): where npm's default global install puts it, next to node. */
const NPM_PATH = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')

/** The npm flags stage-publish passes through to npm's loader. */
export interface NpmCliFlags {
  registry?: string
  tag?: string
  access?: string
  ignoreScripts?: boolean
  otp?: string
  userconfig?: string
}

export interface NpmConfig {
  /** npm-style flat options, ready for pacote / libnpmpublish / npm-registry-fetch. */
  flat: Record<string, unknown>
  /** Where the project is (the nearest folder with package.json or node_modules). */
  localPrefix: string
  isDefault(key: string): boolean
  get(key: string): unknown
  hasCredentials(registry: string): boolean
  /** Applies package.json publishConfig the way npm publish does: CLI flags win over it. */
  applyPublishConfig(publishConfig: Record<string, unknown> | undefined): void
}

interface RawConfig {
  load(): Promise<void>
  flat: Record<string, unknown>
  localPrefix: string
  isDefault(key: string): boolean
  get(key: string): unknown
  getCredentialsByURI(uri: string): Record<string, unknown>
  data: Map<string, { raw: Record<string, unknown> }>
}

export async function loadNpmConfig(options: { cwd: string; flags?: NpmCliFlags; env?: NodeJS.ProcessEnv }): Promise<NpmConfig> {
  const Config = require('@npmcli/config') as new (opts: Record<string, unknown>) => RawConfig
  const { definitions, shorthands, flatten, nerfDarts } = require('@npmcli/config/lib/definitions/index.js') as {
    definitions: unknown
    shorthands: unknown
    nerfDarts: unknown
    flatten: (obj: Record<string, unknown>, flat?: Record<string, unknown>) => Record<string, unknown>
  }
  const argv = ['node', 'npm', ...toArgv(options.flags ?? {})]
  const conf = new Config({
    definitions,
    shorthands,
    flatten,
    nerfDarts,
    npmPath: NPM_PATH,
    argv,
    cwd: options.cwd,
    env: options.env ?? process.env,
    warn: false,
  })
  try {
    await conf.load()
  } catch (err) {
    throw new StagePublishError('ECONFIG', `npm's configuration could not be read: ${(err as Error).message}`, {
      hint: 'Check your .npmrc files (project, ~/.npmrc, global) and NPM_CONFIG_* variables.',
      cause: err,
    })
  }
  const flat = { ...conf.flat }
  // stage-publish ships no node-gyp (it is a bundle): lifecycle scripts that call `node-gyp` get npm's, as
  // under `npm pack`. The default would be the folder we run in (no node-gyp found: '' resolved as a path).
  // Run by npm (npx, npm exec), npm_config_node_gyp already names npm's, and is not a default.
  if (conf.isDefault('node-gyp')) flat.nodeGyp = path.join(NPM_PATH, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
  const cliKeys = () => Object.keys(conf.data.get('cli')?.raw ?? {})
  return {
    flat,
    localPrefix: conf.localPrefix,
    isDefault: (key) => conf.isDefault(key),
    get: (key) => conf.get(key),
    hasCredentials(registry) {
      const creds = conf.getCredentialsByURI(registry)
      return Boolean(creds.token || creds.username || creds.auth || (creds.certfile && creds.keyfile))
    },
    applyPublishConfig(publishConfig) {
      if (!publishConfig) return
      // npm lib/commands/publish.js: publishConfig may hold any npm config key; CLI flags win.
      const fromCli = new Set(cliKeys())
      const filtered = Object.fromEntries(Object.entries(publishConfig).filter(([k]) => !fromCli.has(k)))
      flatten(filtered, flat)
    },
  }
}

function toArgv(flags: NpmCliFlags): string[] {
  const argv: string[] = []
  if (flags.registry) argv.push('--registry', flags.registry)
  if (flags.tag) argv.push('--tag', flags.tag)
  if (flags.access) argv.push('--access', flags.access)
  if (flags.ignoreScripts) argv.push('--ignore-scripts')
  if (flags.userconfig) argv.push('--userconfig', flags.userconfig)
  return argv
}

/** The registry a package goes to: `@scope:registry` first, then `registry`. Always ends with '/'. */
export function registryFor(packageName: string, flat: Record<string, unknown>): string {
  const scope = packageName.startsWith('@') ? packageName.split('/')[0] : undefined
  const scoped = scope ? flat[`${scope}:registry`] : undefined
  const named = [scoped, flat.registry].find((r): r is string => typeof r === 'string' && r !== '')
  const reg = named ?? 'https://registry.npmjs.org/'
  return reg.endsWith('/') ? reg : `${reg}/`
}
