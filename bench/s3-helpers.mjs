// What the S3 benchmarks (bench/list-history.mjs, bench/list-s3.mjs) share: bounded concurrency, and
// removing the throwaway bucket they filled.

/** Runs fn over items, `limit` at a time. */
export async function inBatches(items, limit, fn) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}

/** Deletes every object of `bucket` (paged), then the bucket. `sdk` is @aws-sdk/client-s3. */
export async function removeBucket(admin, sdk, bucket) {
  const keys = []
  let token
  do {
    const out = await admin.send(new sdk.ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    keys.push(...(out.Contents ?? []).map((o) => o.Key))
    token = out.IsTruncated ? out.NextContinuationToken : undefined
  } while (token)
  await inBatches(keys, 32, (Key) => admin.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key })))
  await admin.send(new sdk.DeleteBucketCommand({ Bucket: bucket }))
}
