/**
 * Follow-up commands we print (in hints, footers, resume lines) must work when copied: when the
 * backend was named by --backend or STAGE_PUBLISH_BACKEND, they name it too. A backend from
 * package.json or the default one is found again from the same folder without a flag.
 */
import type { StagingBackend } from '../backends/types.js'

/** ` --backend <url>` (shell-quoted when needed) when the flag or the environment chose the backend, else ''. */
export function backendArg(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  // The same precedence as chooseBackend: the flag, then the environment.
  const url = flag || env.STAGE_PUBLISH_BACKEND
  return url ? ` --backend ${shellQuote(url)}` : ''
}

/** An S3 URL has `?` and `&`: quoted, it survives being pasted into a shell. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

// Remembered per opened backend, so that code deep in a flow that holds only the backend words
// its hints right without every caller passing the flags down.
const argOf = new WeakMap<StagingBackend, string>()

/** Remembers how the user named this backend (see backendArg). */
export function nameBackend<T extends StagingBackend>(backend: T, arg: string): T {
  argOf.set(backend, arg)
  return backend
}

/** `stage-publish <args>`, plus the --backend the user gave for this backend. */
export function followUp(backend: StagingBackend, args: string): string {
  return `stage-publish ${args}${argOf.get(backend) ?? ''}`
}
