/**
 * Picks where staged releases live: --backend, else STAGE_PUBLISH_BACKEND, else package.json
 * `stagePublish.backend`, else the default local directory. Adapters are imported only when used,
 * so the S3 SDK costs nothing to a command that does not need it.
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { StagePublishError } from '../errors.js'
import type { StagingBackend } from './types.js'

export type BackendSource = 'flag' | 'env' | 'package.json' | 'default'

export interface BackendChoice {
  url: string
  source: BackendSource
}

export function defaultBackendDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state')
  return path.join(state, 'stage-publish')
}

export function chooseBackend(input: {
  flag?: string
  env?: NodeJS.ProcessEnv
  packageBackend?: unknown
  /** Folder of the package.json that named the backend: relative file: paths resolve from there. */
  packageDir?: string
}): BackendChoice {
  const env = input.env ?? process.env
  if (input.flag) return { url: input.flag, source: 'flag' }
  if (env.STAGE_PUBLISH_BACKEND) return { url: env.STAGE_PUBLISH_BACKEND, source: 'env' }
  if (input.packageBackend !== undefined) {
    if (typeof input.packageBackend !== 'string' || !input.packageBackend) {
      throw new StagePublishError('ECONFIG', 'package.json "stagePublish.backend" must be a string', {
        hint: 'For example "s3://bucket/prefix" or "file:.staged".',
      })
    }
    const url = input.packageBackend
    if (input.packageDir && /^file:(?!\/\/)/.test(url) && !path.isAbsolute(url.slice(5))) {
      return { url: `file:${path.resolve(input.packageDir, url.slice(5))}`, source: 'package.json' }
    }
    return { url, source: 'package.json' }
  }
  return { url: `file:${defaultBackendDir(env)}`, source: 'default' }
}

export type ParsedBackendUrl =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; url: string }
  | { kind: 'registry'; registry?: string }

export function parseBackendUrl(url: string, cwd = process.cwd()): ParsedBackendUrl {
  if (url.startsWith('file://')) return { kind: 'file', dir: fileURLToPath(url) }
  if (url.startsWith('file:')) return { kind: 'file', dir: path.resolve(cwd, url.slice(5) || '.') }
  if (url.startsWith('s3://')) return { kind: 's3', url }
  if (url === 'registry') return { kind: 'registry' }
  if (url.startsWith('registry+http://') || url.startsWith('registry+https://')) {
    return { kind: 'registry', registry: url.slice('registry+'.length) }
  }
  if (path.isAbsolute(url) || url.startsWith('./') || url.startsWith('../')) return { kind: 'file', dir: path.resolve(cwd, url) }
  throw new StagePublishError('EUSAGE', `Unknown backend "${url.replace(/\/\/[^@/]*@/, '//***@')}"`, {
    hint: 'Use file:<dir>, s3://<bucket>/<prefix>?region=..., registry, or registry+https://<host>/.',
    exitCode: 2,
  })
}

/** npm's configuration for a registry backend: the registry it names, and the user's credentials for it. */
export interface RegistryContext {
  /** The registry `--backend registry` means here (ends with '/'). */
  registry: string
  /** npm's flat options (auth for the registry among them). */
  flat: Record<string, unknown>
}

/**
 * Opens the backend a URL names. `registryContext` is asked for only by a registry backend: the
 * registry `--backend registry` stands for, and npm's options with the user's credentials.
 */
export async function openBackend(url: string, cwd = process.cwd(), registryContext?: () => Promise<RegistryContext>): Promise<StagingBackend> {
  const parsed = parseBackendUrl(url, cwd)
  switch (parsed.kind) {
    case 'file': {
      const [{ createLocalBackend }, { defaultCacheDir }] = await Promise.all([import('./local.js'), import('./list-cache.js')])
      return createLocalBackend(parsed.dir, { listCacheDir: defaultCacheDir() })
    }
    case 's3': {
      // Loaded only here: the S3 adapter pulls in the AWS SDK.
      const { createS3Backend } = await import('./s3.js')
      return createS3Backend(parsed.url)
    }
    case 'registry': {
      if (!registryContext) {
        throw new StagePublishError('EBACKEND', 'The registry backend needs npm\'s configuration, and none was given', { hint: 'This is a bug in stage-publish.' })
      }
      const context = await registryContext()
      const registry = parsed.registry ? normaliseRegistryUrl(parsed.registry) : context.registry
      const { createRegistryBackend } = await import('./registry.js')
      return createRegistryBackend({ registry, flat: context.flat })
    }
  }
}

/** The registry part of `registry+<url>`: a valid http(s) URL, ending with '/'. */
export function normaliseRegistryUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StagePublishError('EUSAGE', `"${url.replace(/\/\/[^@/]*@/, '//***@')}" is not a registry URL`, { hint: 'For example https://registry.npmjs.org/ (or --backend registry+https://registry.npmjs.org/)', exitCode: 2 })
  }
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`
}
