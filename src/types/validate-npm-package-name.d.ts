// validate-npm-package-name ships no types (npm's own rules for package names).
declare module 'validate-npm-package-name' {
  interface NameValidation {
    validForNewPackages: boolean
    validForOldPackages: boolean
    warnings?: string[]
    errors?: string[]
  }
  function validate(name: string): NameValidation
  export = validate
}
