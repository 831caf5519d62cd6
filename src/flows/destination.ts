/**
 * Where staged releases go, decided once per staging (one backend for a whole release set) and
 * before any script runs, so a bad flag costs nothing: the backend (--backend, STAGE_PUBLISH_BACKEND,
 * package.json stagePublish.backend, or the local directory, never on a CI runner by default), and
 * how long a release may wait. A registry backend is the registry each package is published to.
 */
import { StagePublishError } from '../errors.js'
import { DEFAULT_EXPIRY, expiryFrom } from '../core/duration.js'
import { chooseBackend, normaliseRegistryUrl, openBackend, parseBackendUrl, type BackendChoice } from '../backends/index.js'
import type { StagingBackend } from '../backends/types.js'
import type { NpmConfig } from '../npm/config.js'
import { audienceFor, idTokenHint, type OidcPlan } from '../npm/oidc-parse.js'
import { isCi } from '../origin/origin.js'
import type { Output } from '../ui/output.js'
import type { Deps } from './context.js'
import type { StageRequest } from './stage-request.js'
import { backendArg, nameBackend } from './follow-up.js'

/** Where releases go and how long they may wait: decided once, before any script runs, so a bad flag costs nothing. */
export interface Destination {
  choice: BackendChoice
  /** ` --backend <url>` when the approver must name the backend, else ''. */
  hint: string
  createdAt: Date
  expiresAt: Date
  expiresIn: string
  /**
   * The backend for a package going to `registry` (a registry backend stages on the package's own registry).
   * `ownCredential` names a credential for one package (trusted publishing): that package gets a registry backend of its own.
   */
  open(registry: string, flat: Record<string, unknown>, ownCredential?: string): Promise<StagingBackend>
}

export async function chooseDestination(stageConfig: Record<string, unknown>, pkgDir: string, opts: StageRequest, deps: Deps): Promise<Destination> {
  const choice = chooseBackend({ flag: opts.backend, env: deps.env, packageBackend: stageConfig.backend, packageDir: pkgDir })
  if (choice.source === 'default' && (await isCi(deps.env)).isCI) {
    throw new StagePublishError('ECIBACKEND', 'Refusing to stage into a local directory on a CI runner: it vanishes with the runner, and the release with it', {
      hint: 'Name a shared backend: --backend s3://<bucket>/<prefix>, STAGE_PUBLISH_BACKEND, or package.json "stagePublish": { "backend": ... }. (--backend file:<dir> forces a local directory.)',
    })
  }
  const expiresIn = opts.expiresIn ?? (typeof stageConfig.expiresIn === 'string' ? stageConfig.expiresIn : DEFAULT_EXPIRY)
  const createdAt = deps.now()
  const expiresAt = expiryFrom(createdAt, expiresIn)
  const opened = new Map<string, Promise<StagingBackend>>()
  const hint = choice.source === 'flag' || choice.source === 'env' ? backendArg(opts.backend, deps.env) : ''
  return {
    choice,
    hint,
    createdAt,
    expiresAt,
    expiresIn,
    open(registry, flat, ownCredential) {
      // Record stores are one place whatever the registry; a registry backend is the registry itself.
      const key = parseBackendUrl(choice.url, deps.cwd).kind === 'registry' ? `${registry}\0${ownCredential ?? ''}` : ''
      let backend = opened.get(key)
      if (!backend) {
        backend = openBackend(choice.url, deps.cwd, () => Promise.resolve({ registry, flat })).then((b) => nameBackend(b, hint))
        opened.set(key, backend)
      }
      return backend
    },
  }
}

/**
 * A registry backend stages where the release will be published, with the stager's own credentials
 * (npm's model): the registry named by --backend registry+<url> must be the package's registry.
 */
export function checkRegistryBackend(stagingRegistry: string, registry: string, name: string, conf: NpmConfig, opts: StageRequest, out: Output, oidc?: OidcPlan): void {
  if (normaliseRegistryUrl(stagingRegistry) !== normaliseRegistryUrl(registry)) {
    throw new StagePublishError('EUSAGE', `${name} is published to ${registry}, but --backend names the registry ${stagingRegistry}`, {
      hint: 'A registry that stages releases also publishes them: use --backend registry (the package\'s own registry), or --registry to change where it goes.',
      exitCode: 2,
    })
  }
  if (!conf.hasCredentials(registry)) {
    // Trusted publishing supplies the credential later (the exchange), as npm's does.
    if (oidc && oidc.source !== 'none') {
      warnExpiry(registry, opts, out)
      return
    }
    if (oidc) {
      throw new StagePublishError('ENEEDAUTH', `Staging to ${registry} needs a token, and this ${oidc.provider} job has no id token for trusted publishing`, {
        hint: `${idTokenHint(oidc.provider, audienceFor(registry))} (Or give CI a token that may stage.)`,
      })
    }
    throw new StagePublishError('ENEEDAUTH', `Staging to ${registry} needs you to be logged in there`, {
      hint: `Run \`npm login --registry ${registry}\` (or give CI a token that may stage), as for npm stage publish.`,
    })
  }
  warnExpiry(registry, opts, out)
}

function warnExpiry(registry: string, opts: StageRequest, out: Output): void {
  if (opts.expiresIn) out.warn(`--expires-in is ignored: ${registry} keeps a staged item until it is approved or rejected`)
}

