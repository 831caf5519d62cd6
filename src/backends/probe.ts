/**
 * `doctor`: can the current identity do what its role needs in a record store, found out without
 * leaving anything behind. The roles (docs/backends.md, "S3", has the policies):
 *   ci        creates staged releases: writes tarballs/, records/, sets/, versions/ (create-if-absent);
 *   approver  lists and reads records and sets, changes records and reservations, deletes tarballs.
 * A local directory is probed with files created and removed at once; S3 in ./probe-s3.ts.
 * A registry's staging API is not probed here: its checks are the registry's (src/npm/account.ts).
 */
import { randomBytes } from 'node:crypto'
import { constants, promises as fs } from 'node:fs'
import path from 'node:path'
import { StagePublishError } from '../errors.js'

export type Role = 'ci' | 'approver'

export interface AccessProbe {
  /** What was checked and is allowed, for people ("write records/"). */
  allowed: string[]
  /** What the role needs and is refused, each naming the permission to grant. */
  denied: string[]
  /** Worth knowing, not wrong: more rights than the role needs, a directory that does not exist yet. */
  notes: string[]
  /** The store could not be asked at all (unreachable, no such bucket, no credentials...). */
  error?: StagePublishError
}

/** The folders of a local backend (src/backends/local.ts) that staging and approving write into. */
const LOCAL_DIRS = ['records', 'tarballs', 'versions', 'sets', 'tmp', 'locks', 'audit']

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS'])

/** Creates and removes a file in `dir`: a write that leaves nothing. Returns the error code when refused. */
async function canWrite(dir: string): Promise<string | null> {
  const probe = path.join(dir, `.doctor-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    const fh = await fs.open(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
    await fh.close()
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EIO'
  }
  await fs.unlink(probe)
  return null
}

export async function probeLocal(root: string, role: Role): Promise<AccessProbe> {
  const report: AccessProbe = { allowed: [], denied: [], notes: [] }
  const stat = await fs.stat(root).catch((err: unknown) => err as NodeJS.ErrnoException)
  if (stat instanceof Error) {
    if (stat.code !== 'ENOENT') return { ...report, error: new StagePublishError('EBACKEND', `Cannot read ${root} (${stat.code})`, { hint: 'Check the path in --backend and its permissions.' }) }
    // Created on first staging: whoever stages must be able to create it.
    let parent = path.dirname(root)
    while ((await fs.stat(parent).catch(() => null)) === null && path.dirname(parent) !== parent) parent = path.dirname(parent)
    const refused = await canWrite(parent)
    report.notes.push(`${root} does not exist yet: it is created when something is first staged`)
    if (refused) report.denied.push(`create ${root} (${parent} is not writable: ${refused})`)
    else report.allowed.push(`create ${root}`)
    return report
  }
  if (!stat.isDirectory()) return { ...report, error: new StagePublishError('EBACKEND', `${root} is not a directory`, { hint: 'Point --backend file:<dir> at a directory.' }) }
  const records = path.join(root, 'records')
  try {
    await fs.readdir(records)
    report.allowed.push('read records/')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') report.notes.push('nothing has been staged here yet')
    else report.denied.push(`read ${records} (${code})`)
  }
  // Both roles write: staging creates files, approving changes records (compare-and-set) and takes locks.
  let rootChecked = false
  for (const name of LOCAL_DIRS) {
    const dir = path.join(root, name)
    const exists = (await fs.stat(dir).catch(() => null)) !== null
    if (!exists && rootChecked) continue
    const refused = await canWrite(exists ? dir : root)
    if (!exists) rootChecked = true
    const what = exists ? `write ${name}/` : `create folders in ${root}`
    if (refused) report.denied.push(`${what} (${DENIED.has(refused) ? 'not writable' : refused}: ${exists ? dir : root})`)
    else report.allowed.push(what)
  }
  if (role === 'ci') report.notes.push('a local directory is not shared: CI should stage to S3 or the registry (stage refuses the default local directory on a CI runner)')
  return report
}
