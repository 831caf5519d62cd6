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

export async function openBackend(url: string, cwd = process.cwd()): Promise<StagingBackend> {
  const parsed = parseBackendUrl(url, cwd)
  switch (parsed.kind) {
    case 'file': {
      const { createLocalBackend } = await import('./local.js')
      return createLocalBackend(parsed.dir)
    }
    case 's3': {
      // Loaded only here: the S3 adapter pulls in the AWS SDK.
      const mod = (await import(/* s3 adapter */ './s3.js' as string)) as {
        createS3Backend(url: string): StagingBackend
      }
      return mod.createS3Backend(parsed.url)
    }
    case 'registry':
      throw new StagePublishError('EBACKEND', "The registry's own staging API is not supported by this version of stage-publish", {
        hint: 'Use the local backend (file:<dir>) or an S3 bucket (s3://<bucket>/<prefix>).',
      })
  }
}
