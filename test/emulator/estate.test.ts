import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {environmentSchema} from '../../src/catalog/schema.js'
import {ValidationError} from '../../src/errors.js'
import {ESTATE_FILE, loadEstateBeside, parseEstate} from '../../src/emulator/estate.js'

const environment = environmentSchema.parse({
  cloud: 'emulator',
  subscription: '00000000-0000-0000-0000-0000000e57a7',
  resourceGroups: ['rg'],
  components: {files: {type: 'storage', name: 'stfiles'}},
})

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, {recursive: true, force: true})))

describe('estate file', () => {
  it('is read from opsbook.estate.yaml beside the catalog', () => {
    const dir = mkdtempSync(join(tmpdir(), 'estate-'))
    dirs.push(dir)
    expect(loadEstateBeside(join(dir, 'runbooks.yaml'), environment)).toBeUndefined()
    writeFileSync(join(dir, ESTATE_FILE), 'resources:\n  stfiles:\n    properties:\n      minimumTlsVersion: TLS1_2\n')
    expect(loadEstateBeside(join(dir, 'runbooks.yaml'), environment)).toEqual({resources: {stfiles: {properties: {minimumTlsVersion: 'TLS1_2'}}}})
  })

  it('names the file, line and column of a mistake and what was expected', () => {
    const problemsOf = (text: string) => {
      try {
        parseEstate('/p/opsbook.estate.yaml', text, environment)
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError)
        return `${(e as Error).message} ${JSON.stringify((e as ValidationError).problems)}`
      }
      throw new Error('no error')
    }
    const badLevel = problemsOf('resources:\n  stfiles:\n    locks:\n      - name: keep\n        level: Sometimes\n')
    expect(badLevel).toMatch(/opsbook\.estate\.yaml/)
    expect(badLevel).toMatch(/"line":5/)
    expect(badLevel).toMatch(/CanNotDelete/)
    expect(problemsOf('resources:\n  unknown-thing:\n    properties: {}\n')).toMatch(/estate resource \\"unknown-thing\\" is not a component of the environment/)
    // Identities' roles are built-in role names the emulator knows.
    const badRole = problemsOf('identities:\n  ci:\n    roles:\n      - { role: Reader }\n      - { role: Superuser }\n')
    expect(badRole).toMatch(/role \\"Superuser\\" is not a built-in role the emulator knows \(Reader, .*Owner\)/)
    expect(badRole).toMatch(/"line":5/)
    // Resource Graph's api-version per type must be an api-version.
    const badVersion = problemsOf('resourceGraph:\n  apiVersions:\n    microsoft.cache/redisenterprise: latest\n')
    expect(badVersion).toMatch(/expected an api-version such as 2025-07-01/)
    expect(badVersion).toMatch(/"line":3/)
    expect(parseEstate('/p/opsbook.estate.yaml', 'resourceGraph:\n  apiVersions:\n    microsoft.cache/redisenterprise: 2025-07-01\n', environment)).toMatchObject({
      resourceGraph: {apiVersions: {'microsoft.cache/redisenterprise': '2025-07-01'}},
    })
  })
})
