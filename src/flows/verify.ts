/**
 * The bytes a backend hands back are untrusted until they match the record: the same sha512 as
 * staged (record stores keep one) or, for a registry's item that lists no sha512, the same sha1
 * shasum; and a package.json inside that names the same package and version. Checked before
 * anything is shown as approvable, downloaded or published.
 */
import { timingSafeEqual } from 'node:crypto'
import { StagePublishError } from '../errors.js'
import { isDeepStrictEqual } from 'node:util'
import type { DetailedRecord, PackedFile, StagedRecord } from '../core/record.js'
import type { StagingBackend } from '../backends/types.js'
import { followUp } from './follow-up.js'
import { readTarball, sha1Hex, sha512Integrity, summarize, type TarballContents } from '../npm/tarball.js'

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
  const facts = summarize(bytes, contents)
  const claimed = claimedButWrong(record, facts)
  if (claimed.length) {
    throw new StagePublishError('EINTEGRITY', `The record of ${record.packageName}@${record.version} describes its tarball wrongly (${claimed.join(', ')}): it was changed after staging`, {
      hint: `Nothing was published. The bytes match the recorded integrity, but not the record's own account of them. Reject it (stage-publish reject ${record.id}) and stage again from a trusted source.`,
    })
  }
  // What the bytes say, never what the record says: sizes, counts and the file list shown are proven.
  const detailed: DetailedRecord = {
    ...record,
    integrity: facts.integrity,
    size: facts.size,
    unpackedSize: facts.unpackedSize,
    fileCount: facts.entryCount,
    files: facts.files,
    bundled: facts.bundled,
  }
  return { bytes, contents, record: detailed, checkedAgainst: record.integrity === undefined ? 'shasum' : 'integrity' }
}

/** The tarball facts a record states (record stores keep them) that differ from what its bytes say. */
function claimedButWrong(record: StagedRecord, facts: ReturnType<typeof summarize>): string[] {
  const wrong: string[] = []
  if (record.size !== undefined && record.size !== facts.size) wrong.push('size')
  if (record.unpackedSize !== undefined && record.unpackedSize !== facts.unpackedSize) wrong.push('unpacked size')
  if (record.fileCount !== undefined && record.fileCount !== facts.entryCount) wrong.push('file count')
  if (record.files !== undefined && !isDeepStrictEqual(sortedFiles(record.files), facts.files)) wrong.push('file list')
  if (record.bundled !== undefined && !isDeepStrictEqual([...record.bundled].sort(), facts.bundled)) wrong.push('bundled dependencies')
  return wrong
}

const sortedFiles = (files: PackedFile[]): PackedFile[] =>
  files.map(({ path, size, mode }) => ({ path, size, mode })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
