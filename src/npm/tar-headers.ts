/**
 * A second look at the raw tar headers of a staged tarball, block by block, for what node-tar's parser
 * does not report but other tar readers act on: node-tar drops a pax `path` record whose value holds a
 * line feed (the entry keeps its ustar name), cuts one at a NUL, and applies a global pax header's path
 * differently, while GNU tar and libarchive honour all three — the same bytes would show one name here
 * and unpack as another elsewhere. npm pack writes none of these, so a staged tarball with them is
 * refused. Also refused: entry types npm pack never writes, and anything after the end-of-archive blocks
 * (a second archive appended, which node-tar ignores). Pure: bytes in, a problem (or nothing) out.
 */

const BLOCK = 512
/** Meta entries (pax headers, GNU long names) are a few hundred bytes; this is far beyond any honest one. */
const MAX_META = 64 * 1024
/**
 * Types node-tar's parser lets through without a word but other readers act on: a global pax header
 * (its path applies to every later entry elsewhere) and GNU's dump-dir. Links, devices and the rest are
 * reported by the parser and refused by the reader with the entry's name.
 */
const REFUSED_TYPES: Record<string, string> = { g: 'a global pax header', D: 'a GNU dump-dir entry' }
const CONTROL = /[\u0000-\u001f\u007f]/

type State = { at: 'header' } | { at: 'skip'; left: number } | { at: 'meta'; type: string; left: number; pad: number; data: Buffer[] } | { at: 'end' }

export class TarHeaderScanner {
  private state: State = { at: 'header' }
  private pending = Buffer.alloc(0)
  private zeroBlocks = 0

  /** Feeds the next inflated bytes; returns why the archive is refused, or undefined. */
  write(chunk: Buffer): string | undefined {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    while (buf.length) {
      const s = this.state
      if (s.at === 'end') {
        // After the end-of-archive marker only zero padding may follow.
        if (buf.some((b) => b !== 0)) return 'it has data after the end of the archive (another archive appended?)'
        return undefined
      }
      if (s.at === 'skip') {
        const n = Math.min(s.left, buf.length)
        s.left -= n
        buf = buf.subarray(n)
        if (s.left === 0) this.state = { at: 'header' }
        continue
      }
      if (s.at === 'meta') {
        const n = Math.min(s.left, buf.length)
        s.data.push(buf.subarray(0, n))
        s.left -= n
        buf = buf.subarray(n)
        if (s.left === 0) {
          const why = checkMeta(s.type, Buffer.concat(s.data))
          if (why) return why
          this.state = s.pad ? { at: 'skip', left: s.pad } : { at: 'header' }
        }
        continue
      }
      if (buf.length < BLOCK) {
        this.pending = Buffer.from(buf)
        return undefined
      }
      const header = buf.subarray(0, BLOCK)
      buf = buf.subarray(BLOCK)
      if (header.every((b) => b === 0)) {
        if (++this.zeroBlocks === 2) this.state = { at: 'end' }
        continue
      }
      if (this.zeroBlocks) return 'it has an entry after an end-of-archive block'
      const type = String.fromCharCode(header[156] as number)
      const size = sizeOf(header)
      if (size === undefined) return 'an entry has an unreadable size field'
      if (REFUSED_TYPES[type]) return `it has ${REFUSED_TYPES[type]}, which npm pack never writes`
      if (type === '5' && size !== 0) return 'a folder entry carries data'
      const pad = (BLOCK - (size % BLOCK)) % BLOCK
      if (type === 'x' || type === 'L') {
        if (size > MAX_META) return `a ${type === 'x' ? 'pax' : 'long-name'} header is ${size} bytes`
        this.state = size ? { at: 'meta', type, left: size, pad, data: [] } : { at: 'header' }
      } else if (size + pad) {
        this.state = { at: 'skip', left: size + pad }
      }
    }
    return undefined
  }
}

/** The size field: octal digits, or GNU's base-256 (high bit set). */
function sizeOf(header: Buffer): number | undefined {
  const field = header.subarray(124, 136)
  if ((field[0] as number) & 0x80) {
    let n = 0
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] as number)
    return Number.isSafeInteger(n) ? n : undefined
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').trim()
  if (text === '') return 0
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined
}

/** A pax header's records (`<length> <key>=<value>\n`, length in bytes), or a GNU long name. */
function checkMeta(type: string, data: Buffer): string | undefined {
  if (type === 'L') {
    const name = data.toString('utf8').replace(/\0+$/, '')
    return CONTROL.test(name) ? 'a long name holds a control character or a NUL (tar readers disagree on such names)' : undefined
  }
  let pos = 0
  while (pos < data.length) {
    if (data.subarray(pos).every((b) => b === 0)) break
    const space = data.indexOf(0x20, pos)
    const digits = space > pos ? data.toString('latin1', pos, space) : ''
    const length = /^[1-9][0-9]{0,5}$/.test(digits) ? Number(digits) : 0
    const record = length ? data.subarray(pos, pos + length) : Buffer.alloc(0)
    if (!length || record.length !== length || record[length - 1] !== 0x0a) return 'a pax header is malformed'
    const kv = record.subarray(space - pos + 1, length - 1).toString('utf8')
    const eq = kv.indexOf('=')
    if (eq <= 0) return 'a pax header record has no key'
    const key = kv.slice(0, eq)
    if ((key === 'path' || key === 'linkpath') && CONTROL.test(kv.slice(eq + 1))) {
      return `a pax ${key} holds a control character, a line feed or a NUL (tar readers disagree on such names)`
    }
    pos += length
  }
  return undefined
}
