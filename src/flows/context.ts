/**
 * What every flow shares, below the commands that call it: side effects as parameters with real
 * defaults (pnpm's publishWithOtpHandling({ context }) habit), and the steps every verb takes the
 * same way (open the backend, read package.json `stagePublish`, find a record by id).
 * Commands import this; nothing here knows commander or how output is chosen.
 */
import type { Readable, Writable } from 'node:stream'
import { StagePublishError } from '../errors.js'
import type { Prompts } from '../ui/prompts.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import type { PublishFn } from '../npm/publish.js'

export interface Deps {
  cwd: string
  env: NodeJS.ProcessEnv
  stdout: Writable
  stderr: Writable
  /** Injected streams make the prompts interactive without a terminal (tests). */
  promptStreams?: { input: Readable; output: Writable }
  now: () => Date
  newId: () => string
  /** libnpmpublish's publish, replaceable in unit tests. */
  publishFn?: PublishFn
  /** Used instead of createPrompts() when given. */
  prompts?: Prompts
}

export const defaultDeps = (): Deps => ({
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  now: () => new Date(),
  // The global Web Crypto, loaded on first use: a static node:crypto import costs every `--help`.
  newId: () => globalThis.crypto.randomUUID(),
})

/** Where the staged releases are: --backend, and for a registry backend npm's --registry / --userconfig. */
export interface BackendRequest {
  backend?: string
  registry?: string
  userconfig?: string
}

/**
 * The backend for flows that act on existing releases. package.json `stagePublish.backend`
 * of the project in cwd counts too, so a maintainer in the repo needs no flag. `--backend registry`
 * means the registry npm is configured for here (or --registry), with the user's own credentials.
 */
export async function backendFor(opts: BackendRequest, deps: Deps): Promise<StagingBackend> {
  const { openBackend, normaliseRegistryUrl } = await import('../backends/index.js')
  const url = await chosenBackendUrl(opts, deps)
  const { backendArg, nameBackend } = await import('./follow-up.js')
  const backend = await openBackend(url, deps.cwd, async () => {
    const { loadNpmConfig, registryFor } = await import('../npm/config.js')
    const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: { ...(opts.registry && { registry: opts.registry }), ...(opts.userconfig && { userconfig: opts.userconfig }) } })
    return { registry: normaliseRegistryUrl(registryFor('', conf.flat)), flat: conf.flat }
  })
  return nameBackend(backend, backendArg(opts.backend, deps.env))
}

/** The URL of the backend backendFor opens: --backend, STAGE_PUBLISH_BACKEND, package.json, or the default folder. */
export async function chosenBackendUrl(opts: BackendRequest, deps: Deps): Promise<string> {
  const { chooseBackend } = await import('../backends/index.js')
  const pkg = await readProjectStageConfig(deps.cwd)
  return chooseBackend({ flag: opts.backend, env: deps.env, packageBackend: pkg.backend, packageDir: pkg.dir }).url
}

/** package.json `stagePublish` of the nearest package above cwd, if any. */
export async function readProjectStageConfig(cwd: string): Promise<{ backend?: unknown; dir?: string; config?: Record<string, unknown> }> {
  const { promises: fs } = await import('node:fs')
  const path = await import('node:path')
  let dir = path.resolve(cwd)
  for (;;) {
    const text = await fs.readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined)
    if (text !== undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        // Its stagePublish holds the approvers' rules (policy, required approvals, backend): silently
        // reading none of them would approve with no rule at all.
        const { StagePublishError } = await import('../errors.js')
        throw new StagePublishError('ECONFIG', `${path.join(dir, 'package.json')} is not valid JSON, so its stagePublish settings cannot be read`, {
          hint: 'Fix the file (npm would refuse it too), or run the command from another folder.',
        })
      }
      const config = (parsed as { stagePublish?: Record<string, unknown> } | null)?.stagePublish
      return { backend: config?.backend, dir, ...(config && { config }) }
    }
    const parent = path.dirname(dir)
    if (parent === dir) return {}
    dir = parent
  }
}

/** Finds a record by full id or unique prefix of 8+ characters. */
export async function findRecord(backend: StagingBackend, rawId: string): Promise<Versioned> {
  const { parseIdArgument, matchIdPrefix } = await import('../core/record.js')
  const { id, exact } = parseIdArgument(rawId)
  const candidates = exact ? [id] : (await backend.listIds()).filter((x) => x.startsWith(id))
  // Several matches: matchIdPrefix says which (EAMBIGUOUS). None: the not-found below, whose hint names the backend.
  const fullId = candidates.length > 1 ? matchIdPrefix(id, candidates) : candidates[0]
  const found = fullId === undefined ? null : await backend.getRecord(fullId)
  if (!found) {
    const { followUp } = await import('./follow-up.js')
    const what = fullId === undefined ? `has an id starting with ${id}` : `with id ${fullId}`
    throw new StagePublishError('ENOTFOUND', `No staged release ${what} in ${backend.location}`, {
      hint: `Check the id with \`${followUp(backend, 'list --all')}\`, and that --backend points where it was staged.`,
    })
  }
  return found
}
