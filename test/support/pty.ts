/**
 * A command in a real terminal, for the tests: `runInPty(cmd, args, { steps })` answers its prompts and resolves
 * with what the terminal showed. One implementation with scripts/demo.mjs, in plain JavaScript (pty-relay.mjs).
 *
 * `output` is everything the terminal showed, as a user would see it: the program's output plus whatever
 * the terminal echoed of what was typed (so an OTP typed at a no-echo prompt is absent from it).
 */
export { runInPty, stripAnsi } from './pty-relay.mjs';
export type { PtyOptions, PtyResult, PtyStep } from './pty-relay.mjs';
