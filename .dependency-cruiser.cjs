/**
 * The layers of src/ and the one direction imports go (checked by `npm run lint:deps`, part of `npm test`):
 *
 *   cli → commands → flows → core, backends, npm, ui, origin, notify → errors
 *
 * The entries (cli) are src/cli.ts and src/list-main.ts (`list`'s fast path, which bin/ tries first).
 * An arrow may skip layers downward, never point up. core is pure and imports only core and errors.
 * backends, npm, ui, origin and notify are side by side (they may use one another and core).
 * errors (src/errors.ts, and src/secret-param.ts that it redacts with) imports nothing of ours.
 * No cycles at all, type-only imports included: a type that points up is an arrow that points up.
 */
const CLI = '^src/(cli|list-main)\\.ts$'
const COMMANDS = '^src/commands/'
const FLOWS = '^src/flows/'
const CORE = '^src/core/'
const ADAPTERS = '^src/(backends|npm|ui|origin|notify)/'
const BOTTOM = '^src/(errors|secret-param)\\.ts$'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make the layers meaningless and the load order fragile: move the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'src/cli.ts and src/list-main.ts are the top: the entries only bin/ runs.',
      from: { path: '^src/' },
      to: { path: CLI },
    },
    {
      name: 'commands-stay-above',
      severity: 'error',
      comment: 'Only src/cli.ts and commands use commands; what a flow needs from one belongs in src/flows (context.ts, a *Request type).',
      from: { path: '^src/', pathNot: `${CLI}|${COMMANDS}` },
      to: { path: COMMANDS },
    },
    {
      name: 'flows-stay-above',
      severity: 'error',
      comment: 'core, backends, npm, ui, origin and errors are below the flows: pass what they need as parameters.',
      from: { path: `${CORE}|${ADAPTERS}|${BOTTOM}` },
      to: { path: FLOWS },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core imports only core and errors (no adapters, no ui): types it needs from an adapter move into core.',
      from: { path: CORE },
      to: { path: '^src/', pathNot: `${CORE}|${BOTTOM}` },
    },
    {
      name: 'errors-at-the-bottom',
      severity: 'error',
      comment: 'Everything imports errors; errors import nothing of ours.',
      from: { path: BOTTOM },
      to: { path: '^src/', pathNot: BOTTOM },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import the checker cannot follow is an arrow it cannot check.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are arrows too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
}
