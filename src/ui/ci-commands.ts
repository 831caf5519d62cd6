/**
 * GitHub Actions workflow commands. The runner reads every line a step prints (stdout and stderr) as a
 * possible command (actions/runner src/Runner.Common/ActionCommand.cs): a line that starts with `::`
 * after leading whitespace (`::set-output name=x::`, `::stop-commands::`, `::add-mask::`), and,
 * anywhere in a line, the old form `##[command k=v;]data`. A file name such as
 * `##[set-output name=id;]x` printed by staging would set the step's `id`.
 * So our own commands escape their data and properties exactly as the runner unescapes them (nothing
 * inside can end the line or the properties), and while in GitHub Actions every other line we print
 * passes through neutraliseWorkflowCommands() (src/ui/output.ts). Pure; imports nothing.
 *
 * Not `::stop-commands::` around our output: stdout and stderr are two pipes the runner reads
 * concurrently, so a resume token written on one can be processed before foreign text still queued on
 * the other, and a stop that is never resumed (a crash) would silence the rest of the job.
 */

/** The data of a workflow command: `%`, CR and LF as the runner's UnescapeData expects. */
export const escapeData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')

/** A property value: also `:` (which would end the properties) and `,` (which would start another). */
export const escapeProperty = (text: string): string => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')

/** One workflow command line: `::name k=v,k=v::data`. */
export function workflowCommand(name: string, properties: Record<string, string>, data: string): string {
  const props = Object.entries(properties).map(([k, v]) => `${k}=${escapeProperty(v)}`).join(',')
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(data)}`
}

/** Leading white space and colour codes (ESC [ … m), then `:`: a line the runner could read as `::command`. */
const LEADING_COLON = new RegExp(`^((?:\\s|${String.fromCharCode(0x1b)}\\[[0-9;]*m)*):`)

/**
 * Text we print while in GitHub Actions, made inert for the runner: `##[` anywhere becomes `#\x23[`,
 * and a line that would start with `::` starts with `\x3a:` instead (the sanitiser's visible escapes).
 * Our own text never has either; foreign text (file names, findings, a hostile record) loses nothing
 * a reader needs. Applied per line: the runner splits on CR and LF.
 */
export function neutraliseWorkflowCommands(text: string): string {
  return text
    .split(/(\r\n|\r|\n)/)
    // Colour codes before it are skipped too, in case a runner ever strips them before parsing.
    .map((part) => part.replace(/##\[/g, '#\\x23[').replace(LEADING_COLON, '$1\\x3a'))
    .join('')
}

/**
 * The same for JSON text: `##[` can only be inside a string there, where `#\u0023[` parses back to the
 * same value. (A JSON line starts with whitespace and `"`, `{`, `[` or a literal: never with `::`.)
 */
export const neutraliseJsonWorkflowCommands = (text: string): string => text.replace(/##\[/g, '#\\u0023[')

