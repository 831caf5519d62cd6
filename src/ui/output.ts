/**
 * The only place that knows human output from --json output, and the only importer of chalk.
 * Results go to stdout; progress, notices and warnings go to stderr, so `--json` stdout is
 * always exactly one JSON document. Every string passes through redact() on its way out.
 */
import chalk, { Chalk } from 'chalk'
import type { Writable } from 'node:stream'
import { errorToJson, isStagePublishError, redact } from '../errors.js'

export type StyleName = 'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan' | 'magenta'
export type Style = (style: StyleName, text: string) => string

export interface Output {
  readonly json: boolean
  readonly style: Style
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
}

export interface OutputOptions {
  json: boolean
  stdout?: Writable
  stderr?: Writable
  color?: boolean
}

export function createOutput(options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const useColor = options.color ?? (Boolean((stderr as { isTTY?: boolean }).isTTY) && chalk.level > 0)
  const painter = new Chalk({ level: useColor ? chalk.level || 1 : 0 })
  const style: Style = (name, text) => painter[name](text)
  const write = (stream: Writable, text: string) => stream.write(`${redact(text)}\n`)
  return {
    json: options.json,
    style,
    line(text = '') {
      if (!options.json) write(stdout, text)
    },
    notice(text) {
      if (!options.json) write(stderr, text)
    },
    tell(text) {
      write(stderr, text)
    },
    warn(text) {
      write(stderr, `${style('yellow', 'warn')} ${text}`)
    },
    data(value) {
      if (options.json) write(stdout, JSON.stringify(value, null, 2))
    },
    error(err) {
      if (options.json) {
        write(stdout, JSON.stringify(errorToJson(err), null, 2))
        return
      }
      if (isStagePublishError(err)) {
        write(stderr, `${style('red', 'error')} ${err.code}: ${err.message}`)
        if (err.hint) write(stderr, `${style('dim', 'hint')} ${err.hint}`)
        return
      }
      // Unknown errors are bugs: show the stack, redacted.
      const e = err as Error
      write(stderr, `${style('red', 'error')} ${e?.stack ?? String(err)}`)
    },
  }
}
