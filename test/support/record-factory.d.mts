import type { StagedRecord } from '../../src/core/record.js'

export declare const digestsOf: (bytes: Uint8Array) => Pick<StagedRecord, 'integrity' | 'shasum' | 'size'>
export declare function pendingRecord(bytes: Uint8Array, fields?: Partial<StagedRecord>): StagedRecord
