/**
 * Text that reaches a terminal from a record: no character may act on the terminal or hide what
 * is shown. Refused everywhere in records (and in `reject --reason`), so terminal injection through
 * a record is impossible at the root, whatever the renderer does. Pure.
 */
import { StagePublishError } from '../errors.js'

/**
 * Control characters (C0 with tab, CR and LF, DEL, C1: ESC sequences, OSC, CSI), format characters
 * (bidi overrides and isolates U+202A-202E/U+2066-2069, LRM/RLM/ALM, zero-width space/joiners,
 * word joiner, BOM, soft hyphen, invisible tag characters), line and paragraph separators and lone
 * surrogates.
 */
const UNSAFE_CHAR = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u

/** Characters no terminal should mistake for text: the rule every string of a record follows. */
export const hasUnsafeChar = (text: string): boolean => UNSAFE_CHAR.test(text)

/** The Unicode code point of the first unsafe character, as U+XXXX: names the problem without echoing it. */
export function firstUnsafeChar(text: string): string | undefined {
  const m = UNSAFE_CHAR.exec(text)
  return m ? `U+${(m[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}` : undefined
}

/** Why `value` is not acceptable free text of at most `max` characters, or undefined when it is. */
export function freeTextProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `it is longer than ${max} characters`
  const bad = firstUnsafeChar(value)
  return bad ? `it contains the control or invisible character ${bad}` : undefined
}

/** How long a reason for a rejection may be. */
export const MAX_REASON = 1000

/** Checks free text a user typed (`reject --reason`) before it goes into a record: EUSAGE when it could not be stored. */
export function checkFreeText(value: string, what: string, max = MAX_REASON): string {
  const problem = freeTextProblem(value, max)
  if (problem) {
    throw new StagePublishError('EUSAGE', `${what} cannot be stored: ${problem}`, {
      hint: 'Use one line of plain text: records refuse control, bidi and zero-width characters.',
      exitCode: 2,
    })
  }
  return value
}

/**
 * Text we record about ourselves (a CI variable, a branch name): unsafe characters become U+FFFD
 * and it is cut to `max`, so a record we write always passes the schema we read it with.
 */
export function toSafeText(value: string, max: number): string {
  // Cutting may split a surrogate pair: a lone high surrogate at the end is dropped too.
  return value.replace(new RegExp(UNSAFE_CHAR.source, 'gu'), '\uFFFD').slice(0, max).replace(/[\uD800-\uDBFF]$/, '')
}
