/**
 * Reads of files and streams that someone else controls, with an end: a regular file only (a FIFO
 * would block forever, /dev/zero never ends, a symbolic link could point anywhere), never more
 * than a limit, and from one open file descriptor, so what was checked is what is read.
 * File-system errors such as ENOENT come out unchanged for the caller to map.
 */
import { closeSync, constants, fstatSync, openSync, promises as fs, readSync, type BigIntStats, type Stats } from 'node:fs'
import { StagePublishError } from '../errors.js'
import { formatBinaryBytes } from '../core/limits.js'

export interface BoundedReadOptions {
  /** Refuse anything longer, with ETOOLARGE. */
  maxBytes: number
  /** How the file is named in messages, e.g. "The staged tarball of <id>". */
  what: string
  /** The environment variable that raises maxBytes, for the hint. */
  limitEnv?: string
  /** A path given by the user themselves may be a symbolic link; a backend's files may not. */
  followSymlinks?: boolean
}

const KINDS: Array<[keyof import('node:fs').Stats, string]> = [
  ['isFIFO', 'a FIFO'],
  ['isCharacterDevice', 'a character device'],
  ['isBlockDevice', 'a block device'],
  ['isSocket', 'a socket'],
  ['isDirectory', 'a directory'],
  ['isSymbolicLink', 'a symbolic link'],
]

// O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting; it is refused after fstat.
const openFlags = (options: BoundedReadOptions) => constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW)

/** Refuses what is not a regular file, or is larger than allowed, by what fstat says of the open descriptor. */
function checkStat(stat: Stats | BigIntStats, options: BoundedReadOptions): void {
  if (!stat.isFile()) {
    const kind = KINDS.find(([k]) => (stat[k] as () => boolean).call(stat))?.[1] ?? 'not a file'
    throw notRegular(options.what, kind)
  }
  if (Number(stat.size) > options.maxBytes) throw tooLarge(options, Number(stat.size))
}

/**
 * How much to ask for next: the size fstat gave plus one byte (to notice a file that grew), never
 * past the limit plus one, at most 1 MiB at a time. Sized by the file, not by the limit: a 2 KiB
 * record must not cost a 1 MiB buffer (10,000 of them kept the garbage collector busy for seconds).
 */
function nextChunk(size: number, total: number, options: BoundedReadOptions): number {
  const want = total <= size ? size + 1 - total : 64 * 1024
  return Math.max(1, Math.min(want, options.maxBytes + 1 - total, 1024 * 1024))
}

/** The bytes of a regular file, opened without blocking and (by default) without following a link. */
export async function readRegularFile(file: string, options: BoundedReadOptions): Promise<Buffer> {
  let fh: fs.FileHandle
  try {
    fh = await fs.open(file, openFlags(options))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notRegular(options.what, 'a symbolic link')
    throw err
  }
  try {
    const stat = await fh.stat()
    checkStat(stat, options)
    // The file may grow after fstat: read at most one byte past the limit to notice.
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(nextChunk(stat.size, total, options))
      const { bytesRead } = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      chunks.push(buf.subarray(0, bytesRead))
      total += bytesRead
      if (total > options.maxBytes) throw tooLarge(options, total)
    }
    return Buffer.concat(chunks, total)
  } finally {
    await fh.close()
  }
}

/**
 * readRegularFile without the thread pool, for many small files read one after another (a listing of
 * thousands of records): the same checks on the same open descriptor, four system calls a file
 * instead of four round trips through libuv's workers. Only for files bounded to a few MiB.
 */
export function readRegularFileSync(file: string, options: BoundedReadOptions): Buffer {
  return readRegularFileSyncWithStat(file, options).bytes
}

/**
 * readRegularFileSync, and what fstat said of the descriptor before a byte was read (nanosecond times):
 * the identity of a file whose bytes are remembered (a listing cache) must be taken before its bytes,
 * so a change during the read leaves a newer identity behind and is read again next time.
 */
export function readRegularFileSyncWithStat(file: string, options: BoundedReadOptions): { bytes: Buffer; stat: BigIntStats } {
  let fd: number
  try {
    fd = openSync(file, openFlags(options))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notRegular(options.what, 'a symbolic link')
    throw err
  }
  try {
    const stat = fstatSync(fd, { bigint: true })
    checkStat(stat, options)
    const size = Number(stat.size)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(nextChunk(size, total, options))
      const bytesRead = readSync(fd, buf, 0, buf.length, null)
      if (bytesRead === 0) break
      chunks.push(buf.subarray(0, bytesRead))
      total += bytesRead
      if (total > options.maxBytes) throw tooLarge(options, total)
    }
    return { bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total), stat }
  } finally {
    closeSync(fd)
  }
}

/** All of a stream, refused with ETOOLARGE (and the stream destroyed) as soon as it passes maxBytes. */
export async function readStreamBounded(stream: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => unknown }, options: BoundedReadOptions): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    total += chunk.byteLength
    if (total > options.maxBytes) {
      stream.destroy?.()
      throw tooLarge(options, total, true)
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
  return Buffer.concat(chunks, total)
}

export function tooLarge(options: Pick<BoundedReadOptions, 'maxBytes' | 'what' | 'limitEnv'>, size: number, atLeast = false): StagePublishError {
  return new StagePublishError('ETOOLARGE', `${options.what} is ${atLeast ? 'more than ' : ''}${formatBinaryBytes(atLeast ? options.maxBytes : size)}${atLeast ? '' : `, over the limit of ${formatBinaryBytes(options.maxBytes)}`}`, {
    hint: `Nothing was read or published.${options.limitEnv ? ` If it really is this large, raise the limit with ${options.limitEnv}.` : ''}`,
  })
}

function notRegular(what: string, kind: string): StagePublishError {
  return new StagePublishError('ECORRUPT', `${what} is not a regular file: it is ${kind}`, {
    hint: 'Nothing was read or published. Something other than stage-publish put it there; reject the release and stage it again.',
  })
}
