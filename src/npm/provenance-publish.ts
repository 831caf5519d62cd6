/**
 * Publishing a verified provenance bundle exactly as npm does: libnpmpublish's `provenanceFile` option,
 * which puts `_attachments["<name>-<version>.sigstore"] = { content_type: bundle.mediaType, data:
 * JSON.stringify(bundle), length }` into the publish (or stage) body, after its own subject checks
 * (one subject, the purl, the tarball's sha512) and `sigstore.verify(bundle)`.
 *
 * That last call uses sigstore's default options, which refresh Sigstore's TUF metadata online
 * (TUF_REFRESH_METADATA_ERROR without the internet, even with a cached root: see provenance-verify.ts).
 * The least hacky way to keep npm's exact body and npm's own checks, offline: for the duration of the
 * publish call, the `verify` export of the very `sigstore` module instance libnpmpublish loaded (its
 * exports are configurable getters) answers with sigstore's own Verifier over the trust root the package
 * ships, the same check staging and approval already made. Nothing else of libnpmpublish is touched,
 * and the export is restored when the last publish using it ends. The alternatives were worse: building
 * the body ourselves (a second, drifting copy of libnpmpublish), or skipping the verification
 * (libnpmpublish has no option for it).
 */
import { createRequire } from 'node:module'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { offlineVerifier } from './provenance-verify.js'

const require = createRequire(import.meta.url)

type Sigstore = Record<string, unknown>

let users = 0
let saved: PropertyDescriptor | undefined

/**
 * The `sigstore` module object libnpmpublish's lib/provenance.js requires. It is the one we resolve:
 * the lockfile has a single sigstore, which both the bundled build and node_modules share
 * (test/unit/provenance-publish.test.ts checks that libnpmpublish resolves the same file).
 */
function libnpmpublishSigstore(): Sigstore {
  return require('sigstore') as Sigstore
}

function offlineVerifyInstalled(): () => void {
  const sigstore = libnpmpublishSigstore()
  if (users++ === 0) {
    saved = Object.getOwnPropertyDescriptor(sigstore, 'verify')
    const verify = (bundle: unknown): Promise<void> => {
      offlineVerifier().verify(bundle)
      return Promise.resolve()
    }
    Object.defineProperty(sigstore, 'verify', { configurable: true, enumerable: true, get: () => verify })
  }
  return () => {
    if (--users === 0 && saved) Object.defineProperty(sigstore, 'verify', saved)
  }
}

/**
 * Runs `publish` with libnpmpublish options that attach `bundle` (none when null: `provenance` and
 * `provenanceFile` from the user's npm configuration are always dropped, so nothing else is attached).
 * The bundle goes through a private temp file, as `npm publish --provenance-file` reads one.
 */
export async function withProvenance<T>(bundle: Buffer | null | undefined, opts: Record<string, unknown>, publish: (opts: Record<string, unknown>) => Promise<T>): Promise<T> {
  const clean: Record<string, unknown> = { ...opts }
  delete clean.provenance
  delete clean.provenanceFile
  if (!bundle) return publish(clean)
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stage-publish-provenance-'))
  const file = path.join(dir, 'bundle.sigstore')
  await fs.writeFile(file, bundle, { mode: 0o600, flag: 'wx' })
  const restore = offlineVerifyInstalled()
  try {
    return await publish({ ...clean, provenanceFile: file })
  } finally {
    restore()
    await fs.rm(dir, { recursive: true, force: true })
  }
}
