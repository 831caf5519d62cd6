/**
 * The provenance staged with a tarball: `--provenance` makes it in CI (src/npm/provenance-generate.ts),
 * `--provenance-file <bundle>` takes one made elsewhere (npm's options, also read from npm's configuration
 * as `provenance` / `provenance-file`); either way it is verified for the exact staged bytes before
 * anything is stored (src/npm/provenance-verify.ts), and staging refuses when it is not.
 */
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { PROVENANCE_LIMITS } from '../core/provenance.js'
import { readRegularFile } from '../backends/bounded-read.js'
import { packagePurl, verifyProvenance, type VerifiedProvenance } from '../npm/provenance-verify.js'
import type { StageRequest } from './stage-request.js'

export interface ProvenanceTarget {
  name: string
  version: string
  /** The staged tarball's sha512 integrity. */
  integrity: string
  registry: string
  access: 'public' | 'restricted' | null
}

/** Which provenance staging was asked for, from the command line or npm's configuration; EUSAGE for both at once (npm refuses that too). */
export function provenanceRequest(opts: Pick<StageRequest, 'provenance' | 'provenanceFile'>, flat: Record<string, unknown>): { file: string } | { generate: true } | null {
  const file = opts.provenanceFile ?? (typeof flat.provenanceFile === 'string' && flat.provenanceFile ? flat.provenanceFile : undefined)
  const generate = opts.provenance ?? flat.provenance === true
  if (file !== undefined && generate) {
    throw new StagePublishError('EUSAGE', 'provenance and provenanceFile cannot be used together', {
      hint: 'Use --provenance to make the bundle in CI, or --provenance-file <bundle> for one made elsewhere.',
      exitCode: 2,
    })
  }
  if (file !== undefined) return { file }
  return generate ? { generate: true } : null
}

export async function stagedProvenance(
  request: ReturnType<typeof provenanceRequest>,
  target: ProvenanceTarget,
  flat: Record<string, unknown>,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<VerifiedProvenance | undefined> {
  if (!request) return undefined
  let bytes: Buffer
  if ('file' in request) {
    const file = path.resolve(cwd, request.file)
    try {
      bytes = await readRegularFile(file, { maxBytes: PROVENANCE_LIMITS.bundleBytes, what: `The provenance bundle ${request.file}`, followSymlinks: true })
    } catch (err) {
      if (err instanceof StagePublishError) throw err
      throw new StagePublishError('EUSAGE', `Cannot read the provenance bundle ${request.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
        hint: 'Check the path given to --provenance-file. Nothing was staged.',
        exitCode: 2,
      })
    }
  } else {
    const { generateProvenanceBundle } = await import('../npm/provenance-generate.js')
    const sha512Hex = Buffer.from(target.integrity.replace(/^sha512-/, ''), 'base64').toString('hex')
    bytes = await generateProvenanceBundle({ purl: packagePurl(target.name, target.version), sha512Hex }, target, flat, env)
  }
  return verifyProvenance(bytes, target)
}
