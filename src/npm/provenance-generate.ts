/**
 * `stage-publish --provenance`: the Sigstore provenance bundle for the staged tarball, made in CI the way
 * `npm publish --provenance` makes it — libnpmpublish's own generateProvenance (the in-toto statement npm
 * writes for GitHub Actions and GitLab, signed with sigstore.attest: OIDC token → Fulcio certificate →
 * Rekor entry). The preconditions are npm's (libnpmpublish publish.js ensureProvenanceGeneration), with
 * npm's words; a failure names the step that failed, so nobody mistakes a network refusal for a bad bundle.
 */
import { createRequire } from 'node:module'
import { StagePublishError } from '../errors.js'
import { toSafeText } from '../core/text.js'
import { NETWORK_LIMITS } from '../core/network-limits.js'
import { optionsFor, readLimits } from './publish.js'

const require = createRequire(import.meta.url)

const FULCIO = 'https://fulcio.sigstore.dev'
const REKOR = 'https://rekor.sigstore.dev'

const usage = (summary: string, hint: string): StagePublishError => new StagePublishError('EPROVENANCE', summary, { hint })

/** Checks npm's preconditions, then makes the bundle for `subject`. Returns its JSON bytes, not yet verified. */
export async function generateProvenanceBundle(
  subject: { purl: string; sha512Hex: string },
  target: { name: string; registry: string; access: 'public' | 'restricted' | null },
  flat: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<Buffer> {
  if (env.GITHUB_ACTIONS) {
    if (!env.ACTIONS_ID_TOKEN_REQUEST_URL) {
      throw usage('Provenance generation in GitHub Actions requires "write" access to the "id-token" permission', 'Add `permissions: id-token: write` to the job. Nothing was staged.')
    }
  } else if (env.GITLAB_CI) {
    if (!env.SIGSTORE_ID_TOKEN) {
      throw usage('Provenance generation in GitLab CI requires "SIGSTORE_ID_TOKEN" with "sigstore" audience to be present in "id_tokens"', 'See https://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html. Nothing was staged.')
    }
  } else {
    throw usage('Provenance can only be generated in GitHub Actions or GitLab CI (as npm does)', 'Run the staging in CI, or stage with --provenance-file <bundle> made elsewhere. Nothing was staged.')
  }
  if (target.access !== 'public' && !(await isPublic(target, flat))) {
    throw usage("Can't generate provenance for new or private package, you must set `access` to public.", 'Stage with --access public (npm asks the same). Nothing was staged.')
  }

  const { generateProvenance } = require('libnpmpublish/lib/provenance.js') as {
    generateProvenance: (subject: unknown[], opts: Record<string, unknown>) => Promise<unknown>
  }
  let bundle: unknown
  try {
    bundle = await generateProvenance([{ name: subject.purl, digest: { sha512: subject.sha512Hex } }], {
      timeout: NETWORK_LIMITS.readTimeoutMs,
      retry: { retries: 1 },
    })
  } catch (err) {
    throw stepError(err)
  }
  return Buffer.from(JSON.stringify(bundle))
}

/** npm asks the registry whether an existing package is public before it signs (404: new or private). */
async function isPublic(target: { name: string; registry: string }, flat: Record<string, unknown>): Promise<boolean> {
  const npmFetch = require('npm-registry-fetch') as { json(url: string, opts: Record<string, unknown>): Promise<{ public?: unknown }> }
  const npa = require('npm-package-arg') as (spec: string) => { escapedName: string }
  try {
    const res = await npmFetch.json(`/-/package/${npa(target.name).escapedName}/visibility`, { ...optionsFor(target, flat), ...readLimits() })
    return res.public === true
  } catch {
    return false
  }
}

/** Which step of signing failed, in words: the OIDC token, Fulcio's certificate, or Rekor's log entry. */
function stepError(err: unknown): StagePublishError {
  const e = err as { code?: unknown; message?: unknown; cause?: { message?: unknown } }
  const cause = toSafeText(String(e.cause?.message ?? e.message ?? err), 300)
  const hint = 'Nothing was staged. Run the staging again; if it keeps failing, stage without --provenance.'
  switch (e.code) {
    case 'IDENTITY_TOKEN_READ_ERROR':
    case 'IDENTITY_TOKEN_PARSE_ERROR':
      return new StagePublishError('EPROVENANCE', `Provenance: could not get the CI's OIDC identity token for Sigstore (${cause})`, { hint, cause: err })
    case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
      return new StagePublishError('EPROVENANCE', `Provenance: Fulcio (${FULCIO}) did not issue a signing certificate (${cause})`, { hint, cause: err })
    case 'TLOG_CREATE_ENTRY_ERROR':
      return new StagePublishError('EPROVENANCE', `Provenance: Rekor (${REKOR}) did not record the signed statement (${cause})`, { hint, cause: err })
    default:
      return new StagePublishError('EPROVENANCE', `Provenance could not be generated: ${toSafeText(String(e.message ?? err), 300)}`, { hint, cause: err })
  }
}
