/**
 * Trusted publishing while staging to a registry's own staging API (npm's rule, npm
 * lib/commands/publish.js → lib/utils/oidc.js): in GitHub Actions, GitLab CI/CD or CircleCI with an id
 * token available, after packing, the id token is exchanged for a short-lived token of the registry
 * and the package is staged with it, whether or not a token is configured too (the exchanged token then wins, as in npm).
 * There is no switch to turn it off, as in npm: a job without an id token (no `id-token: write`, no
 * NPM_ID_TOKEN) does not try it.
 * Where npm falls back silently when the exchange fails, we say why: with a configured token as a
 * warning, and staging goes on with that token; without one, as the error.
 * Only the stage request uses the token: the check of what is already staged (a list) is skipped
 * when the CI has no token of its own (the registry refuses a version staged twice anyway).
 */
import { StagePublishError, redact } from '../errors.js'
import { isNative, type StagingBackend } from '../backends/types.js'
import type { NpmConfig } from '../npm/config.js'
import { exchangeIdToken, planOidc, stageRefusal, withRegistryToken, type OidcPlan, type OidcProvider } from '../npm/oidc.js'
import { registryMessage } from '../npm/publish.js'
import { packageIsPublic } from '../npm/account.js'
import type { Output } from '../ui/output.js'
import type { Destination } from './destination.js'

/** Where this staging's id token comes from, when the backend is a registry and the CI is one npm supports. */
export function oidcPlanFor(backend: StagingBackend, env: NodeJS.ProcessEnv): OidcPlan | undefined {
  return isNative(backend) ? planOidc(env) : undefined
}

/** Whether the package is staged with a token from the exchange and no token of the CI's own: then nothing else may be asked of the registry. */
export const onlyTrusted = (plan: OidcPlan | undefined, conf: NpmConfig, registry: string): boolean =>
  plan !== undefined && plan.source !== 'none' && !conf.hasCredentials(registry)

/** Set on a prepared release whose stage request carries the exchanged token. */
export interface TrustedPublisher {
  provider: OidcProvider
  /** The id token says the repository is public: npm would turn provenance on by itself (if the package is public and `provenance` is unset). */
  publicRepository: boolean
}

export interface TrustedStaging {
  backend: StagingBackend
  trustedPublisher?: TrustedPublisher
  /**
   * npm's rule (lib/utils/oidc.js): trusted publishing from a public repository of a package the registry
   * says is public, with `provenance` unset, makes provenance as if --provenance had been given.
   */
  automaticProvenance?: boolean
}

/** The backend that stages `name`: one holding the exchanged token, or the given one when trusted publishing is not used. */
export async function trustedStaging(
  input: { plan: OidcPlan | undefined; backend: StagingBackend; name: string; registry: string; conf: NpmConfig; packageExists: boolean | undefined; env: NodeJS.ProcessEnv; provenanceUnset: boolean },
  destination: Destination,
  out: Output,
): Promise<TrustedStaging> {
  const { plan, backend, name, registry, conf } = input
  if (!plan || plan.source === 'none' || !isNative(backend)) return { backend }
  const where = redact(new URL(registry).origin + '/')
  let exchanged: Awaited<ReturnType<typeof exchangeIdToken>>
  try {
    exchanged = await exchangeIdToken({ plan, packageName: name, registry, flat: conf.flat, packageExists: input.packageExists, env: input.env })
  } catch (err) {
    if (!(err instanceof StagePublishError) || !conf.hasCredentials(registry)) throw err
    out.warn(`trusted publishing (${plan.provider}) was not used: ${err.message}. Staging with the token configured for ${where} instead.`)
    return { backend }
  }
  out.notice(`Trusted publishing: exchanged the ${plan.provider} id token for a short-lived token of ${where} to stage ${name}`)
  const flatWithToken = withRegistryToken(conf.flat, registry, exchanged.token)
  const backendWithToken = await destination.open(registry, flatWithToken, `oidc:${name}`)
  // As npm: only when provenance is unset, the id token says the repository is public (never CircleCI's)
  // and the registry says the package is public; any doubt leaves it off.
  const automaticProvenance = input.provenanceUnset && exchanged.publicRepository && (await packageIsPublic(name, registry, flatWithToken))
  if (automaticProvenance) {
    out.notice(`Provenance: on, as npm turns it on for trusted publishing from a public repository of a public package (set provenance=false in .npmrc to turn it off)`)
  }
  return { backend: backendWithToken, trustedPublisher: { provider: plan.provider, publicRepository: exchanged.publicRepository }, ...(automaticProvenance && { automaticProvenance }) }
}

/** A stage request refused while it carried the exchanged token, in words; other errors unchanged. */
export function explainTrustedStageError(err: unknown, name: string, registry: string, trusted: TrustedPublisher | undefined): unknown {
  if (!trusted) return err
  const cause = err instanceof StagePublishError ? (err.cause as { statusCode?: number } | undefined) : undefined
  const status = cause?.statusCode
  if (status === undefined) return err
  const explained = stageRefusal(status, registryMessage(cause), { packageName: name, where: redact(new URL(registry).origin + '/'), provider: trusted.provider })
  return explained ?? err
}
