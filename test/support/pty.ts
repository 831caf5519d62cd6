/**
 * Drive a command through a real pseudo-terminal, without native modules: a small inline python3 script
 * (`pty.fork()`) runs the command with the pty as its controlling terminal (stdin, stdout and stderr are
 * all the terminal, so `isTTY` is true and /dev/tty works) and relays bytes between the pty and Node.
 *
 * `output` is everything the terminal showed, as a user would see it: the program's output plus whatever
 * the terminal echoed of what was typed (so an OTP typed at a no-echo prompt is absent from it).
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface PtyStep {
  /** Text (substring) or pattern to wait for in the terminal output (ANSI escapes stripped), after the previous step's match. */
  waitFor: RegExp | string;
  /** What to type once it appeared ('' to just press Enter). */
  send: string;
  /** Press Enter (`\r`) after `send`. Default true. */
  enter?: boolean;
  /** Called once the text appeared (after `send`), with the command's pid (also its process group: the pty's session leader). */
  onMatch?: (pid: number) => void;
}

export interface PtyOptions {
  cwd?: string;
  /** The complete environment of the command (default: process.env). TERM defaults to xterm-256color. */
  env?: NodeJS.ProcessEnv;
  steps?: PtyStep[];
  /** Overall limit for the whole run, steps and exit included. Default 30 000 ms. */
  timeoutMs?: number;
  cols?: number;
  rows?: number;
}

export interface PtyResult {
  /** Raw terminal transcript (ANSI escapes and \r\n line ends included). */
  output: string;
  /** `output` with ANSI escape sequences and \r removed. */
  text: string;
  /** Exit code; 128 + n when the command was killed by signal n. */
  exitCode: number;
  /** Name of the signal that killed the command, if any. */
  signal: string | null;
}

// The relay. argv[1] = JSON {argv, cols, rows}; writes {"pid": n} and a newline to fd 3 at the start, {"code": n} or {"signal": n} as JSON at the end.
const RELAY = String.raw`
import errno, fcntl, json, os, pty, select, signal, struct, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(spec["argv"][0], spec["argv"])
    except OSError as e:
        os.write(2, ("pty: cannot run %s: %s\r\n" % (spec["argv"][0], e.strerror)).encode())
        os._exit(127)
os.write(3, (json.dumps({"pid": pid}) + "\n").encode())
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", spec["rows"], spec["cols"], 0, 0))
def kill_child(*_):
    for sig in (signal.SIGHUP, signal.SIGTERM):
        try: os.killpg(pid, sig)
        except OSError: pass
    time.sleep(0.2)
    try: os.killpg(pid, signal.SIGKILL)
    except OSError: pass
    try: os.kill(pid, signal.SIGKILL)
    except OSError: pass
    try: os.waitpid(pid, 0)
    except OSError: pass
    os._exit(99)
signal.signal(signal.SIGTERM, kill_child)
stdin_open = True
status = None
idle_since = None
while True:
    fds = [fd] + ([0] if stdin_open else [])
    r, _, _ = select.select(fds, [], [], 0.05)
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO: raise
            data = b""
        if not data:
            break
        os.write(1, data)
        idle_since = None
    if stdin_open and 0 in r:
        data = os.read(0, 65536)
        if not data:
            kill_child()  # Node went away or gave up: take the command down with us
        else:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
    if status is None:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
    if status is not None and fd not in r:
        # the command exited; stop once the pty has been quiet a moment (grandchildren may hold it open)
        if idle_since is None: idle_since = time.time()
        elif time.time() - idle_since > 0.2: break
if status is None:
    _, status = os.waitpid(pid, 0)
os.close(fd)
res = {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"code": os.WEXITSTATUS(status)}
os.write(3, json.dumps(res).encode())
`;

// CSI, OSC and other escape sequences, as emitted by prompt libraries.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[@-Z\\-_]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '').replace(/\r/g, '');
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 15: 'SIGTERM' };

function tail(s: string, n = 4000): string {
  return s.length > n ? '…' + s.slice(-n) : s;
}

/**
 * Runs `cmd args` in a pseudo-terminal, answering prompts as `steps` say, and resolves when it exits.
 * Rejects (with the transcript in the message) on timeout, or when the command exits before a step's
 * prompt appeared.
 */
export function runInPty(cmd: string, args: string[], opts: PtyOptions = {}): Promise<PtyResult> {
  const steps = opts.steps ?? [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  env.TERM ??= 'xterm-256color';
  const spec = JSON.stringify({ argv: [cmd, ...args], cols: opts.cols ?? 120, rows: opts.rows ?? 40 });

  return new Promise<PtyResult>((resolve, reject) => {
    const child = spawn('python3', ['-c', RELAY, spec], {
      cwd: opts.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const decoder = new StringDecoder('utf8');
    let output = '';
    let relayErr = '';
    let statusJson = '';
    let stepIndex = 0;
    let cursor = 0; // position in stripped text after the last matched prompt
    let settled = false;

    const fail = (why: string, immediately = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const step = steps[stepIndex];
      const waiting = step ? ` while waiting for step ${stepIndex + 1}/${steps.length} (${String(step.waitFor)})` : '';
      const error = new Error(
        `runInPty(${cmd} ${args.join(' ')}): ${why}${waiting}.\n--- terminal transcript ---\n${tail(stripAnsi(output))}` +
          (relayErr ? `\n--- relay stderr ---\n${tail(relayErr, 2000)}` : ''),
      );
      if (immediately || child.exitCode !== null || child.signalCode !== null) {
        reject(error);
        return;
      }
      // Take the command down (the relay kills its process group) and only then report.
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('close', () => {
        clearTimeout(force);
        reject(error);
      });
      child.stdin?.destroy();
      child.kill('SIGTERM');
    };

    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

    const advance = (): void => {
      while (!settled && stepIndex < steps.length) {
        const step = steps[stepIndex]!;
        const text = stripAnsi(output).slice(cursor);
        let end = -1;
        if (typeof step.waitFor === 'string') {
          const at = text.indexOf(step.waitFor);
          if (at >= 0) end = at + step.waitFor.length;
        } else {
          const re = new RegExp(step.waitFor.source, step.waitFor.flags.replace(/[gy]/g, ''));
          const m = re.exec(text);
          if (m) end = m.index + m[0].length;
        }
        if (end < 0) return;
        cursor += end;
        stepIndex++;
        child.stdin?.write(step.send + (step.enter === false ? '' : '\r'));
        if (step.onMatch) {
          const pid = Number((JSON.parse(statusJson.split('\n')[0] || '{}') as { pid?: number }).pid);
          step.onMatch(pid);
        }
      }
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      output += decoder.write(chunk);
      advance();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      relayErr += chunk.toString('utf8');
    });
    const status = child.stdio[3];
    if (status && 'on' in status) {
      status.on('data', (chunk: Buffer) => {
        statusJson += chunk.toString('utf8');
      });
    }
    child.stdin?.on('error', () => {});
    child.on('error', (err) => fail(`could not start python3: ${err.message}`, true));
    child.on('close', (code, sig) => {
      if (settled) return;
      output += decoder.end();
      advance();
      let parsed: { code?: number; signal?: number } | null = null;
      try {
        const last = statusJson.split('\n').pop() ?? '';
        parsed = last ? (JSON.parse(last) as { code?: number; signal?: number }) : null;
      } catch {
        parsed = null;
      }
      if (!parsed) {
        fail(`the pty relay failed (python3 exited with ${code ?? sig})`);
        return;
      }
      if (stepIndex < steps.length) {
        fail(`the command exited (${parsed.signal !== undefined ? `signal ${parsed.signal}` : `code ${parsed.code}`}) before all prompts appeared`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      const signal = parsed.signal !== undefined ? (SIGNALS[parsed.signal] ?? `signal ${parsed.signal}`) : null;
      resolve({
        output,
        text: stripAnsi(output),
        exitCode: parsed.signal !== undefined ? 128 + parsed.signal : (parsed.code ?? 1),
        signal,
      });
    });
  });
}
