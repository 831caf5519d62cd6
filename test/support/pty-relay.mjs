/**
 * Drive a command through a real pseudo-terminal, without native modules: a small inline python3 script
 * (`pty.fork()`) runs the command with the pty as its controlling terminal (stdin, stdout and stderr are
 * all the terminal, so `isTTY` is true and /dev/tty works) and relays bytes between the pty and Node.
 *
 * Plain JavaScript, so that scripts/demo.mjs runs it without a build; test/support/pty.ts is the tests' door
 * to it, and its types are in pty-relay.d.mts.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

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
signal.signal(signal.SIGINT, kill_child)  # a Ctrl-C in the terminal that runs us (the demo) takes the command down too
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

/** `s` without ANSI escape sequences and carriage returns. */
export function stripAnsi(s) {
  return s.replace(ANSI, '').replace(/\r/g, '');
}

const SIGNALS = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 15: 'SIGTERM' };

function tail(s, n = 4000) {
  return s.length > n ? '…' + s.slice(-n) : s;
}

/**
 * Runs `cmd args` in a pseudo-terminal, answering prompts as `steps` say, and resolves when it exits.
 * Rejects (with the transcript in the message) on timeout, or when the command exits before a step's
 * prompt appeared.
 */
export function runInPty(cmd, args, opts = {}) {
  const steps = opts.steps ?? [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const env = { ...(opts.env ?? process.env) };
  env.TERM ??= 'xterm-256color';
  const spec = JSON.stringify({ argv: [cmd, ...args], cols: opts.cols ?? 120, rows: opts.rows ?? 40 });

  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', RELAY, spec], {
      cwd: opts.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    opts.onSpawn?.(child);
    const decoder = new StringDecoder('utf8');
    let output = '';
    let relayErr = '';
    let statusJson = '';
    let stepIndex = 0;
    let cursor = 0; // position in stripped text after the last matched prompt
    let settled = false;

    const fail = (why, immediately = false) => {
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
      child.stdin.destroy();
      child.kill('SIGTERM');
    };

    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

    const advance = () => {
      while (!settled && stepIndex < steps.length) {
        const step = steps[stepIndex];
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
        child.stdin.write(step.send + (step.enter === false ? '' : '\r'));
        if (step.onMatch) {
          const pid = Number(JSON.parse(statusJson.split('\n')[0] || '{}').pid);
          step.onMatch(pid);
        }
      }
    };

    child.stdout.on('data', (chunk) => {
      output += decoder.write(chunk);
      advance();
    });
    child.stderr.on('data', (chunk) => {
      relayErr += chunk.toString('utf8');
    });
    const status = child.stdio[3];
    if (status && 'on' in status) {
      status.on('data', (chunk) => {
        statusJson += chunk.toString('utf8');
      });
    }
    child.stdin.on('error', () => {});
    child.on('error', (err) => fail(`could not start python3: ${err.message}`, true));
    child.on('close', (code, sig) => {
      if (settled) return;
      output += decoder.end();
      advance();
      let parsed = null;
      try {
        const last = statusJson.split('\n').pop() ?? '';
        parsed = last ? JSON.parse(last) : null;
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
