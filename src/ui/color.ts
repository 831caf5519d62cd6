/**
 * Whether one stream gets colour. Each stream decides for itself: `list | less` keeps colour off
 * stdout while warnings on a terminal's stderr stay coloured. The most explicit wish wins:
 *   1. --color / --no-color on the command line;
 *   2. FORCE_COLOR (as Node reads it: unset, or "", "1", "2", "3", "true" force colour, anything
 *      else such as "0" turns it off), then NO_COLOR (any non-empty value: https://no-color.org);
 *   3. npm's `color` config: `false` never, `always` always, `true` (npm's default) as the terminal
 *      says. `npm_config_color` is read by every command (free); .npmrc only by the commands that
 *      load npm's configuration anyway (approve), since loading it costs start-up time;
 *   4. otherwise colour only on a terminal, and never on TERM=dumb.
 */
export type NpmColor = boolean | 'always' | undefined

export interface ColorInputs {
  /** true with --color, false with --no-color, undefined with neither. */
  flag?: boolean | undefined
  env: NodeJS.ProcessEnv
  /** npm's `color` config from .npmrc, when it was loaded; the environment's npm_config_color counts without it. */
  npm?: NpmColor
  isTTY: boolean
}

export function wantsColor(inputs: ColorInputs): boolean {
  const { flag, env } = inputs
  if (flag !== undefined) return flag
  const force = env.FORCE_COLOR
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force)
  if (env.NO_COLOR) return false
  const npm = inputs.npm ?? npmColorFromEnv(env)
  if (npm === false) return false
  if (npm === 'always') return true
  return inputs.isTTY && env.TERM !== 'dumb'
}

/** npm reads npm_config_* case-insensitively; its `color` is `always` or a boolean. */
export function npmColorFromEnv(env: NodeJS.ProcessEnv): NpmColor {
  const key = Object.keys(env).find((k) => k.toLowerCase() === 'npm_config_color')
  return key === undefined ? undefined : parseNpmColor(env[key])
}

export function parseNpmColor(value: unknown): NpmColor {
  if (value === 'always') return 'always'
  if (value === false || value === 'false' || value === '0') return false
  if (value === true || value === 'true' || value === '1') return true
  return undefined
}
