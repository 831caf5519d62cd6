/** A fresh bucket on the test S3 endpoint and an admin client for it (the tests' own hand on the bucket, not CI's). */
import type * as S3 from '@aws-sdk/client-s3'

export async function createTestBucket(endpoint: string | undefined, bucket: string): Promise<{ sdk: typeof S3; admin: S3.S3Client }> {
  // Loaded here, not at the top of a test file: the files that use it are skipped without an S3 endpoint.
  const sdk = await import('@aws-sdk/client-s3')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const admin = new sdk.S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED' })
  await admin.send(new sdk.CreateBucketCommand({ Bucket: bucket }))
  return { sdk, admin }
}

/** The test endpoint's credentials, as the CLI under test reads them from its environment. */
export const s3Env = (): Record<string, string | undefined> => ({
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
})
