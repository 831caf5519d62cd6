/**
 * What every command shares on top of the flows' context (src/flows/context.ts): the options every
 * verb has, and how they pick human or --json output.
 */
import { createOutput, type Output } from '../ui/output.js'
import type { Deps } from '../flows/context.js'

export interface CommonOptions {
  json?: boolean
  backend?: string
  /** true with --color, false with --no-color (every command has both: src/cli.ts). */
  color?: boolean
}

export const outputFor = (opts: CommonOptions, deps: Deps): Output =>
  createOutput({ json: Boolean(opts.json), stdout: deps.stdout, stderr: deps.stderr, color: opts.color, env: deps.env })

/** What a flow is given: the parsed command line without what only the command uses (--json, --color pick the output). */
export function requestOf<T extends CommonOptions>(opts: T): Omit<T, 'json' | 'color'> {
  const { json: _json, color: _color, ...request } = opts
  return request
}
