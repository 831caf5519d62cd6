import { inline } from '../ui/sanitize.js'
import type { Output } from '../ui/output.js'

/**
 * npm's lifecycle-script banner, on stdout where npm prints it and where the script's own output goes
 * (the script inherits stdout). In --json mode scripts run in the background and out.line prints
 * nothing, so stdout stays one JSON document. The command comes from package.json: each line is
 * shown escaped.
 */
export const scriptBanner =
  (out: Output) =>
  (text: string): void =>
    out.line(text.split('\n').map(inline).join('\n'))
