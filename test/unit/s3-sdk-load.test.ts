/** The AWS SDK is installed by S3 users only: its absence is a plain instruction, a broken install says what broke. */
import { describe, expect, it } from 'vitest'
import { sdkLoadError } from '../../src/backends/s3.js'

const notFound = (specifier: string) =>
  Object.assign(new Error(`Cannot find package '${specifier}' imported from /x/node_modules/stage-publish/dist/chunks/s3-ABC.js`), { code: 'ERR_MODULE_NOT_FOUND' })

describe('loading the AWS SDK', () => {
  it('names the install command when the SDK itself is absent', () => {
    const err = sdkLoadError(notFound('@aws-sdk/client-s3'))
    expect(err.code).toBe('EBACKEND')
    expect(err.message).toBe('The S3 backend needs the AWS SDK (@aws-sdk/client-s3), which is not installed')
    expect(err.hint).toContain('npm install --save-dev @aws-sdk/client-s3')
    expect(err.hint).toContain('npx -p stage-publish -p @aws-sdk/client-s3 stage-publish')
  })
  it('says what failed when the SDK is there but one of its own parts is missing or broken', () => {
    const missingPart = sdkLoadError(notFound('@smithy/smithy-client'))
    expect(missingPart.message).toContain("could not be loaded: Cannot find package '@smithy/smithy-client'")
    const broken = sdkLoadError(new SyntaxError('Unexpected token'))
    expect(broken.message).toBe('The AWS SDK (@aws-sdk/client-s3) could not be loaded: Unexpected token')
    expect(broken.hint).toContain('npm install --save-dev @aws-sdk/client-s3')
  })
})
