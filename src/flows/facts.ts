/**
 * What the verified bytes prove, for the renderers (src/ui/render.ts VerifiedFacts): computed from
 * the parsed tarball, never copied from the record, which can claim any file list or size.
 */
import { summarize } from '../npm/tarball.js'
import type { VerifiedFacts } from '../ui/render.js'
import type { ProvenanceShown } from '../ui/render-provenance.js'
import type { Verified } from './verify.js'

export function factsOf(staged: Pick<Verified, 'bytes' | 'contents' | 'checkedAgainst'>, provenance?: ProvenanceShown): VerifiedFacts {
  const summary = summarize(staged.bytes, staged.contents)
  return {
    name: String(staged.contents.manifest.name),
    version: String(staged.contents.manifest.version),
    integrity: summary.integrity,
    shasum: summary.shasum,
    size: summary.size,
    unpackedSize: summary.unpackedSize,
    fileCount: summary.entryCount,
    files: summary.files.map(({ path, size }) => ({ path, size })),
    bundled: summary.bundled,
    checkedAgainst: staged.checkedAgainst,
    ...(provenance && { provenance }),
  }
}
