// The packages `--version` and `--help` must never load: the npm libraries, the AWS SDK and the prompts
// load only in the commands that need them. One list for test/e2e/startup.test.ts and bench/run.mjs.
export const HEAVY_PACKAGES = ['pacote', 'libnpmpublish', '@npmcli/arborist', '@aws-sdk/', 'libnpmpack', '@inquirer/', 'npm-registry-fetch', '@npmcli/config']

/** Whether an npm package name (e.g. `@aws-sdk/client-s3`) is one of them. */
export const isHeavyPackage = (name) => HEAVY_PACKAGES.some((h) => (h.endsWith('/') ? name.startsWith(h) : name === h))

/** Whether a loaded module's path lies inside one of them. */
export const isHeavyModulePath = (file) => HEAVY_PACKAGES.some((h) => file.includes(`/node_modules/${h.endsWith('/') ? h : `${h}/`}`))
