/** `download`: the staged tarball, checked against its recorded integrity, written to a folder; the result as data (src/ui/render-download.ts words it). */
import { backendFor, findRecord, type BackendRequest, type Deps } from './context.js'
import { loadVerified } from './verify.js'
import { tarballFileName } from '../core/file-names.js'
import { usageError } from '../errors.js'
import type { DownloadResult } from '../ui/render-download.js'

export interface DownloadRequest extends BackendRequest {
  /** Folder to write to (default: the current folder). */
  dest?: string
}

export async function downloadRelease(rawId: string, request: DownloadRequest, deps: Deps): Promise<DownloadResult> {
  const path = await import('node:path')
  const dir = path.resolve(deps.cwd, request.dest ?? '.')
  await checkDest(dir, request.dest ?? '.')
  const backend = await backendFor(request, deps)
  const found = await findRecord(backend, rawId)
  // The record completed from the verified bytes: a registry's item lists only the sha1 shasum.
  const { bytes, record } = await loadVerified(backend, found.record)
  const file = await writeReplacing(dir, tarballFileName(record.packageName, record.version, record.id), bytes)
  return {
    id: record.id,
    name: record.packageName,
    version: record.version,
    integrity: record.integrity,
    shasum: record.shasum,
    size: bytes.length,
    filename: path.basename(file),
    path: file,
    shownPath: path.relative(deps.cwd, file) || file,
  }
}

/** A missing --dest is created (as it always was); anything there that is not a folder is refused. */
async function checkDest(dir: string, shown: string): Promise<void> {
  const { promises: fs } = await import('node:fs')
  const stat = await fs.stat(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  })
  if (stat && !stat.isDirectory()) throw usageError(`--dest ${shown} exists and is not a folder`, 'Give a folder to download into (it is created if missing).')
  if (!stat) await fs.mkdir(dir, { recursive: true })
}

/**
 * Writes `dir/name`, replacing whatever is there, in a folder others may write to: nothing planted
 * there is written through. The bytes go to a new file created exclusively ('wx': O_CREAT|O_EXCL,
 * which does not follow a symlink) under an unpredictable name, then renamed over the final name
 * (rename replaces a symlink there, never its target).
 */
async function writeReplacing(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = await import('node:path')
  const { promises: fs } = await import('node:fs')
  const { randomBytes } = await import('node:crypto')
  const file = path.join(dir, name)
  const tmp = path.join(dir, `.${name}.${randomBytes(12).toString('hex')}.tmp`)
  const handle = await fs.open(tmp, 'wx', 0o644)
  try {
    await handle.writeFile(bytes)
    await handle.close()
    await fs.rename(tmp, file)
  } catch (err) {
    await handle.close().catch(() => undefined)
    await fs.rm(tmp, { force: true })
    throw err
  }
  return file
}
