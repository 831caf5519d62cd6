/**
 * `doctor` on an S3 backend: what the identity the AWS SDK picks up may do under the prefix, asked with
 * requests that change nothing:
 *  - a write (s3:PutObject): create-if-absent (`If-None-Match: *`, which the CI policy requires) of
 *    `<kind>/doctor-probe.json` with a Content-MD5 that does not match the body. S3 checks the
 *    permission first, then the digest: "BadDigest" means allowed and nothing was written, AccessDenied
 *    means refused, 412 means allowed (the probe key exists). A store that ignores Content-MD5 writes the
 *    one-byte object: an approver deletes it again; CI cannot (it may not delete), so it is reported. Its
 *    name is not a UUID, so no listing ever shows it.
 *  - a delete (s3:DeleteObject, approvers): of a tarball key that does not exist (S3 answers 204 alike).
 *  - reads (approvers): list records/ and sets/, get a record that does not exist (404 when allowed).
 */
import { createHash, randomUUID } from 'node:crypto'
import type * as S3 from '@aws-sdk/client-s3'
import { isStagePublishError, StagePublishError } from '../errors.js'
import { createS3Backend, parseS3Url, s3Errors, s3Failure, type S3BackendDeps } from './s3.js'
import type { AccessProbe, Role } from './probe.js'

const CI_WRITES = ['tarballs', 'records', 'sets', 'versions'] as const
/** S3's answers about the credentials themselves, not about a permission: the store does not know this identity. */
const UNKNOWN_IDENTITY = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired'])

/** The S3 error code of an SDK error, or of the one a StagePublishError wraps. */
const s3Code = (err: unknown): string | undefined => {
  const raw = (isStagePublishError(err) ? err.cause : err) as { Code?: string; name?: string } | undefined
  return raw?.Code ?? raw?.name
}

/** Credentials the store refuses as such are one error, not a list of refused permissions. */
function unknownIdentity(err: unknown, bucket: string): StagePublishError | undefined {
  const code = s3Code(err)
  if (!code || !UNKNOWN_IDENTITY.has(code)) return undefined
  return new StagePublishError('EACCESSDENIED', `The S3 store does not accept these credentials for s3://${bucket} (${code})`, {
    hint: 'Check the credentials the AWS SDK picks up (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the job\'s role): they are unknown, wrong or expired.',
    cause: err,
  })
}
const APPROVER_WRITES = ['records', 'versions'] as const

export async function probeS3(url: string, role: Role, deps: S3BackendDeps = {}): Promise<AccessProbe> {
  const loc = parseS3Url(url)
  let client: S3.S3Client | undefined
  const backend = createS3Backend(url, { ...deps, onClient: (c) => ((client = c), deps.onClient?.(c)) })
  const report: AccessProbe = { allowed: [], denied: [], notes: [] }
  const where = (kind: string) => `${loc.prefix}${kind}/`
  const arn = (kind: string) => `arn:aws:s3:::${loc.bucket}/${where(kind)}*`

  /** A read through the adapter: allowed, denied (EACCESSDENIED), or the store cannot be asked (thrown). */
  async function read(what: string, permission: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn()
      report.allowed.push(what)
      return true
    } catch (err) {
      const unknown = unknownIdentity(err, loc.bucket)
      if (unknown) throw unknown
      if (isStagePublishError(err) && err.code === 'EACCESSDENIED' && !/No AWS credentials/.test(err.message)) {
        if (role === 'approver') report.denied.push(`${what} (${permission})`)
        return false
      }
      throw err
    }
  }

  async function writeProbe(kind: string): Promise<void> {
    const { sdk, c } = await sdkAndClient()
    const key = `${where(kind)}doctor-probe.json`
    const body = Buffer.from('{}')
    const wrongDigest = createHash('md5').update('not the body').digest('base64')
    try {
      await c.send(new sdk.PutObjectCommand({ Bucket: loc.bucket, Key: key, Body: body, ContentType: 'application/json', ContentMD5: wrongDigest, IfNoneMatch: '*', ...(loc.acl && { ACL: loc.acl }) }))
    } catch (err) {
      const unknown = unknownIdentity(err, loc.bucket)
      if (unknown) throw unknown
      const code = s3Code(err)
      if (code === 'BadDigest' || code === 'InvalidDigest' || s3Failure(err) === 'preconditionFailed') {
        report.allowed.push(`write ${where(kind)}`)
        return
      }
      if (s3Failure(err) === 'accessDenied') {
        report.denied.push(`write ${where(kind)} (s3:PutObject on ${arn(kind)})`)
        return
      }
      throw s3Errors(err, { ...loc, op: `check writing to ${where(kind)}`, action: 's3:PutObject', key })
    }
    // Written: this store does not check Content-MD5.
    report.allowed.push(`write ${where(kind)}`)
    try {
      await c.send(new sdk.DeleteObjectCommand({ Bucket: loc.bucket, Key: key }))
    } catch {
      report.notes.push(`this store ignores Content-MD5, so the check left s3://${loc.bucket}/${key} (2 bytes, never listed as a release); delete it with an approver's credentials`)
    }
  }

  async function deleteProbe(kind: string): Promise<void> {
    const { sdk, c } = await sdkAndClient()
    const key = `${where(kind)}doctor-probe-${randomUUID()}.tgz`
    try {
      await c.send(new sdk.DeleteObjectCommand({ Bucket: loc.bucket, Key: key }))
      report.allowed.push(`delete in ${where(kind)}`)
    } catch (err) {
      if (s3Failure(err) === 'notFound') report.allowed.push(`delete in ${where(kind)}`)
      else if (s3Failure(err) === 'accessDenied') report.denied.push(`delete in ${where(kind)} (s3:DeleteObject on ${arn(kind)})`)
      else throw s3Errors(err, { ...loc, op: `check deleting in ${where(kind)}`, action: 's3:DeleteObject', key })
    }
  }

  /** The adapter's own client (same endpoint, region, timeouts and credentials), made by its first request. */
  async function sdkAndClient(): Promise<{ sdk: typeof S3; c: S3.S3Client }> {
    if (!client) throw new StagePublishError('EBACKEND', 'The S3 client was not created', { hint: 'This is a bug in stage-publish.' })
    return { sdk: await import('@aws-sdk/client-s3'), c: client }
  }

  try {
    // The first request makes the client, and says whether the bucket is there at all.
    const canList = await read('list records/', `s3:ListBucket on arn:aws:s3:::${loc.bucket} for the prefix ${where('records')}`, () => backend.listIds())
    if (role === 'ci') {
      for (const kind of CI_WRITES) await writeProbe(kind)
      // Least privilege: a CI role that can read the staged releases can do more than staging needs.
      if (canList) report.notes.push('this identity can also list the staged releases; a CI role needs only s3:PutObject (docs/backends.md, "S3": CI role)')
      return report
    }
    await read('list sets/', `s3:ListBucket on arn:aws:s3:::${loc.bucket} for the prefix ${where('sets')}`, () => backend.listSetIds())
    await read('read records/', `s3:GetObject on ${arn('records')}`, () => backend.getRecord(randomUUID()))
    for (const kind of APPROVER_WRITES) await writeProbe(kind)
    await deleteProbe('tarballs')
    return report
  } catch (err) {
    return { ...report, error: isStagePublishError(err) ? err : s3Errors(err, { ...loc, op: 'reach the bucket', action: 's3:ListBucket', key: loc.prefix }) }
  }
}
