/**
 * How the GitHub Actions runner reads what a step leaves behind, ported from actions/runner so tests
 * judge our output as the runner would, not as we hope it does:
 *   - every line of stdout and stderr is tried as a workflow command: `::name props::data` when the line
 *     starts with `::` after leading whitespace (ActionCommand.TryParseV2), else `##[name k=v;]data`
 *     anywhere in the line (ActionCommand.TryParse); `stop-commands` pauses processing until a line
 *     that is the token as a command (ActionCommandManager.TryProcessCommand);
 *   - the $GITHUB_OUTPUT file is `NAME=VALUE` lines or `NAME<<DELIMITER` … `DELIMITER` blocks,
 *     split on LF only on Linux (FileCommandManager: SetOutputFileCommand's parser).
 */

/** The commands a runner registers (the extensions in ActionCommandManager.cs and the stop command). */
export const RUNNER_COMMANDS = ['stop-commands', 'set-env', 'set-output', 'save-state', 'add-mask', 'add-path', 'add-matcher', 'remove-matcher', 'warning', 'error', 'notice', 'debug', 'group', 'endgroup', 'echo']

export interface RunnerCommand {
  command: string
  properties: Record<string, string>
  data: string
  line: string
}

const unescapeData = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
const unescapeProperty = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%')
const unescapeV1 = (s: string): string => s.replace(/%3B/g, ';').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%5D/g, ']').replace(/%25/g, '%')
const has = (set: Set<string>, name: string): boolean => set.has(name.toLowerCase())

function parseV2(message: string, registered: Set<string>): RunnerCommand | null {
  // .NET TrimStart() removes Unicode white space.
  const m = message.replace(/^[\s\u0085]+/, '')
  if (!m.startsWith('::')) return null
  const end = m.indexOf('::', 2)
  if (end < 0) return null
  const info = m.slice(2, end)
  const space = info.indexOf(' ')
  const command = space < 0 ? info : info.slice(0, space)
  if (!has(registered, command)) return null
  const properties: Record<string, string> = {}
  if (space > 0) {
    for (const p of info.slice(space + 1).trim().split(',').filter(Boolean)) {
      const eq = p.indexOf('=')
      if (eq > 0 && eq < p.length - 1) properties[p.slice(0, eq)] = unescapeProperty(p.slice(eq + 1))
    }
  }
  return { command, properties, data: unescapeData(m.slice(end + 2)), line: message }
}

function parseV1(message: string, registered: Set<string>): RunnerCommand | null {
  const prefix = message.indexOf('##[')
  if (prefix < 0) return null
  const rb = message.indexOf(']', prefix)
  if (rb < 0) return null
  const info = message.slice(prefix + 3, rb)
  const space = info.indexOf(' ')
  const command = space < 0 ? info : info.slice(0, space)
  if (!has(registered, command)) return null
  const properties: Record<string, string> = {}
  if (space > 0) {
    for (const p of info.slice(space + 1).split(';').filter(Boolean)) {
      const eq = p.indexOf('=')
      if (eq > 0 && eq < p.length - 1) properties[p.slice(0, eq)] = unescapeV1(p.slice(eq + 1))
    }
  }
  return { command, properties, data: unescapeV1(message.slice(rb + 1)), line: message }
}

/**
 * The commands the runner would act on in a step's output (stdout, then stderr: each in order; the
 * runner interleaves the two pipes, which for these tests changes nothing but the order).
 */
export function runnerCommands(...streams: string[]): RunnerCommand[] {
  const registered = new Set(RUNNER_COMMANDS)
  const acted: RunnerCommand[] = []
  let stopToken: string | null = null
  for (const text of streams) {
    // StreamReader.ReadLine: CR, LF or CRLF end a line.
    for (const line of text.split(/\r\n|\r|\n/)) {
      if (!line) continue
      const cmd = parseV2(line, registered) ?? parseV1(line, registered)
      if (!cmd) continue
      if (stopToken !== null) {
        if (cmd.command.toLowerCase() === stopToken.toLowerCase()) {
          registered.delete(stopToken.toLowerCase())
          stopToken = null
          acted.push(cmd)
        }
        continue
      }
      if (cmd.command.toLowerCase() === 'stop-commands') {
        stopToken = cmd.data
        registered.add(stopToken.toLowerCase())
      }
      acted.push(cmd)
    }
  }
  return acted
}

/** The outputs a step sets through $GITHUB_OUTPUT, exactly as the runner reads the file; throws where the runner fails the step. */
export function runnerOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  let index = 0
  const readLine = (): string | null => {
    if (index >= text.length) return null
    const lf = text.indexOf('\n', index)
    const start = index
    if (lf < 0) {
      index = text.length
      return text.slice(start)
    }
    index = lf + 1
    return text.slice(start, lf)
  }
  for (let line = readLine(); line !== null; line = readLine()) {
    if (!line) continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      outputs[line.slice(0, eq)] = line.slice(eq + 1)
    } else if (heredoc >= 0 && (eq < 0 || heredoc < eq)) {
      const name = line.slice(0, heredoc)
      const delimiter = line.slice(heredoc + 2)
      if (!name || !delimiter) throw new Error(`Invalid format '${line}'`)
      const start = index
      let end = index
      for (let temp = readLine(); temp !== delimiter; temp = readLine()) {
        if (temp === null) throw new Error(`Matching delimiter not found '${delimiter}'`)
        end = index - 1
      }
      outputs[name] = end > start ? text.slice(start, end) : ''
    } else {
      throw new Error(`Invalid format '${line}'`)
    }
  }
  return outputs
}
