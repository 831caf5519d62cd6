import type { ChildProcess } from 'node:child_process';

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
  /** Called with the relay's process as soon as it is spawned (the demo keeps it, to stop it on Ctrl-C). */
  onSpawn?: (child: ChildProcess) => void;
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

/** `s` without ANSI escape sequences and carriage returns. */
export declare function stripAnsi(s: string): string;

/**
 * Runs `cmd args` in a pseudo-terminal, answering prompts as `steps` say, and resolves when it exits.
 * Rejects (with the transcript in the message) on timeout, or when the command exits before a step's
 * prompt appeared.
 */
export declare function runInPty(cmd: string, args: string[], opts?: PtyOptions): Promise<PtyResult>;
