/**
 * The one door to the terminal, and the only place that knows human output from --json output.
 * Results go to stdout; progress, notices and warnings go to stderr, so `--json` stdout is always
 * exactly one JSON document. Every string is redacted, then:
 *   human text  sanitised (./sanitize.ts: no control, bidi or invisible character gets out raw),
 *               then our own style markers become colour, per stream (./style.ts, ./color.ts);
 *   JSON        exact values, with C1, bidi and invisible characters written as \uXXXX.
 * Renderers never write: they take a Style and return strings, which leave through here.
 */
import type { Writable } from 'node:stream'
import { errorToJson, isStagePublishError, redact } from '../errors.js'
import { jsonText } from './sanitize.js'
import { style, toTerminal, type Style, type StyleName } from './style.js'
import { parseNpmColor, wantsColor, type NpmColor } from './color.js'
import { neutraliseJsonWorkflowCommands, neutraliseWorkflowCommands } from './ci-commands.js'

export type { Style, StyleName }

export interface Output {
  readonly json: boolean
  readonly style: Style
  /** Whether each stream gets colour, as decided now (a pager writing to stdout follows `stdout`). */
  readonly color: { readonly stdout: boolean; readonly stderr: boolean }
  /** A line of the human result (stdout). Ignored in --json mode. */
  line(text?: string): void
  /** Progress and notices for people (stderr). Ignored in --json mode. */
  notice(text: string): void
  /** Things a person must see even in --json mode, such as what is about to be approved (stderr). */
  tell(text: string): void
  /** Warnings (stderr), in both modes. */
  warn(text: string): void
  /** The --json result (stdout). Ignored in human mode. */
  data(value: unknown): void
  /** Reports an error in the mode's shape. */
  error(err: unknown): void
  /** npm's `color` config (`false`, `true`, `always`) once a command has loaded it; a flag or the environment still wins. */
  useNpmColor(value: unknown): void
}

export interface OutputOptions {
  json: boolean
  stdout?: Writable
  stderr?: Writable
  /** true with --color, false with --no-color. */
  color?: boolean | undefined
  /** For NO_COLOR, FORCE_COLOR, npm_config_color and TERM (default: process.env). */
  env?: NodeJS.ProcessEnv
}

const isTTY = (stream: Writable): boolean => Boolean((stream as { isTTY?: boolean }).isTTY)

export function createOutput(options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const env = options.env ?? process.env
  let npm: NpmColor
  const colorOf = (stream: Writable): boolean => wantsColor({ flag: options.color, env, npm, isTTY: isTTY(stream) })
  // In GitHub Actions the runner reads every line we print as a possible workflow command: foreign text
  // (file names, findings) must not be one (./ci-commands.ts). Our own commands do not pass through here.
  const actions = env.GITHUB_ACTIONS === 'true'
  const human = (stream: Writable, text: string) => {
    const line = toTerminal(redact(text), colorOf(stream))
    stream.write(`${actions ? neutraliseWorkflowCommands(line) : line}\n`)
  }
  const json = (value: unknown) => {
    const text = redact(jsonText(value))
    stdout.write(`${actions ? neutraliseJsonWorkflowCommands(text) : text}\n`)
  }
  const warnLabel = style('yellow', 'warn')
  return {
    json: options.json,
    style,
    color: {
      get stdout() {
        return colorOf(stdout)
      },
      get stderr() {
        return colorOf(stderr)
      },
    },
    line(text = '') {
      if (!options.json) human(stdout, text)
    },
    notice(text) {
      if (!options.json) human(stderr, text)
    },
    tell(text) {
      human(stderr, text)
    },
    warn(text) {
      human(stderr, `${warnLabel} ${text}`)
    },
    data(value) {
      if (options.json) json(value)
    },
    error(err) {
      if (options.json) {
        json(errorToJson(err))
        return
      }
      if (isStagePublishError(err)) {
        human(stderr, `${style('red', 'error')} ${err.code}: ${err.message}`)
        if (err.hint) human(stderr, `${style('dim', 'hint')} ${err.hint}`)
        return
      }
      // Unknown errors are bugs: show the stack, redacted and sanitised like everything else.
      const e = err as Error
      human(stderr, `${style('red', 'error')} ${e?.stack ?? String(err)}`)
    },
    useNpmColor(value) {
      npm = parseNpmColor(value)
    },
  }
}
