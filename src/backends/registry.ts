/**
 * A registry's own staging API (npm's `/-/stage` routes, npm CLI 11.15+, Verdaccio 9 `flags.stage`):
 *
 *   stage     POST   /-/stage/package/<name>   the body npm publish would PUT (libnpmpublish, stage: true)
 *   list      GET    /-/stage?page=&perPage=&package=
 *   view      GET    /-/stage/<id>
 *   download  GET    /-/stage/<id>/tarball
 *   approve   POST   /-/stage/<id>/approve     with the approver's one-time password
 *   reject    DELETE /-/stage/<id>             with the approver's one-time password
 *
 * The registry assigns ids, keeps only npm's fields (the sha1 shasum, no sha512, no files), has no
 * states (an item exists until approved or rejected) and is the one arbiter of approval, so this is
 * a NativeStagingBackend: no compare-and-set, approval is one call. Every request carries the
 * user's own npm credentials for the registry, `npm-command: stage`, and `npm-otp` when there is one,
 * as npm does. A registry that does not implement the routes (404/405/501 on them) is ENOSTAGE.
 */
import { createRequire } from 'node:module'
import { StagePublishError, redact } from '../errors.js'
import { checkId, isUuid, newestFirst, type StagedRecord } from '../core/record.js'
import { parseStagePage, recordFromStageItem } from '../core/stage-item.js'
import { stagedManifestOf } from '../core/manifest-confusion.js'
import { optionsFor, provenancePublishError, QUICK_RETRIES, readLimits, registryError, registryMessage, twoFactorChallenge, writeLimits } from '../npm/publish.js'
import type { PublishFn } from '../npm/publish.js'
import { publishManifest } from '../npm/publish-manifest.js'
import { withProvenance } from '../npm/provenance-publish.js'
import { readTarball, type TarballContents } from '../npm/tarball.js'
import { LIMIT_ENV, tarballLimits } from '../core/limits.js'
import { readStreamBounded, tooLarge } from './bounded-read.js'
import type { CreateResult, ListOptions, NativeStagingBackend, NativeWrite, Versioned, WriteAuth } from './types.js'

const require = createRequire(import.meta.url)

type Flat = Record<string, unknown>

interface NpmFetch {
  (url: string, opts: Flat): Promise<{ buffer(): Promise<Buffer>; headers: { get(name: string): string | null }; body: AsyncIterable<Uint8Array> & { destroy?: () => unknown } }>
  json(url: string, opts: Flat): Promise<unknown>
}

export interface RegistryBackendOptions {
  /** The registry that stages, approves and publishes; ends with '/'. */
  registry: string
  /** npm's flat options, holding the user's credentials for that registry. */
  flat: Flat
  /** libnpmpublish's publish, replaceable in tests. */
  publishFn?: PublishFn
}

const PER_PAGE = 100
/** A registry whose `total` never stops growing must not keep us paging forever. */
const MAX_PAGES = 1000
const NO_STAGE = new Set([404, 405, 501])

export function createRegistryBackend(options: RegistryBackendOptions): NativeStagingBackend {
  const registry = options.registry.endsWith('/') ? options.registry : `${options.registry}/`
  const where = redact(registry.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1'))
  const location = `the staging API of ${where}`
  const npmFetch = require('npm-registry-fetch') as NpmFetch

  /**
   * Options for one request: the user's credentials for this registry, no HTTP cache (staged items
   * change), and a read's timeouts unless the request says otherwise (writes pass writeLimits()).
   */
  const opts = (extra: Flat = {}): Flat => {
    const o: Flat = { ...options.flat, registry, npmCommand: 'stage', ...readLimits(), ...extra }
    delete o.cache
    return o
  }

  const noStage = (method: string, route: string, status: number): StagePublishError =>
    new StagePublishError('ENOSTAGE', `The registry ${where} does not implement npm's staging API (${method} ${route} answered ${status})`, {
      hint: 'Stage somewhere else and approve into the registry with your npm credentials: --backend file:<dir> (a directory on this machine) or --backend s3://<bucket>/<prefix>?region=<region> (an S3 bucket shared by CI and maintainers).',
    })

  const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode

  /** Maps what went wrong on a read; a 404 on an item route is "no such item" only if the API exists. */
  async function readError(err: unknown, method: string, route: string, doing: string): Promise<StagePublishError | 'missing'> {
    const status = statusOf(err)
    if (status !== undefined && NO_STAGE.has(status)) {
      if (route === '/-/stage') return noStage(method, route, status)
      // Unknown ids are 404 too: ask the list route whether the API is there at all.
      try {
        await npmFetch.json('/-/stage', opts({ query: { page: 0, perPage: 1 }, ...QUICK_RETRIES }))
      } catch (probe) {
        const s = statusOf(probe)
        if (s !== undefined && NO_STAGE.has(s)) return noStage('GET', '/-/stage', s)
        return registryError(probe, registry, doing)
      }
      return 'missing'
    }
    return registryError(err, registry, doing)
  }

  async function listAll(packageName?: string): Promise<unknown[]> {
    const items: unknown[] = []
    for (let page = 0; page < MAX_PAGES; page++) {
      let body: unknown
      try {
        body = await npmFetch.json('/-/stage', opts({ query: { page, perPage: PER_PAGE, ...(packageName && { package: packageName }) }, ...QUICK_RETRIES }))
      } catch (err) {
        const mapped = await readError(err, 'GET', '/-/stage', 'list staged packages')
        throw mapped === 'missing' ? noStage('GET', '/-/stage', 404) : mapped
      }
      const { items: pageItems, total } = parseStagePage(body)
      items.push(...pageItems)
      if (items.length >= total || pageItems.length < PER_PAGE) break
    }
    return items
  }

  /** A native write (approve, reject): expected outcomes come back as values. */
  async function write(method: 'POST' | 'DELETE', route: string, auth: WriteAuth, doing: string): Promise<NativeWrite> {
    try {
      const o = opts({ method, authType: auth.authType, ...(auth.otp && { otp: auth.otp }), ...writeLimits() })
      if (method === 'DELETE') await (await npmFetch(route, { ...o, ignoreBody: true })).buffer()
      else await npmFetch.json(route, o)
      return { ok: true }
    } catch (err) {
      const challenge = twoFactorChallenge(err)
      if (challenge) return { ok: false, ...challenge }
      const status = statusOf(err)
      if (status === 404) {
        const mapped = await readError(err, method, route, doing)
        if (mapped !== 'missing') throw mapped
        return { ok: false, reason: 'gone', message: registryMessage(err) }
      }
      if (status !== undefined && NO_STAGE.has(status)) throw noStage(method, route, status)
      if (status === 409) return { ok: false, reason: 'exists', message: registryMessage(err) }
      throw registryError(err, registry, doing)
    }
  }

  const backend = {
    kind: 'registry',
    location,

    async createRelease(record: StagedRecord, bytes: Uint8Array, contents?: TarballContents, provenance?: Uint8Array): Promise<CreateResult> {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      // The manifest npm would send for these bytes, built from the one strict reading of them
      // (as approval does for record stores); a name or version other than the record's is EINTEGRITY.
      const parsed = contents ?? (await readTarball(buffer, 'The tarball to stage'))
      const manifest = await publishManifest({ bytes: buffer, contents: parsed }, { name: record.packageName, version: record.version })
      const publish = options.publishFn ?? (require('libnpmpublish') as { publish: PublishFn }).publish
      const o: Flat = {
        ...optionsFor({ name: record.packageName, registry }, options.flat),
        npmCommand: 'stage',
        command: 'stage',
        stage: true,
        defaultTag: record.tag,
        access: record.access,
        ...writeLimits(),
      }
      delete o.otp
      let res: unknown
      try {
        // A verified bundle travels in the stage body as npm's `stage publish --provenance-file` sends it.
        res = await withProvenance(provenance ? Buffer.from(provenance) : null, o, (opts) => publish(manifest, buffer, opts))
      } catch (err) {
        const status = statusOf(err)
        const route = `/-/stage/package/${record.packageName}`
        if (status !== undefined && NO_STAGE.has(status)) throw noStage('POST', route, status)
        if (status === 409) {
          throw new StagePublishError('EALREADYSTAGED', `${where} refused to stage ${record.packageName}@${record.version}: that version is already staged or published there (${registryMessage(err)})`, {
            hint: `See what is staged with \`stage-publish list ${record.packageName} --backend registry+${where}\`, or bump the version.`,
          })
        }
        if (provenance && (status === 400 || status === undefined)) throw provenancePublishError(err, { name: record.packageName, version: record.version, registry }, 'stage')
        if (twoFactorChallenge(err)) {
          throw new StagePublishError('EOTP', `${where} asked for a one-time password to stage ${record.packageName}@${record.version}`, {
            hint: 'Staging needs no second factor on registries that implement npm\'s staging API; use a token that may stage (a stage-only token), or stage to another backend.',
          })
        }
        throw registryError(err, registry, `stage ${record.packageName}@${record.version}`)
      }
      const rawStageId = (res as { stageId?: unknown } | undefined)?.stageId
      const stageId = (typeof rawStageId === 'string' ? rawStageId : '').toLowerCase()
      if (!isUuid(stageId)) {
        throw new StagePublishError('EBACKEND', `${where} staged ${record.packageName}@${record.version} but returned no valid stage id`, {
          hint: `Look for it with \`stage-publish list ${record.packageName} --backend registry+${where}\`.`,
        })
      }
      return { created: true, id: stageId, etag: '' }
    },

    async getTarball(id: string): Promise<Buffer> {
      const route = `/-/stage/${checkId(id)}/tarball`
      const { maxPackedSize } = tarballLimits(process.env)
      const bound = { maxBytes: maxPackedSize, what: `The staged tarball ${id} from ${where}`, limitEnv: LIMIT_ENV.maxPackedSize }
      try {
        const res = await npmFetch(route, opts(QUICK_RETRIES))
        // Refused by its declared length before reading, and cut off at the limit whatever it declared.
        const declared = Number(res.headers.get('content-length'))
        if (!res.headers.get('content-encoding') && declared > maxPackedSize) {
          res.body.destroy?.()
          throw tooLarge(bound, declared)
        }
        return await readStreamBounded(res.body, bound)
      } catch (err) {
        if (err instanceof StagePublishError) throw err
        const mapped = await readError(err, 'GET', route, `download the staged tarball ${id}`)
        if (mapped !== 'missing') throw mapped
        throw new StagePublishError('ENOTFOUND', `${location} has no staged tarball ${id}`, {
          hint: 'It was approved or rejected (the registry then removes it), or the id is wrong.',
        })
      }
    },

    async getRecord(id: string): Promise<Versioned | null> {
      const route = `/-/stage/${checkId(id)}`
      let item: unknown
      try {
        item = await npmFetch.json(route, opts(QUICK_RETRIES))
      } catch (err) {
        const mapped = await readError(err, 'GET', route, `read the staged item ${id}`)
        if (mapped === 'missing') return null
        throw mapped
      }
      const record = recordFromStageItem(item, registry, id)
      return { record, etag: '', stagedManifest: stagedManifestOf(item, record.version) }
    },

    async listIds(): Promise<string[]> {
      return (await backend.listRecords()).map((v) => v.record.id)
    },

    async listRecords(options: ListOptions & { onCorrupt?: (id: string, err: Error) => void } = {}): Promise<Versioned[]> {
      const out: Versioned[] = []
      for (const item of await listAll(options.packageName)) {
        let record: StagedRecord
        try {
          record = recordFromStageItem(item, registry)
        } catch (err) {
          if (!options.onCorrupt) throw err
          const rawId = (item as { id?: unknown } | null)?.id
          options.onCorrupt((typeof rawId === 'string' ? rawId : '?').slice(0, 60), err as Error)
          continue
        }
        if (!options.packageName || record.packageName === options.packageName) out.push({ record, etag: '', stagedManifest: stagedManifestOf(item, record.version) })
      }
      return out.sort(newestFirst)
    },

    native: {
      registry,
      approve: async (id: string, auth: WriteAuth) => write('POST', `/-/stage/${checkId(id)}/approve`, auth, `approve the staged item ${id}`),
      reject: async (id: string, auth: WriteAuth) => write('DELETE', `/-/stage/${checkId(id)}`, auth, `reject the staged item ${id}`),
    },
  } satisfies NativeStagingBackend
  return backend
}

