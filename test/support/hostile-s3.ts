/**
 * The S3 side of the hostile corpus: a fresh bucket prefix on the shared radosgw that an attacker with
 * PutObject rights writes raw keys into, and a fingerprint of every key (key → ETag, size) to prove
 * that reading them changed nothing. Enabled when STAGE_PUBLISH_TEST_S3_ENDPOINT is set.
 */
import { randomUUID } from 'node:crypto'
import type * as S3 from '@aws-sdk/client-s3'
import type { Sandbox } from './cli.js'
import type { TestRegistry } from './verdaccio.js'
import type { Battlefield } from './hostile-attack.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
export const s3Enabled = Boolean(endpoint)
if (!endpoint) console.warn('\n⚠  The S3 part of the hostile corpus was SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set (set -a; . /tmp/rgw-shared/env; set +a).\n')

export interface S3Battlefield extends Battlefield {
  /** PutObject of raw bytes at `<prefix>/records/<id>.json` and `<prefix>/tarballs/<id>.tgz`, as a CI role could. */
  put(id: string, files: { record?: string | Buffer; tarball?: Buffer }): Promise<void>
}

let bucketReady: Promise<string> | undefined

async function client(): Promise<{ sdk: typeof S3; s3: S3.S3Client }> {
  const sdk = await import('@aws-sdk/client-s3')
  return { sdk, s3: new sdk.S3Client({ endpoint, forcePathStyle: true, region: process.env.AWS_REGION ?? 'us-east-1' }) }
}

export async function s3Battlefield(sb: Sandbox, registry: TestRegistry): Promise<S3Battlefield> {
  const { sdk, s3 } = await client()
  const bucket = await (bucketReady ??= (async () => {
    const name = `sp-hostile-${randomUUID().slice(0, 8)}`
    await s3.send(new sdk.CreateBucketCommand({ Bucket: name }))
    return name
  })())
  const prefix = `attack-${randomUUID().slice(0, 8)}`
  const env = {
    ...sb.env,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  }
  return {
    registry,
    backend: `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true`,
    cwd: sb.dir,
    env,
    dir: sb.dir,
    async put(id, files) {
      if (files.tarball !== undefined) await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/tarballs/${id}.tgz`, Body: files.tarball }))
      if (files.record !== undefined) await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/records/${id}.json`, Body: files.record, ContentType: 'application/json' }))
    },
    async snapshot() {
      const out = new Map<string, string>()
      let token: string | undefined
      do {
        const page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }))
        for (const o of page.Contents ?? []) out.set(o.Key ?? '', `${o.ETag} ${o.Size}`)
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      return out
    },
  }
}
