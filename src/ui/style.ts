/**
 * Our colours, made so that no other text can forge them. `style()` does not emit SGR: it wraps
 * text in markers made of private-use characters and a per-process random nonce. `toTerminal()`
 * (called only by the writers in output.ts and pager.ts) sanitises everything between genuine
 * markers — which escapes the marker range, so a forged marker is shown, never obeyed — then turns
 * the markers into SGR sequences, or drops them when the stream gets no colour. Text from a record,
 * a tarball or a registry can therefore never set a colour, move the cursor or open a link.
 */
import { sanitize } from './sanitize.js'

export const STYLE_NAMES = ['bold', 'dim', 'red', 'yellow', 'green', 'cyan', 'magenta'] as const
export type StyleName = (typeof STYLE_NAMES)[number]
export type Style = (style: StyleName, text: string) => string

const SGR: Record<StyleName, number> = { bold: 1, dim: 2, red: 31, yellow: 33, green: 32, cyan: 36, magenta: 35 }

const START = '\uf8e0'
/** U+F8E2 + index opens that style; U+F8EF closes the innermost one. */
const OPEN_BASE = 0xf8e2
const CLOSE = '\uf8ef'
/**
 * 12 random digits, each one of 16 private-use characters (U+F8F0–U+F8FF): 48 bits no stager can guess.
 * Drawn on first use, through the global Web Crypto: importing node:crypto would cost `--help` its start-up.
 */
let nonce: string | undefined
const NONCE = (): string => (nonce ??= Array.from(globalThis.crypto.getRandomValues(new Uint8Array(12)), (b) => String.fromCharCode(0xf8f0 + (b & 0x0f))).join(''))
let marker: RegExp | undefined
const MARKER = (): RegExp => (marker ??= new RegExp(`${START}${NONCE()}([\\uf8e2-\\uf8ef])`, 'g'))

const open = (name: StyleName): string => `${START}${NONCE()}${String.fromCharCode(OPEN_BASE + STYLE_NAMES.indexOf(name))}`
const close = (): string => `${START}${NONCE()}${CLOSE}`

/** The style every renderer gets: pure, and the same whether or not colour is on. */
export const style: Style = (name, text) => `${open(name)}${text}${close()}`

/**
 * The text as it may reach a terminal: redaction is the caller's; everything else is here.
 * With `color`, genuine markers become SGR (a style that spans lines is closed before each line
 * feed and reopened after, so a pager or a cut line never bleeds colour); without, they vanish.
 */
export function toTerminal(text: string, color: boolean): string {
  const active: StyleName[] = []
  const sgr = (): string => (active.length ? `\x1b[${active.map((s) => SGR[s]).join(';')}m` : '')
  let out = ''
  let last = 0
  const addText = (raw: string): void => {
    const safe = sanitize(raw)
    out += color && active.length ? safe.replace(/\n/g, `\x1b[0m\n${sgr()}`) : safe
  }
  const markers = MARKER()
  markers.lastIndex = 0
  for (let m = markers.exec(text); m !== null; m = markers.exec(text)) {
    addText(text.slice(last, m.index))
    last = m.index + m[0].length
    const code = (m[1] as string).charCodeAt(0)
    if (String.fromCharCode(code) === CLOSE) {
      active.pop()
      if (color) out += `\x1b[0m${sgr()}`
    } else {
      const name = STYLE_NAMES[code - OPEN_BASE]
      if (!name) continue
      active.push(name)
      if (color) out += `\x1b[${SGR[name]}m`
    }
  }
  addText(text.slice(last))
  if (color && active.length) out += '\x1b[0m'
  return out
}

/** The text with our markers removed and nothing else changed: for tests and width computations. */
export const plainText = (text: string): string => text.replace(MARKER(), '')
