/**
 * The published version a staged release is reviewed against: what the target tag points to, else
 * the highest published version, else none (a first release). Read from the registry the release
 * goes to, with the approver's npm options; the tarball is downloaded by pacote, which checks it
 * against the integrity the registry lists. Vendor errors become StagePublishError here.
 */
import { createRequire } from 'node:module'
import { StagePublishError } from '../errors.js'
import { chooseBaseline, type Review } from '../core/review.js'
import { optionsFor, readLimits, readPackument, registryError } from './publish.js'
import { readTarball, type TarballContents } from './tarball.js'
import { LIMIT_ENV, tarballLimits } from '../core/limits.js'
import { readPublishedEvidence, type PublishedEvidence } from '../core/trust-evidence.js'
import { readStreamBounded } from '../backends/bounded-read.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>

export interface BaselineTarget {
  name: string
  /** The staged version (never its own baseline). */
  version: string
  tag: string
  registry: string
}

export interface Baseline {
  baseline: Review['baseline']
  /** The baseline's files, or null for a first release. */
  contents: TarballContents | null
  /** Size of the baseline's tarball in bytes. */
  packedSize?: number
  distTags: Record<string, string>
  versions: string[]
  /** The trust evidence each published version carries (provenance, trusted publisher, approver). */
  evidence: Array<{ version: string; evidence: PublishedEvidence }>
}

export async function fetchBaseline(target: BaselineTarget, flat: Flat): Promise<Baseline> {
  const packument = await readPackument(target, flat)
  if (!packument) return { baseline: { version: null, reason: 'first-release' }, contents: null, distTags: {}, versions: [], evidence: [] }
  const { distTags, versions } = packument
  const evidence = versions.map((version) => ({ version, evidence: readPublishedEvidence(packument.manifests[version]) }))
  const baseline = chooseBaseline({ tag: target.tag, version: target.version, distTags, publishedVersions: versions })
  if (baseline.version === null) return { baseline, contents: null, distTags, versions, evidence }
  const bytes = await downloadTarball(target, baseline.version, packument.dists[baseline.version]?.integrity, flat)
  // Published long ago, perhaps by an older npm: read leniently (see ReadTarballOptions.kind), within the same limits.
  const contents = await readTarball(bytes, `The published tarball of ${target.name}@${baseline.version}`, { kind: 'published' })
  return { baseline, contents, packedSize: bytes.length, distTags, versions, evidence }
}

async function downloadTarball(target: BaselineTarget, version: string, integrity: string | undefined, flat: Flat): Promise<Buffer> {
  type Stream = AsyncIterable<Uint8Array> & { destroy?: () => unknown }
  const pacote = require('pacote') as { tarball: { stream(spec: string, handler: (s: Stream) => Promise<Buffer>, opts: Flat): Promise<Buffer> } }
  const spec = `${target.name}@${version}`
  const { maxPackedSize } = tarballLimits(process.env)
  const bound = { maxBytes: maxPackedSize, what: `The published tarball of ${spec}`, limitEnv: LIMIT_ENV.maxPackedSize }
  try {
    // The packument was just read fresh; the tarball itself is content-addressed, so pacote's cache is safe.
    // Streamed, so a registry serving something huge is cut off at the packed-size limit.
    return await pacote.tarball.stream(spec, (stream) => readStreamBounded(stream, bound), { ...optionsFor(target, flat), ...readLimits(), ...(integrity && { integrity }) })
  } catch (err) {
    if (err instanceof StagePublishError) throw err
    if ((err as { code?: string }).code === 'EINTEGRITY') {
      throw new StagePublishError('ECORRUPT', `The published tarball of ${spec} does not match the integrity ${target.registry} lists for it`, {
        hint: 'Nothing was changed. Clear the npm cache (npm cache clean --force) and try again; if it persists, the registry serves corrupt bytes.',
        cause: err,
      })
    }
    throw registryError(err, target.registry, `download ${spec}`)
  }
}
