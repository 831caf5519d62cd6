/** The package.json fields that name dependencies. Pure. */

/** What npm fetches from the registry at install, by name and range (devDependencies never reach users). */
export const INSTALL_DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const

/** With bundleDependencies: names shipped inside the tarball (a list, or `true` for all of `dependencies`). */
export const DEPENDENCY_FIELDS = [...INSTALL_DEPENDENCY_FIELDS, 'bundleDependencies'] as const

export type DependencyField = (typeof DEPENDENCY_FIELDS)[number]
