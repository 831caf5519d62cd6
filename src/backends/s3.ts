/**
 * Staged releases in an S3-compatible bucket (AWS S3, R2, MinIO, Ceph radosgw, GCS's S3 interface):
 *
 *   s3://<bucket>/<prefix>?region=..&endpoint=..&forcePathStyle=true
 *   <prefix>/tarballs/<id>.tgz    the bytes, written first, create-if-absent
 *   <prefix>/provenance/<id>.sigstore   the Sigstore provenance bundle staged with them, if any: create-if-absent, before the record
 *   <prefix>/records/<id>.json    the record: created with If-None-Match: *, changed with If-Match: <etag>
 *   <prefix>/sets/<setId>.json    a release set: created with If-None-Match: * before its records, never changed
 *   <prefix>/versions/<name>@<version>.json   which release holds a name@version (./reservation.ts):
 *                                 created with If-None-Match: * before the record, replaced with If-Match
 *   <prefix>/audit/<id>-<time>.json   records removed by `reject --force` (they did not parse), created once
 *   <prefix>/pending/<%-encoded name>/<id>   a marker per release still waiting (./pending-markers.ts):
 *                                 created with If-None-Match: * before the record, deleted after the
 *                                 record's compare-and-set decides it; `list` reads only the records they name
 *   <prefix>/layout.json          present once every waiting record has its marker (the first `list` of a
 *                                 bucket staged into by an older version writes the missing ones, then it)
 *
 * One key prefix per kind, so IAM can let a CI role PutObject (create-if-absent) on them and nothing else. Credentials come
 * only from the AWS SDK's default chain (env, profile, instance role, web identity), never from the URL.
 * The SDK is imported on first use, so commands that never touch S3 never load it.
 */
import { createHash } from 'node:crypto'
import type * as S3 from '@aws-sdk/client-s3'
import { StagePublishError } from '../errors.js'
import { NETWORK_LIMITS } from '../core/network-limits.js'
import { checkId, checkSetId, isUuid, isWaiting, newestFirst, parseRecord, serializeRecord, type StagedRecord } from '../core/record.js'
import { MAX_SET_BYTES, parseSetObject, serializeSetObject, type SetObject } from '../core/release-set.js'
import { LIMIT_ENV, MAX_RECORD_SIZE, tarballLimits } from '../core/limits.js'
import { PROVENANCE_LIMITS } from '../core/provenance.js'
import { readStreamBounded, tooLarge, type BoundedReadOptions } from './bounded-read.js'
import type { CasStagingBackend, CreateResult, CreateSetResult, ListOptions, Reservation, ReserveResult, UpdateResult, Versioned } from './types.js'
import { pool } from './pool.js'
import { AUDIT_NAME_RE, parseReservation, reservationKey, serializeReservation } from './reservation.js'
import { addMissingMarkers, floodNotice, MARKER_GRACE_MS, markerDir, markerPath, MAX_MARKERS, parseMarkerPath, waitingFromMarkers, type Marker, type MarkerStore } from './pending-markers.js'

type Sdk = typeof S3

export interface S3BackendDeps {
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). Tests make it small to exercise continuation. */
  pageSize?: number
  /** Records fetched at once by listRecords. */
  concurrency?: number
  /** Milliseconds to open a connection: an unreachable endpoint fails after about this times maxAttempts. */
  connectionTimeoutMs?: number
  /** Milliseconds a connection may sit idle in the middle of a request. */
  socketTimeoutMs?: number
  /** Attempts per request, the first one included. */
  maxAttempts?: number
  /** Explicit credentials. Default: the SDK's default chain, which is what users get. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Called once with the client when it is made; tests add middleware with it (e.g. to fail one write). */
  onClient?: (client: S3.S3Client) => void
  /** The clock pending markers are aged by (ms since the epoch). Tests move it forward. */
  now?: () => number
  /** Pending marker keys trusted by one listing (pending-markers.ts MAX_MARKERS); tests make it small. */
  maxMarkers?: number
}

export interface S3Location {
  bucket: string
  /** '' or ends with '/'. */
  prefix: string
  region?: string
  endpoint?: string
  forcePathStyle: boolean
  /**
   * Canned ACL sent with every upload. Only `bucket-owner-full-control`: on stores where an
   * object belongs to whoever uploaded it (Ceph radosgw, AWS buckets with ACLs enabled), it lets the
   * approvers' identity read what CI staged. AWS buckets with BucketOwnerEnforced do not need it.
   */
  acl?: 'bucket-owner-full-control'
}

let sdkPromise: Promise<Sdk> | undefined
// One SDK per process, loaded on first use; forgotten on failure so a later call can try again.
// Not a dependency (22 MB and ~100 packages that only this backend needs): users of S3 install it themselves.
const loadSdk = (): Promise<Sdk> =>
  (sdkPromise ??= import('@aws-sdk/client-s3').catch((err: unknown) => {
    sdkPromise = undefined
    throw sdkLoadError(err)
  }))

/** Absent: say how to install it next to stage-publish. Present but broken: say so, with the cause. */
export function sdkLoadError(err: unknown): StagePublishError {
  const e = err as { code?: unknown; message?: unknown }
  const absent = e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes("'@aws-sdk/client-s3'")
  if (absent) {
    return new StagePublishError('EBACKEND', 'The S3 backend needs the AWS SDK (@aws-sdk/client-s3), which is not installed', {
      hint: 'Install it next to stage-publish: `npm install --save-dev @aws-sdk/client-s3`, or with npx: `npx -p stage-publish -p @aws-sdk/client-s3 stage-publish ...`.',
      cause: err,
    })
  }
  return new StagePublishError('EBACKEND', `The AWS SDK (@aws-sdk/client-s3) could not be loaded: ${String(e.message).slice(0, 300)}`, {
    hint: 'Reinstall it: `npm install --save-dev @aws-sdk/client-s3`.',
    cause: err,
  })
}

const CREDENTIALS_HINT =
  'Credentials come from the AWS SDK default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or OIDC role. Remove them from the URL (and rotate them if it was shared).'

/** Parses `s3://bucket/prefix?...`. Rejects credentials anywhere in it, without repeating them. */
export function parseS3Url(url: string): S3Location {
  const bad = (why: string, hint = 'Use s3://<bucket>/<prefix>?region=<region>&endpoint=<url>&forcePathStyle=true') =>
    new StagePublishError('EUSAGE', `Invalid S3 backend URL: ${why}`, { hint, exitCode: 2 })
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw bad('it is not a URL')
  }
  if (u.protocol !== 's3:') throw bad('it does not start with s3://')
  if (u.username || u.password) throw bad('it contains credentials', CREDENTIALS_HINT)
  const bucket = u.hostname
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`"${bucket.slice(0, 70)}" is not a valid bucket name`)
  const path = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '')
  if (path && path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw bad('the prefix has empty, "." or ".." parts')
  for (const key of u.searchParams.keys()) {
    if (/key|secret|token|credential|password/i.test(key)) throw bad(`the query has "${key.slice(0, 40)}"`, CREDENTIALS_HINT)
    if (!['region', 'endpoint', 'forcePathStyle', 'acl'].includes(key)) throw bad(`unknown option "${key.slice(0, 40)}"`, 'The options are region, endpoint, forcePathStyle and acl.')
  }
  const endpoint = u.searchParams.get('endpoint') || undefined
  if (endpoint) {
    let e: URL
    try {
      e = new URL(endpoint)
    } catch {
      throw bad('endpoint is not a URL', 'For example endpoint=https://<account>.r2.cloudflarestorage.com')
    }
    if (e.username || e.password) throw bad('the endpoint contains credentials', CREDENTIALS_HINT)
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw bad('endpoint must be an http:// or https:// URL')
  }
  const fps = u.searchParams.get('forcePathStyle')
  if (fps !== null && fps !== 'true' && fps !== 'false') throw bad('forcePathStyle must be true or false')
  const acl = u.searchParams.get('acl')
  if (acl !== null && acl !== 'bucket-owner-full-control') throw bad('acl can only be bucket-owner-full-control')
  return { bucket, prefix: path ? `${path}/` : '', region: u.searchParams.get('region') || undefined, endpoint, forcePathStyle: fps === 'true', ...(acl && { acl }) }
}

export function createS3Backend(url: string, deps: S3BackendDeps = {}): CasStagingBackend {
  const loc = parseS3Url(url)
  const pageSize = Math.max(1, Math.min(1000, deps.pageSize ?? 1000))
  const concurrency = Math.max(1, deps.concurrency ?? 32)
  const location = `s3://${loc.bucket}/${loc.prefix}${loc.endpoint ? ` at ${loc.endpoint}` : ''}`
  const clock = deps.now ?? Date.now
  const maxMarkers = Math.max(1, deps.maxMarkers ?? MAX_MARKERS)
  const at = (op: string, action: string, key: string): S3Where => ({ ...loc, op, action, key })
  const keys = {
    tarball: (id: string) => `${loc.prefix}tarballs/${checkId(id)}.tgz`,
    provenance: (id: string) => `${loc.prefix}provenance/${checkId(id)}.sigstore`,
    record: (id: string) => `${loc.prefix}records/${checkId(id)}.json`,
    records: `${loc.prefix}records/`,
    pending: `${loc.prefix}pending/`,
    marker: (name: string, id: string) => `${loc.prefix}pending/${markerPath(name, checkId(id))}`,
    layout: `${loc.prefix}layout.json`,
    version: (name: string, version: string) => `${loc.prefix}versions/${reservationKey(name, version)}.json`,
    audit: (name: string) => {
      if (!AUDIT_NAME_RE.test(name)) throw new StagePublishError('EINVALIDID', `"${name.slice(0, 60)}" is not an audit entry name`)
      return `${loc.prefix}audit/${name}.json`
    },
  }

  let clientPromise: Promise<{ sdk: Sdk; client: S3.S3Client }> | undefined
  const connect = () =>
    (clientPromise ??= loadSdk().then((sdk) => {
      // The SDK warns on stderr that it will drop Node 20 in 2027: adapters never print.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
      const region = loc.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (loc.endpoint ? 'us-east-1' : undefined)
      const client = new sdk.S3Client({
        ...(region ? { region } : {}),
        ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
        forcePathStyle: loc.forcePathStyle,
        ...(deps.credentials ? { credentials: deps.credentials } : {}),
        // Few retries and short timeouts (core/network-limits.ts): an endpoint that never answers fails in seconds.
        maxAttempts: deps.maxAttempts ?? NETWORK_LIMITS.s3MaxAttempts,
        // Since 3.729 the SDK adds CRC32 checksums to every PUT; some S3-compatible servers refuse them
        // (R2 answered 501: aws/aws-sdk-js-v3#6810). radosgw 16 accepts them; AWS itself keeps the default.
        ...(loc.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
        requestHandler: {
          connectionTimeout: deps.connectionTimeoutMs ?? NETWORK_LIMITS.s3ConnectTimeoutMs,
          socketTimeout: deps.socketTimeoutMs ?? NETWORK_LIMITS.s3SocketTimeoutMs,
          requestTimeout: NETWORK_LIMITS.s3RequestTimeoutMs,
          throwOnRequestTimeout: true,
          logger: silent,
        },
      })
      deps.onClient?.(client)
      return { sdk, client }
    }))

  /** Sends one command; SDK errors come out unmapped, for the caller to classify. */
  async function send<T>(make: (sdk: Sdk) => object): Promise<T> {
    const { sdk, client } = await connect()
    return (await client.send(make(sdk) as never)) as T
  }

  /** PutObject: the new etag, or the failure kinds the caller asked to handle itself. */
  async function put(w: S3Where, body: Uint8Array | string, cond: { IfNoneMatch?: string; IfMatch?: string }, expected: readonly S3Failure[]): Promise<{ etag: string } | { failed: S3Failure }> {
    try {
      const type = w.key.endsWith('.json') ? 'application/json' : 'application/octet-stream'
      const out = await send<S3.PutObjectCommandOutput>((sdk) => new sdk.PutObjectCommand({ Bucket: loc.bucket, Key: w.key, Body: body, ContentType: type, ...(loc.acl && { ACL: loc.acl }), ...cond }))
      return { etag: stripQuotes(out.ETag) }
    } catch (err) {
      const kind = s3Failure(err)
      if (expected.includes(kind)) return { failed: kind }
      throw s3Errors(err, w)
    }
  }

  async function headEtag(w: S3Where): Promise<string | null> {
    try {
      return stripQuotes((await send<S3.HeadObjectCommandOutput>((sdk) => new sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: w.key }))).ETag)
    } catch (err) {
      // A HEAD answer has no body, so no S3 error code: a 404 is all it says. Only called on a bucket
      // that just answered, so the 404 is about the key.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null
      throw s3Errors(err, w)
    }
  }

  /** One object, read up to `bound.maxBytes`: refused by its ContentLength, or as soon as the body passes it. */
  async function getObject(w: S3Where, bound: BoundedReadOptions): Promise<{ bytes: Uint8Array; etag: string } | null> {
    try {
      const out = await send<S3.GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: w.key }))
      const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => unknown }) | undefined
      if (out.ContentLength !== undefined && out.ContentLength > bound.maxBytes) {
        body?.destroy?.()
        throw tooLarge(bound, out.ContentLength)
      }
      return { bytes: body ? await readStreamBounded(body, bound) : new Uint8Array(), etag: stripQuotes(out.ETag) }
    } catch (err) {
      if (s3Failure(err) === 'notFound') return null
      throw s3Errors(err, w)
    }
  }

  /** Every object under `prefix`, page by page (ListObjectsV2 continuation), each page's errors named by `w`. */
  async function* listUnder(w: S3Where, prefix: string): AsyncGenerator<S3._Object> {
    let token: string | undefined
    do {
      let out: S3.ListObjectsV2CommandOutput
      try {
        out = await send((sdk) => new sdk.ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, MaxKeys: pageSize, ContinuationToken: token }))
      } catch (err) {
        throw s3Errors(err, w)
      }
      yield* out.Contents ?? []
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
  }

  async function deleteKey(w: S3Where): Promise<void> {
    try {
      await send((sdk) => new sdk.DeleteObjectCommand({ Bucket: loc.bucket, Key: w.key }))
    } catch (err) {
      if (s3Failure(err) !== 'notFound') throw s3Errors(err, w)
    }
  }

  async function readRecord(id: string): Promise<Versioned | null> {
    const got = await getObject(at('read the record', 's3:GetObject', keys.record(id)), { maxBytes: MAX_RECORD_SIZE, what: `The record of staged release ${id}` })
    if (!got) return null
    return { record: parseRecord(Buffer.from(got.bytes).toString('utf8'), id), etag: got.etag }
  }

  // ---- pending markers (./pending-markers.ts) ----
  const markerStore: MarkerStore = {
    read: readRecord,
    concurrency,
    graceMs: MARKER_GRACE_MS,
    async create(name, id) {
      await put(at('create the pending marker', 's3:PutObject', keys.marker(name, id)), markerBody(name, id), { IfNoneMatch: '*' }, ['preconditionFailed', 'conflict'])
    },
    remove: ({ name, id }) => deleteKey(at('remove the pending marker', 's3:DeleteObject', keys.marker(name, id))),
  }

  // ---- name@version reservations ----
  const reservations = {
    async reserveVersion(name: string, version: string, id: string, replacing?: string): Promise<ReserveResult> {
      checkId(id)
      const w = at('reserve the version', 's3:PutObject', keys.version(name, version))
      const text = serializeReservation(name, version, id, new Date())
      const create = async () => 'etag' in (await put(w, text, { IfNoneMatch: '*' }, ['preconditionFailed', 'conflict']))
      if (replacing === undefined) return (await create()) ? { reserved: true } : { reserved: false, reason: 'taken' }
      // Unquoted: see updateRecord. AWS answers 404 to If-Match on a key that is gone: then create it.
      const res = await put(w, text, { IfMatch: stripQuotes(replacing) }, ['preconditionFailed', 'notFound', 'conflict'])
      if ('etag' in res || (res.failed === 'notFound' && (await create()))) return { reserved: true }
      if (res.failed === 'preconditionFailed' && (await headEtag(w)) === null && (await create())) return { reserved: true }
      return { reserved: false, reason: 'taken' }
    },

    async getReservation(name: string, version: string): Promise<Reservation | null> {
      const got = await getObject(at('read the version reservation', 's3:GetObject', keys.version(name, version)), { maxBytes: MAX_RECORD_SIZE, what: `The reservation of ${name}@${version}` })
      return got ? { ...parseReservation(Buffer.from(got.bytes).toString('utf8')), etag: got.etag } : null
    },

    async releaseVersion(name: string, version: string, id: string): Promise<void> {
      const key = keys.version(name, version)
      const got = await getObject(at('read the version reservation', 's3:GetObject', key), { maxBytes: MAX_RECORD_SIZE, what: `The reservation of ${name}@${version}` })
      if (got && parseReservation(Buffer.from(got.bytes).toString('utf8')).id === id) await deleteKey(at('release the version reservation', 's3:DeleteObject', key))
    },
  }

  // ---- removing records that do not parse (reject --force) ----
  const removal = {
    async inspectRecord(id: string): Promise<{ sha256: string; size: number } | null> {
      const w = at('read the record', 's3:GetObject', keys.record(id))
      const hash = createHash('sha256')
      let size = 0
      try {
        const out = await send<S3.GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: w.key }))
        // Streamed: the bytes are not a record, and may be of any size.
        for await (const chunk of (out.Body ?? []) as AsyncIterable<Uint8Array>) {
          hash.update(chunk)
          size += chunk.byteLength
        }
      } catch (err) {
        if (s3Failure(err) === 'notFound') return null
        throw s3Errors(err, w)
      }
      return { sha256: hash.digest('hex'), size }
    },

    async deleteRecord(id: string): Promise<void> {
      await deleteKey(at('delete the record', 's3:DeleteObject', keys.record(id)))
    },

    async createAudit(name: string, text: string): Promise<boolean> {
      const res = await put(at('write the audit entry', 's3:PutObject', keys.audit(name)), text, { IfNoneMatch: '*' }, ['preconditionFailed', 'conflict'])
      return 'etag' in res
    },
  }

  const backend = {
    ...reservations,
    ...removal,
    kind: 's3',
    location,

    async createRelease(record: StagedRecord, bytes: Uint8Array, _contents?: unknown, provenance?: Uint8Array): Promise<CreateResult> {
      const id = checkId(record.id)
      const tw = at('store the tarball', 's3:PutObject', keys.tarball(id))
      // Create-if-absent for the bytes too, so a second staging with this id never replaces the first one's.
      // Bytes already there with our MD5 are our own earlier attempt whose record write failed: reuse them.
      const putOnce = async (w: S3Where, body: Uint8Array): Promise<'wrote' | 'ours' | 'theirs'> => {
        if ('etag' in (await put(w, body, { IfNoneMatch: '*' }, ['preconditionFailed']))) return 'wrote'
        const existing = await headEtag(w)
        if (existing === null && 'etag' in (await put(w, body, { IfNoneMatch: '*' }, ['preconditionFailed']))) return 'wrote'
        return existing === createHash('md5').update(body).digest('hex') ? 'ours' : 'theirs'
      }
      const tarball = await putOnce(tw, bytes)
      if (tarball === 'theirs') return { created: false, reason: 'exists' }
      const wrote = tarball === 'wrote'
      // The bundle, like the bytes, before the record that names it (record.provenance holds its sha512).
      if (provenance && (await putOnce(at('store the provenance bundle', 's3:PutObject', keys.provenance(id)), provenance)) === 'theirs') {
        if (wrote) await deleteKey(tw).catch(() => {})
        return { created: false, reason: 'exists' }
      }
      // The marker before the record: a waiting record always has one (a crash leaves one too many, see pending-markers.ts).
      if (isWaiting(record.state)) await markerStore.create(record.packageName, id)
      const rw = at('create the record', 's3:PutObject', keys.record(id))
      const res = await put(rw, serializeRecord(record), { IfNoneMatch: '*' }, ['preconditionFailed'])
      if ('failed' in res) {
        // Another staging's record: remove the bytes we just added under its id (a rejected one has none).
        if (wrote) await deleteKey(tw).catch(() => {})
        return { created: false, reason: 'exists' }
      }
      // On any other failure the bytes stay: the record may have been written just before the connection
      // dropped, and a record must never point at missing bytes. Bytes without a record are invisible.
      return { created: true, id, etag: res.etag }
    },

    async getTarball(id: string): Promise<Buffer> {
      const { maxPackedSize } = tarballLimits(process.env)
      const got = await getObject(at('read the tarball', 's3:GetObject', keys.tarball(id)), { maxBytes: maxPackedSize, what: `The staged tarball of ${id}`, limitEnv: LIMIT_ENV.maxPackedSize })
      if (!got) {
        throw new StagePublishError('ENOTFOUND', `The tarball of staged release ${id} is missing from ${location}`, {
          hint: 'It was rejected, or the bucket was changed by hand. Nothing can be published from it.',
        })
      }
      return Buffer.from(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength)
    },

    async getProvenance(id: string): Promise<Buffer | null> {
      const got = await getObject(at('read the provenance bundle', 's3:GetObject', keys.provenance(id)), { maxBytes: PROVENANCE_LIMITS.bundleBytes, what: `The provenance bundle of ${id}` })
      return got ? Buffer.from(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength) : null
    },

    async deleteTarball(id: string): Promise<void> {
      await deleteKey(at('delete the tarball', 's3:DeleteObject', keys.tarball(id)))
    },

    getRecord: async (id: string) => readRecord(id),

    async updateRecord(record: StagedRecord, etag: string): Promise<UpdateResult> {
      const w = at('update the record', 's3:PutObject', keys.record(record.id))
      // Unquoted on purpose: radosgw 16 answers 412 to a quoted ETag in If-Match on PUT; AWS takes both.
      const unquoted = stripQuotes(etag)
      if (!unquoted) return { updated: false, reason: 'conflict' }
      // AWS answers 404 to If-Match on a missing key, and 409 while another conditional write is in flight.
      const res = await put(w, serializeRecord(record), { IfMatch: unquoted }, ['preconditionFailed', 'notFound', 'conflict'])
      if ('etag' in res) {
        // Decided: its marker goes. Best-effort (an approver without s3:DeleteObject on pending/*, a dropped
        // connection): the decision stands, and the next `list` removes a decided record's marker.
        if (!isWaiting(record.state)) await deleteKey(at('remove the pending marker', 's3:DeleteObject', keys.marker(record.packageName, record.id))).catch(() => undefined)
        return { updated: true, etag: res.etag }
      }
      if (res.failed === 'notFound' || (res.failed === 'preconditionFailed' && (await headEtag(w)) === null)) return { updated: false, reason: 'missing' }
      return { updated: false, reason: 'conflict' }
    },

    async listIds(): Promise<string[]> {
      const ids: string[] = []
      for await (const obj of listUnder(at('list the records', 's3:ListBucket', keys.records), keys.records)) {
        const name = (obj.Key ?? '').slice(keys.records.length)
        // Keys are untrusted: only a UUID ever becomes an id.
        if (name.endsWith('.json') && isUuid(name.slice(0, -5))) ids.push(name.slice(0, -5))
      }
      return ids
    },

    async listRecords(options: ListOptions & { onCorrupt?: (id: string, err: Error) => void } = {}): Promise<Versioned[]> {
      if (!options.waiting) return readEveryRecord(options)
      // Whether every waiting record has its marker yet (a bucket staged into by an older version has none).
      let migrated: boolean
      let markers: Marker[] | 'flood'
      try {
        ;[migrated, markers] = await Promise.all([headEtag(at('read the layout object', 's3:GetObject', keys.layout)).then((e) => e !== null), listMarkers(options.packageName)])
      } catch (err) {
        if (!(err instanceof StagePublishError && err.code === 'EACCESSDENIED')) throw err
        // An identity whose policy predates markers: list as before, and say what to allow.
        options.onNotice?.(`the pending markers in s3://${loc.bucket}/${keys.pending} could not be read (access denied), so every record was read instead. Allow s3:ListBucket on the prefix ${keys.pending} and s3:GetObject on ${keys.layout} (see the IAM policies in docs/backends.md).`)
        return readEveryRecord(options)
      }
      if (markers === 'flood') {
        options.onNotice?.(floodNotice(maxMarkers, `s3://${loc.bucket}/${keys.pending}`))
        return readEveryRecord(options)
      }
      if (migrated) return waitingFromMarkers(markers, markerStore, options)
      // Read both layouts once: every record, as before, then the markers they lack, then the layout object.
      const all = await readEveryRecord({ ...(options.onCorrupt && { onCorrupt: options.onCorrupt }) })
      const everyMarker = options.packageName ? await listMarkers() : markers
      if (everyMarker !== 'flood' && (await addMissingMarkers(all, new Set(everyMarker.map((m) => markerPath(m.name, m.id))), markerStore))) {
        await put(at('write the layout object', 's3:PutObject', keys.layout), `${JSON.stringify({ layout: 'pending-markers', version: 1 })}\n`, { IfNoneMatch: '*' }, ['preconditionFailed', 'conflict']).catch(() => undefined)
      }
      return all.filter((v) => isWaiting(v.record.state) && (!options.packageName || v.record.packageName === options.packageName))
    },

    ...setMethods(),
  } satisfies CasStagingBackend
  return backend

  /** Every record under records/ (paged), read 32 at a time: `list --all`, and buckets without markers. */
  async function readEveryRecord(options: ListOptions & { onCorrupt?: (id: string, err: Error) => void }): Promise<Versioned[]> {
    const ids = await backend.listIds()
    const out: Versioned[] = []
    await pool(ids, concurrency, async (id) => {
      let v: Versioned | null
      try {
        v = await readRecord(id)
      } catch (err) {
        if (options.onCorrupt && err instanceof StagePublishError && (err.code === 'ECORRUPT' || err.code === 'ETOOLARGE')) { options.onCorrupt(id, err); return; }
        throw err
      }
      // null: removed between the listing and the read.
      if (v && (!options.packageName || v.record.packageName === options.packageName) && (!options.waiting || isWaiting(v.record.state))) out.push(v)
    })
    return out.sort(newestFirst)
  }

  /** The pending markers (of one package: a key prefix), aged by their LastModified; 'flood' past maxMarkers keys. */
  async function listMarkers(packageName?: string): Promise<Marker[] | 'flood'> {
    const under = packageName === undefined ? keys.pending : `${keys.pending}${markerDir(packageName)}`
    const markers: Marker[] = []
    const now = clock()
    let seen = 0
    for await (const obj of listUnder(at('list the pending markers', 's3:ListBucket', under), under)) {
      if (++seen > maxMarkers) return 'flood'
      const parsed = parseMarkerPath((obj.Key ?? '').slice(keys.pending.length))
      // Keys are untrusted: anything that is not <encoded name>/<uuid> is ignored.
      if (parsed) markers.push({ ...parsed, ageMs: obj.LastModified ? now - obj.LastModified.getTime() : 0 })
    }
    return markers
  }

  /** Release set objects (core/release-set.ts): created once with If-None-Match: *, read strictly and bounded. */
  function setMethods(): Pick<CasStagingBackend, 'createSet' | 'getSet' | 'listSetIds'> {
    const setsPrefix = `${loc.prefix}sets/`
    const setKey = (setId: string) => `${setsPrefix}${checkSetId(setId)}.json`
    return {
      async createSet(set: SetObject): Promise<CreateSetResult> {
        const res = await put(at('create the release set', 's3:PutObject', setKey(set.setId)), serializeSetObject(set), { IfNoneMatch: '*' }, ['preconditionFailed'])
        return 'etag' in res ? { created: true } : { created: false, reason: 'exists' }
      },

      async getSet(setId: string): Promise<SetObject | null> {
        const w = at('read the release set', 's3:GetObject', setKey(setId))
        let out: S3.GetObjectCommandOutput
        try {
          out = await send<S3.GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: w.key }))
        } catch (err) {
          if (s3Failure(err) === 'notFound') return null
          throw s3Errors(err, w)
        }
        // Refused before its body is read: an object this large is not a set we wrote.
        if ((out.ContentLength ?? 0) > MAX_SET_BYTES) {
          ;(out.Body as { destroy?: () => void } | undefined)?.destroy?.()
          throw new StagePublishError('ETOOLARGE', `The release set ${setId} is too large (${out.ContentLength} bytes, at most ${MAX_SET_BYTES})`, { hint: 'Nothing was changed. Inspect the bucket.' })
        }
        const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array()
        return parseSetObject(Buffer.from(bytes).toString('utf8'), setId)
      },

      async listSetIds(): Promise<string[]> {
        const ids: string[] = []
        for await (const obj of listUnder(at('list the release sets', 's3:ListBucket', setsPrefix), setsPrefix)) {
          const name = (obj.Key ?? '').slice(setsPrefix.length)
          // Keys are untrusted: only a UUID ever becomes a set id.
          if (name.endsWith('.json') && isUuid(name.slice(0, -5))) ids.push(name.slice(0, -5))
        }
        return ids
      },
    }
  }
}

/**
 * What a marker holds, for people browsing the bucket; never read back (the key says it all, and the
 * record decides). Not empty: the SDK warns on stderr about a PutObject body it cannot measure ('').
 */
const markerBody = (name: string, id: string): string => `${JSON.stringify({ name, id })}\n`

const stripQuotes = (etag: string | undefined): string => (etag ?? '').replace(/^W\//, '').replace(/"/g, '')

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} }

// ---- S3 errors, mapped to our codes at the edge (verdaccio aws-storage s3Errors.ts) ----

export type S3Failure =
  | 'notFound'
  | 'noSuchBucket'
  | 'preconditionFailed'
  | 'conflict'
  | 'accessDenied'
  | 'noCredentials'
  | 'unreachable'
  | 'wrongRegion'
  | 'noRegion'
  | 'other'

export interface S3Where extends S3Location {
  /** What we were doing, for people: "read the record". */
  op: string
  /** The IAM action it needs: "s3:GetObject". */
  action: string
  key: string
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'])
const DENIED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem'])

export function s3Failure(err: unknown): S3Failure {
  const e = (err ?? {}) as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } }
  const code = e.Code ?? e.name ?? ''
  const status = e.$metadata?.httpStatusCode
  if (err instanceof StagePublishError) return 'other'
  if (code === 'NoSuchBucket') return 'noSuchBucket'
  // Only S3's own "no such key". A bare 404 is another server at the endpoint (or a HEAD: see headEtag).
  if (code === 'NoSuchKey') return 'notFound'
  if (code === 'PreconditionFailed' || status === 412) return 'preconditionFailed'
  if (code === 'ConditionalRequestConflict' || status === 409) return 'conflict'
  if (e.name === 'CredentialsProviderError') return 'noCredentials'
  if (DENIED.has(code) || status === 403 || status === 401) return 'accessDenied'
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || status === 301) return 'wrongRegion'
  if (/region is missing/i.test(e.message ?? '')) return 'noRegion'
  if (NETWORK_CODES.has(e.code ?? '') || code === 'TimeoutError' || code === 'RequestTimeout' || code === 'AbortError') return 'unreachable'
  if (status === undefined && /socket hang up|getaddrinfo|connect |timed? ?out/i.test(e.message ?? '')) return 'unreachable'
  return 'other'
}

/** Our error for an S3 failure: says what we were doing, where, and what to check. Never credentials. */
export function s3Errors(err: unknown, w: S3Where): StagePublishError {
  if (err instanceof StagePublishError) return err
  const e = (err ?? {}) as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } }
  const url = `s3://${w.bucket}/${w.key}`
  const server = w.endpoint ? `the endpoint ${w.endpoint}` : `S3 in ${w.region ?? 'the default region'}`
  const what = [e.Code ?? e.code ?? e.name, e.$metadata?.httpStatusCode && `HTTP ${e.$metadata.httpStatusCode}`].filter(Boolean).join(', ')
  const opts = (hint: string) => ({ hint, cause: err })
  switch (s3Failure(err)) {
    case 'notFound':
      return new StagePublishError('ENOTFOUND', `Nothing at ${url}`, opts('Check the id and that --backend points where it was staged.'))
    case 'noSuchBucket':
      return new StagePublishError('EBACKEND', `The bucket "${w.bucket}" does not exist at ${server}`, opts('Check the bucket name in --backend, its region (?region=) and endpoint (?endpoint=), or create the bucket.'))
    case 'noCredentials':
      return new StagePublishError('EACCESSDENIED', `No AWS credentials were found to ${w.op} in s3://${w.bucket}/${w.prefix}`, opts('Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or give the job an IAM role (in GitHub Actions: aws-actions/configure-aws-credentials with OIDC).'))
    case 'accessDenied':
      return new StagePublishError('EACCESSDENIED', `Access denied: could not ${w.op} in s3://${w.bucket}/${w.prefix} (${what})`, opts(`Check the credentials the AWS SDK picked up (AWS_PROFILE, AWS_ACCESS_KEY_ID, the job's role) and that their policy allows ${w.action} on arn:aws:s3:::${w.bucket}/${w.prefix}*.`))
    case 'unreachable':
      return new StagePublishError('EBACKENDUNREACHABLE', `Could not reach ${server} to ${w.op} in s3://${w.bucket}/${w.prefix} (${what || 'no answer'})`, opts('Check the network, any proxy, the endpoint (?endpoint=) and the region (?region=) in --backend. Nothing was changed by this attempt unless it says otherwise.'))
    case 'wrongRegion':
      return new StagePublishError('EBACKEND', `The bucket "${w.bucket}" is not in ${w.region ?? 'the region used'} (${what})`, opts('Add the bucket\'s region to --backend, e.g. s3://bucket/prefix?region=eu-west-1, or set AWS_REGION.'))
    case 'noRegion':
      return new StagePublishError('ECONFIG', `No AWS region is set for s3://${w.bucket}/${w.prefix}`, opts('Add ?region=<region> to --backend, or set AWS_REGION.'))
    case 'preconditionFailed':
    case 'conflict':
      return new StagePublishError('ECONFLICT', `Someone else changed ${url} at the same time`, opts('Run the command again: it re-reads the current state first.'))
    case 'other':
      return new StagePublishError('EBACKEND', `S3 could not ${w.op} at ${url}${what ? ` (${what})` : ''}`, opts(w.endpoint ? `Check that ${w.endpoint} is an S3 API endpoint, and the bucket and region in --backend.` : 'Check the bucket and region in --backend, and the S3 service status.'))
  }
}
