/**
 * The bytes a backend hands back are untrusted until they match the record: the same sha512 as
 * staged (record stores keep one) or, for a registry's item that lists no sha512, the same sha1
 * shasum; and a package.json inside that names the same package and version. Checked before
 * anything is shown as approvable, downloaded or published.
 */
import { timingSafeEqual } from 'node:crypto'
import { StagePublishError } from '../errors.js'
import { withTarballDetails, type DetailedRecord, type StagedRecord } from '../core/record.js'
import type { StagingBackend } from '../backends/types.js'
import { followUp } from './follow-up.js'
import { readTarball, sha1Hex, sha512Integrity, summarize, type TarballContents } from '../registry/tarball.js'

export interface Verified {
  bytes: Buffer
  contents: TarballContents
  /** The record with every tarball fact, from the verified bytes where the backend did not record it. */
  record: DetailedRecord
  /** What the bytes were checked against: the recorded sha512, or only the sha1 a registry lists. */
  checkedAgainst: 'integrity' | 'shasum'
}

export async function loadVerified(backend: StagingBackend, record: StagedRecord): Promise<Verified> {
  if (record.state === 'rejected') {
    throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected${record.rejectedBy ? ` by ${record.rejectedBy}` : ''}; its tarball is deleted`, {
      hint: 'Stage the release again if it should be published.',
    })
  }
  const bytes = await backend.getTarball(record.id)
  if (record.integrity !== undefined) {
    const actual = sha512Integrity(bytes)
    if (!sameText(actual, record.integrity)) {
      throw new StagePublishError('EINTEGRITY', `The staged tarball of ${record.packageName}@${record.version} does not match its record: it was changed after staging`, {
        hint: `Expected ${record.integrity}, got ${actual}. Nothing was published. Reject it (${followUp(backend, `reject ${record.id}`)}) and stage again from a trusted source.`,
      })
    }
  } else {
    // Only a registry's item lacks the sha512: its sha1 shasum is all there is to check against.
    const shasum = sha1Hex(bytes)
    if (!sameText(shasum, String(record.shasum).toLowerCase())) {
      throw new StagePublishError('EINTEGRITY', `The staged tarball of ${record.packageName}@${record.version} does not match the shasum ${backend.location} lists for it`, {
        hint: `Expected shasum ${record.shasum}, got ${shasum}. Nothing was published. Reject it (${followUp(backend, `reject ${record.id}`)}) and stage again from a trusted source.`,
      })
    }
  }
  const contents = await readTarball(bytes, `The staged tarball of ${record.id}`)
  const { name, version } = contents.manifest
  if (name !== record.packageName || version !== record.version) {
    throw new StagePublishError('EINTEGRITY', `The staged tarball contains ${String(name)}@${String(version)}, but the record says ${record.packageName}@${record.version}`, {
      hint: `Nothing was published. Reject it (${followUp(backend, `reject ${record.id}`)}) and stage again.`,
    })
  }
  return { bytes, contents, record: withTarballDetails(record, summarize(bytes, contents)), checkedAgainst: record.integrity === undefined ? 'shasum' : 'integrity' }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
