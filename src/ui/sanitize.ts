/**
 * The one sanitiser for text bound for a terminal. Anything a terminal would act on, or that would
 * make the screen show something other than the text, is shown as a visible escape and never
 * emitted: C0 controls (ESC, so no CSI/OSC/DCS sequence can form; CR, BS, BEL, NUL...), DEL, C1
 * (U+0080–U+009F: 8-bit CSI/OSC), bidi controls (Trojan Source), zero-width and other invisible
 * format characters, the Unicode line/paragraph separators, and the private-use characters our own
 * style markers are made of (./style.ts), so foreign text can never pose as one.
 *
 *   sanitize(text)  keeps `\n` (our own line structure) and tab: for multi-line text we wrote
 *   inline(value)   escapes `\n` and tab too: for any untrusted value inside one of our lines
 *   jsonText(value) JSON with the same characters escaped as \uXXXX: parses back to the same value
 */

/**
 * Everything the terminal must never receive raw, except `\n` and tab. Astral characters are
 * matched as surrogate pairs (no `u` flag), so the same class serves JSON's \uXXXX escaping.
 *   \u0000-\u0008 \u000b-\u001f  C0 controls but tab and line feed (includes CR and ESC)
 *   \u007f-\u009f                DEL and C1
 *   \u00ad \u034f \u115f \u1160 \u17b4 \u17b5 \u180e \u3164 \uffa0   invisible or blank letters
 *   \u061c \u200e \u200f \u202a-\u202e \u2066-\u2069                 bidi controls
 *   \u200b-\u200d \u2060-\u2064 \u206a-\u206f \ufeff \ufff9-\ufffb   zero-width and invisible format
 *   \u2028 \u2029                line and paragraph separators
 *   \uf8e0-\uf8ff                the private-use characters style markers use
 *   \udb40[\udc00-\udc7f]        U+E0000–U+E007F, invisible "tag" characters
 */
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\uf8e0-\uf8ff]|\udb40[\udc00-\udc7f]/g
const UNSAFE_INLINE = new RegExp(`[\\t\\n]|${UNSAFE.source}`, 'g')

/** `\x1b` for a code point below 0x100, `\u{202e}` above: visible, unambiguous, never acted on. */
export function escapeCharacter(c: string): string {
  const code = c.codePointAt(0) as number
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
}

/** Multi-line text: every unsafe character escaped; line feeds and tabs kept. */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, escapeCharacter)
}

/** One untrusted value inside one of our lines: like sanitize(), and `\n` and tab escaped too, so it can never start a line of its own. */
export function inline(value: unknown): string {
  return String(value).replace(UNSAFE_INLINE, escapeCharacter)
}

/** True when `text` has nothing sanitize() would escape. */
export function isTerminalSafe(text: string): boolean {
  UNSAFE.lastIndex = 0
  return !UNSAFE.test(text)
}

/**
 * JSON.stringify escapes only C0. The same characters sanitize() escapes are written as \uXXXX
 * here (each UTF-16 unit: the text is still JSON, and parses back to exactly the same value), so
 * `--json` printed on a terminal is inert too. They can only occur inside strings, where \uXXXX
 * means the same character.
 */
export function jsonText(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(UNSAFE, (c) =>
    [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  )
}
