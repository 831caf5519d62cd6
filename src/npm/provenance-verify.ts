/**
 * Checks a Sigstore provenance bundle for one exact tarball, OFFLINE, with the trust root the installed
 * sigstore ships: the subject must be `pkg:npm/<name>@<version>` (npm-package-arg's toPurl, as
 * libnpmpublish computes it) with the tarball's sha512, and the signature, certificate chain and
 * transparency-log entry must verify (sigstore's own Verifier; nothing here re-implements a check).
 *
 * Why not `sigstore.verify(bundle, { tufForceCache: true, tufCachePath })`: the trust root reaches
 * sigstore through TUF, and @sigstore/tuf's seed holds only root.json and the targets (trusted_root.json),
 * no timestamp/snapshot/targets metadata. With forceCache, tuf-js first tries the cached timestamp and,
 * finding none, falls back to fetching `<n>.root.json` from tuf-repo-cdn.sigstore.dev: offline it fails
 * with TUF_REFRESH_METADATA_ERROR after ~6 s of retries (seen here). So the seed's trusted_root.json is
 * read directly and handed to the same pieces sigstore.createVerifier uses after TUF:
 * TrustedRoot.fromJSON → toTrustMaterial → new Verifier → verify(toSignedEntity(bundleFromJSON(bundle))).
 * The consequence, said plainly: a bundle signed after Sigstore rotated keys newer than the installed
 * sigstore's seed is refused (EPROVENANCE) until stage-publish (sigstore) is updated. Never skipped.
 */
import { createRequire } from 'node:module'
import { StagePublishError } from '../errors.js'
import { checkSubject, fact, parseBundle, provenanceError, type ProvenanceFacts } from '../core/provenance.js'
import { toSafeText } from '../core/text.js'
import { sha512Integrity } from './tarball.js'

const require = createRequire(import.meta.url)

/** A bundle that verified for a tarball: its bytes as staged, their sha512, and what it proves. */
export interface VerifiedProvenance {
  bundle: Buffer
  /** sha512 of the bundle bytes (what a record keeps to notice a replaced bundle). */
  integrity: string
  facts: ProvenanceFacts
}

interface Signer {
  identity?: { subjectAlternativeName?: string; extensions?: { issuer?: string } }
}
interface OfflineVerifier {
  verify(bundleJson: unknown): Signer
}

const SEED_MIRROR = 'https://tuf-repo-cdn.sigstore.dev'
let verifier: OfflineVerifier | undefined

/** sigstore's Verifier over the trust root @sigstore/tuf ships (loaded once, on first use: it is heavy). */
export function offlineVerifier(): OfflineVerifier {
  if (verifier) return verifier
  const { Verifier, toTrustMaterial, toSignedEntity } = require('@sigstore/verify') as {
    Verifier: new (trust: unknown, opts: object) => { verify(entity: unknown, policy: object): Signer }
    toTrustMaterial: (root: unknown) => unknown
    toSignedEntity: (bundle: unknown) => unknown
  }
  const { bundleFromJSON } = require('@sigstore/bundle') as { bundleFromJSON: (json: unknown) => unknown }
  const { TrustedRoot } = require('@sigstore/protobuf-specs') as { TrustedRoot: { fromJSON(json: unknown): unknown } }
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> } | undefined>
  const seeded = seeds[SEED_MIRROR]?.targets?.['trusted_root.json']
  if (!seeded) {
    throw new StagePublishError('EPROVENANCE', 'The installed sigstore ships no trusted root (@sigstore/tuf seeds.json has no trusted_root.json)', {
      hint: 'Reinstall stage-publish; provenance cannot be verified without Sigstore\'s trust root.',
    })
  }
  const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(Buffer.from(seeded, 'base64').toString('utf8'))))
  const inner = new Verifier(trust, {})
  verifier = { verify: (bundleJson) => inner.verify(toSignedEntity(bundleFromJSON(bundleJson)), {}) }
  return verifier
}

/** The package URL npm puts in a provenance subject (libnpmpublish publish.js: npa.toPurl(npa.resolve(name, version))). */
export function packagePurl(name: string, version: string): string {
  const npa = require('npm-package-arg') as { resolve(name: string, spec: string): unknown; toPurl(spec: unknown): string }
  return npa.toPurl(npa.resolve(name, version))
}

/**
 * The bundle, checked for the tarball with sha512 `integrity` of `name@version`: parsed strictly, its one
 * subject, then its signature. EPROVENANCE for anything that is not exactly right; the reason is safe text.
 */
export function verifyProvenance(bytes: Uint8Array, expected: { name: string; version: string; integrity: string }): VerifiedProvenance {
  const parsed = parseBundle(bytes)
  checkSubject(parsed, { purl: packagePurl(expected.name, expected.version), sha512Hex: Buffer.from(expected.integrity.replace(/^sha512-/, ''), 'base64').toString('hex') })
  let signer: Signer
  try {
    signer = offlineVerifier().verify(parsed.json)
  } catch (err) {
    if (err instanceof StagePublishError) throw err
    const e = err as { code?: unknown; message?: unknown }
    const why = toSafeText(`${typeof e.code === 'string' ? `${e.code}: ` : ''}${String(e.message ?? err)}`, 300)
    throw provenanceError(`does not verify against Sigstore's trust root (${why})`, 'Nothing was staged or published. The bundle was changed after it was signed, or it is not a Sigstore bundle this version of sigstore can check.')
  }
  const identity = fact(signer.identity?.subjectAlternativeName)
  const issuer = fact(signer.identity?.extensions?.issuer)
  const bundle = Buffer.from(bytes)
  return { bundle, integrity: sha512Integrity(bundle), facts: { ...parsed.facts, ...(identity && { signer: { identity, ...(issuer && { issuer }) } }) } }
}
