import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createOutput, type Output } from '../../src/ui/output.js'
import { plainText, style, toTerminal } from '../../src/ui/style.js'
import { wantsColor } from '../../src/ui/color.js'
import { StagePublishError } from '../../src/errors.js'

/** A stream that records what was written; `isTTY` as a terminal would say. */
function sink(isTTY = false): Writable & { text: () => string; isTTY: boolean } {
  const chunks: string[] = []
  const s = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk))
      done()
    },
  }) as Writable & { text: () => string; isTTY: boolean }
  s.text = () => chunks.join('')
  s.isTTY = isTTY
  return s
}

/** Anything a terminal would act on (ESC, C0 but \n and tab, C1) or that changes what is shown (bidi, invisible). */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/
/** What our own colour looks like: SGR only. */
const SGR = /\u001b\[[0-9;]*m/g
const withoutOurSgr = (s: string): string => s.replace(SGR, '')

const HOSTILE = [
  'sgr \u001b[31mred\u001b[0m',
  'title \u001b]0;pwned\u0007',
  'link \u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\',
  'cr \rOK everything verified',
  'bidi \u202eevil\u202c \u2066x\u2069',
  'nul \u0000 del \u007f c1 \u009b31m',
  'zw \u200b\ufeff sep \u2028\u2029',
]

function outputs(color: boolean | undefined, env: NodeJS.ProcessEnv = {}, tty = { stdout: false, stderr: false }) {
  const stdout = sink(tty.stdout)
  const stderr = sink(tty.stderr)
  const human = createOutput({ json: false, stdout, stderr, color, env })
  return { stdout, stderr, human }
}

const everyDoor = (out: Output, text: string): void => {
  out.line(text)
  out.notice(text)
  out.tell(text)
  out.warn(text)
  out.error(new StagePublishError('EUSAGE', text, { hint: text }))
  const bug = new Error(text)
  out.error(bug)
}

describe('Output: the one door', () => {
  it('escapes hostile text on every door, colour on or off', () => {
    for (const color of [true, false]) {
      for (const text of HOSTILE) {
        const { stdout, stderr, human } = outputs(color)
        everyDoor(human, text)
        for (const written of [stdout.text(), stderr.text()]) {
          expect(withoutOurSgr(written)).not.toMatch(RAW)
          expect(withoutOurSgr(written)).not.toContain('\u001b')
        }
      }
    }
  })

  it('shows the attack escaped, visibly, where it was', () => {
    const { stdout, human } = outputs(false)
    human.line('name: evil\u001b]0;pwned\u0007 \u202eabc')
    expect(stdout.text()).toBe('name: evil\\x1b]0;pwned\\x07 \\u{202e}abc\n')
  })

  it('keeps our own colours working with colour on, and hostile SGR inside them inert', () => {
    const { stdout, human } = outputs(true)
    human.line(`${human.style('red', 'error')} ${human.style('bold', 'x\u001b[32mfake-green')}`)
    expect(stdout.text()).toBe('\u001b[31merror\u001b[0m \u001b[1mx\\x1b[32mfake-green\u001b[0m\n')
  })

  it('writes no escape at all with colour off', () => {
    const { stdout, human } = outputs(false)
    human.line(`${human.style('red', 'error')} plain`)
    expect(stdout.text()).toBe('error plain\n')
  })

  it('nests styles and closes them at line ends', () => {
    expect(toTerminal(style('bold', `a ${style('red', 'b')} c`), true)).toBe('\u001b[1ma \u001b[31mb\u001b[0m\u001b[1m c\u001b[0m')
    expect(toTerminal(style('green', 'one\ntwo'), true)).toBe('\u001b[32mone\u001b[0m\n\u001b[32mtwo\u001b[0m')
    expect(plainText(style('dim', 'x'))).toBe('x')
  })

  it('cannot be fooled by a forged style marker', () => {
    // The private-use characters of our markers, without the per-process nonce, are escaped, never obeyed.
    const forged = '\uf8e0\uf8f0\uf8f1\uf8f2\uf8f3\uf8f4\uf8f5\uf8f6\uf8f7\uf8f8\uf8f9\uf8fa\uf8fb\uf8e4text'
    const { stdout, human } = outputs(true)
    human.line(forged)
    expect(stdout.text()).not.toContain('\u001b')
    expect(stdout.text()).toContain('\\u{f8e0}')
    // A genuine marker's characters, as an attacker cannot learn them (they never leave the process), would be needed.
    expect(style('red', 'x')).not.toBe(forged)
  })

  it('redacts secrets before anything else', () => {
    const { stderr, human } = outputs(false)
    human.warn('token npm_abcdefghijklmnopqrstuvwxyz0123 leaked')
    expect(stderr.text()).toContain('npm_***')
  })

  it('--json: parses back to identical values, with no raw C1, bidi or invisible characters', () => {
    const stdout = sink()
    const stderr = sink()
    const out = createOutput({ json: true, stdout, stderr, env: {} })
    const value = { name: HOSTILE.join(' | '), list: HOSTILE, nested: { 'k\u202e': '\u009b' } }
    out.data(value)
    out.line('ignored in --json')
    expect(JSON.parse(stdout.text())).toEqual(value)
    expect(stdout.text()).not.toMatch(RAW)
    const errOut = sink()
    createOutput({ json: true, stdout: errOut, stderr, env: {} }).error(new StagePublishError('EUSAGE', 'bad \u202e value', { hint: 'h\u0085' }))
    expect(JSON.parse(errOut.text())).toEqual({ error: { code: 'EUSAGE', summary: 'bad \u202e value', detail: 'h\u0085' } })
    expect(errOut.text()).not.toMatch(RAW)
  })

  it('lets each stream decide its colour: stdout into a pipe stays plain while stderr on a terminal is coloured', () => {
    const { stdout, stderr, human } = outputs(undefined, {}, { stdout: false, stderr: true })
    human.line(human.style('green', 'result'))
    human.warn('careful')
    expect(stdout.text()).toBe('result\n')
    expect(stderr.text()).toBe('\u001b[33mwarn\u001b[0m careful\n')
    expect(human.color).toEqual({ stdout: false, stderr: true })
  })

  it('follows npm color config once a command loaded it, unless a flag or the environment decided', () => {
    const a = outputs(undefined, {}, { stdout: true, stderr: true })
    a.human.useNpmColor(false)
    a.human.line(a.human.style('red', 'x'))
    expect(a.stdout.text()).toBe('x\n')
    const b = outputs(undefined, {}, { stdout: false, stderr: false })
    b.human.useNpmColor('always')
    b.human.line(b.human.style('red', 'x'))
    expect(b.stdout.text()).toBe('\u001b[31mx\u001b[0m\n')
    const c = outputs(undefined, { NO_COLOR: '1' })
    c.human.useNpmColor('always')
    expect(c.human.color.stdout).toBe(false)
  })
})

describe('wantsColor', () => {
  const tty = { isTTY: true }
  const pipe = { isTTY: false }
  it('on a terminal by default, never into a pipe or on TERM=dumb', () => {
    expect(wantsColor({ env: {}, ...tty })).toBe(true)
    expect(wantsColor({ env: {}, ...pipe })).toBe(false)
    expect(wantsColor({ env: { TERM: 'dumb' }, ...tty })).toBe(false)
  })
  it('--color and --no-color win over everything', () => {
    expect(wantsColor({ flag: true, env: { NO_COLOR: '1', FORCE_COLOR: '0' }, npm: false, ...pipe })).toBe(true)
    expect(wantsColor({ flag: false, env: { FORCE_COLOR: '1' }, npm: 'always', ...tty })).toBe(false)
  })
  it('NO_COLOR (non-empty) turns it off; empty NO_COLOR does not', () => {
    expect(wantsColor({ env: { NO_COLOR: '1' }, ...tty })).toBe(false)
    expect(wantsColor({ env: { NO_COLOR: '' }, ...tty })).toBe(true)
  })
  it('FORCE_COLOR as Node reads it', () => {
    for (const v of ['', '1', '2', '3', 'true']) expect(wantsColor({ env: { FORCE_COLOR: v }, ...pipe }), v).toBe(true)
    for (const v of ['0', 'false']) expect(wantsColor({ env: { FORCE_COLOR: v }, ...tty }), v).toBe(false)
    expect(wantsColor({ env: { FORCE_COLOR: '1', NO_COLOR: '1' }, ...pipe })).toBe(true)
  })
  it("npm's color: false never, always always, true as the terminal says; npm_config_color counts", () => {
    expect(wantsColor({ env: {}, npm: false, ...tty })).toBe(false)
    expect(wantsColor({ env: {}, npm: 'always', ...pipe })).toBe(true)
    expect(wantsColor({ env: {}, npm: true, ...pipe })).toBe(false)
    expect(wantsColor({ env: { npm_config_color: 'false' }, ...tty })).toBe(false)
    expect(wantsColor({ env: { NPM_CONFIG_COLOR: 'always' }, ...pipe })).toBe(true)
  })
})

describe('prompts', () => {
  it('shows a hostile confirmation message escaped (the prompt library writes to the terminal itself)', async () => {
    const { PassThrough } = await import('node:stream')
    const { createPrompts } = await import('../../src/ui/prompts.js')
    const input = new PassThrough()
    const output = sink(true)
    const prompts = createPrompts({ input, output })
    const answer = prompts.confirm('Publish evil\u001b]0;pwned\u0007\u202e@1.0.0?')
    setTimeout(() => input.write('y\n'), 50)
    expect(await answer).toBe(true)
    expect(output.text()).not.toContain('\u001b]0;pwned')
    expect(output.text()).not.toContain('\u202e')
    expect(output.text()).toContain('evil\\x1b]0;pwned\\x07\\u{202e}@1.0.0?')
  })
})

describe('registryMessage', () => {
  it('is one line, whatever the registry sends', async () => {
    const { registryMessage } = await import('../../src/npm/publish.js')
    expect(registryMessage({ body: { error: 'no\nFORGED line\r\n\u2028more' } })).toBe('no FORGED line more')
    expect(registryMessage({ message: 'a\r\n\r\nb' })).toBe('a b')
  })
})
