/** The review of a staged release; the parts live in ./review/ (see ./review/index.ts). */
export * from './review/index.js'
