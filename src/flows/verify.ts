/**
 * The bytes a backend hands back are untrusted until they match the record: the same sha512 as
 * staged, and a package.json inside that names the same package and version. Checked before
 * anything is shown as approvable, downloaded or published.
 */
import { timingSafeEqual } from 'node:crypto'
import { StagePublishError } from '../errors.js'
import type { StagedRecord } from '../core/record.js'
import type { StagingBackend } from '../backends/types.js'
import { readTarball, sha512Integrity, type TarballContents } from '../registry/tarball.js'

export async function loadVerifiedTarball(backend: StagingBackend, record: StagedRecord): Promise<Buffer> {
  return (await loadVerified(backend, record)).bytes
}

export async function loadVerified(backend: StagingBackend, record: StagedRecord): Promise<{ bytes: Buffer; contents: TarballContents }> {
  if (record.state === 'rejected') {
    throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected${record.rejectedBy ? ` by ${record.rejectedBy}` : ''}; its tarball is deleted`, {
      hint: 'Stage the release again if it should be published.',
    })
  }
  const bytes = await backend.getTarball(record.id)
  const actual = sha512Integrity(bytes)
  if (!sameText(actual, record.integrity)) {
    throw new StagePublishError('EINTEGRITY', `The staged tarball of ${record.packageName}@${record.version} does not match its record: it was changed after staging`, {
      hint: `Expected ${record.integrity}, got ${actual}. Nothing was published. Reject it (stage-publish reject ${record.id}) and stage again from a trusted source.`,
    })
  }
  const contents = await readTarball(bytes, `The staged tarball of ${record.id}`)
  const { name, version } = contents.manifest
  if (name !== record.packageName || version !== record.version) {
    throw new StagePublishError('EINTEGRITY', `The staged tarball contains ${String(name)}@${String(version)}, but the record says ${record.packageName}@${record.version}`, {
      hint: `Nothing was published. Reject it (stage-publish reject ${record.id}) and stage again.`,
    })
  }
  return { bytes, contents }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
