import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {catalogCapabilityWarnings} from '../../src/azure/capabilities.js'
import {findCatalog, loadCatalog, parseCatalog} from '../../src/catalog/loader.js'
import {ValidationError} from '../../src/errors.js'

describe('catalog loader', () => {
  it('loads the repository catalog with defaults applied', () => {
    const loaded = loadCatalog({cwd: join(import.meta.dirname, '..', '..')})
    const local = loaded.catalog.environments.local!
    expect(local.cloud).toBe('emulator')
    expect(local.components['orders-db']).toMatchObject({type: 'postgres', backupRetentionDays: 14})
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('validates the real-Azure example catalog in examples/', () => {
    const loaded = loadCatalog({flag: join(import.meta.dirname, '..', '..', 'examples', 'azure-platform.yaml')})
    expect(loaded.catalog.environments.production).toMatchObject({production: true, cloud: 'azure'})
    // Its Azure Managed Redis cluster: windows Azure can take as scheduled maintenance (no capability warning), and
    // the catalog's defaults applied (the one database, high availability).
    expect(loaded.catalog.environments.production!.components['carts-cache']).toMatchObject({type: 'managedredis', database: 'default', highAvailability: true, persistence: {mode: 'rdb'}})
    expect(catalogCapabilityWarnings(loaded.catalog)).toEqual([])
  })

  it('finds runbooks.yaml by walking up, and prefers OPSBOOK_CATALOG', () => {
    const root = mkdtempSync(join(tmpdir(), 'opsbook-cat-'))
    writeFileSync(join(root, 'runbooks.yaml'), 'version: 1\nenvironments: {}\n')
    mkdirSync(join(root, 'a', 'b'), {recursive: true})
    expect(findCatalog({cwd: join(root, 'a', 'b'), env: {}})).toBe(join(root, 'runbooks.yaml'))
    expect(findCatalog({cwd: root, env: {OPSBOOK_CATALOG: 'other.yaml'}})).toBe(join(root, 'other.yaml'))
  })

  it('reports every problem at once with file:line:col', () => {
    const text = `version: 1
environments:
  prod:
    cloud: azur
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    components:
      db:
        type: postgres
        name: pg1
        window: nightly
        objectives: {rto: 1h}
`
    let error: ValidationError | undefined
    try {
      parseCatalog('cat.yaml', text)
    } catch (e) {
      error = e as ValidationError
    }
    expect(error).toBeInstanceOf(ValidationError)
    expect(error!.exitCode).toBe(2)
    const where = error!.problems.map((p) => `${p.location?.line}:${p.location?.column} ${p.code}`)
    expect(where).toContain('4:12 invalid-value')
    expect(where).toContain('12:27 invalid-value')
    expect(error!.message).toContain('ISO-8601 duration')
  })

  it('accepts top-level x- extension fields as a place for YAML anchors (as Docker Compose does); elsewhere they are unknown fields', () => {
    const text = `version: 1
x-tags: &tags {owner: platform, costCenter: cc-42}
x-webapp: &webapp
  type: webapp
  slots: [staging]
  healthPath: /health
  tags: *tags
environments:
  prod:
    cloud: emulator
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    components:
      web: {<<: *webapp, name: app-web}
      web-neu: {<<: *webapp, name: app-web-neu, region: northeurope}
`
    const loaded = parseCatalog('cat.yaml', text)
    expect(loaded.catalog.environments.prod!.components['web-neu']).toMatchObject({type: 'webapp', name: 'app-web-neu', region: 'northeurope', healthPath: '/health', tags: {owner: 'platform'}})
    expect(Object.keys(loaded.catalog)).not.toContain('x-webapp')
    let error: ValidationError | undefined
    try {
      parseCatalog('cat.yaml', text.replace('    resourceGroups: [rg]', '    x-note: here\n    resourceGroups: [rg]'))
    } catch (e) {
      error = e as ValidationError
    }
    expect(error!.problems.map((p) => `${p.location?.line} ${p.message}`)).toEqual([expect.stringMatching(/^12 unknown field "x-note" in environments\.prod/)])
  })

  it('helps with typos as runbook validation does: the closest field or value, and a missing field said as such', () => {
    const text = `version: 1
environments:
  prod:
    cloud: emulator
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    windows:
      database: {recurence: weekly, day: Sundy, start: "02:00", end: "04:00"}
    componets:
      web: {type: webapp, name: app, helthPath: /health}
      vault: {type: keyvualt, name: kv}
`
    let error: ValidationError | undefined
    try {
      parseCatalog('cat.yaml', text)
    } catch (e) {
      error = e as ValidationError
    }
    const found = error!.problems.map((p) => `${p.location?.line}:${p.location?.column} ${p.message}`)
    expect(error!.exitCode).toBe(2)
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^8:\d+ unknown field "recurence" in environments\.prod\.windows\.database \(did you mean "recurrence"\?\)$/),
        expect.stringMatching(/^8:\d+ environments\.prod\.windows\.database\.recurrence: required field "recurrence" is missing \(one of "weekly", "biweekly", "monthly", "once"\)$/),
        expect.stringMatching(/^8:\d+ environments\.prod\.windows\.database\.day: "Sundy" is not one of .*\(did you mean "Sunday"\?\)$/),
        expect.stringMatching(/^9:\d+ unknown field "componets" in environments\.prod \(did you mean "components"\?\)$/),
        expect.stringMatching(/environments\.prod\.components: required field "components" is missing$/),
      ]),
    )
    // Inside a component, the fields of its own kind (found through its `type`), and the kinds for a misspelt type.
    const inComponents = text.replace('componets:', 'components:')
    try {
      parseCatalog('cat.yaml', inComponents)
    } catch (e) {
      error = e as ValidationError
    }
    const messages = error!.problems.map((p) => p.message)
    expect(messages).toContain('unknown field "helthPath" in environments.prod.components.web (did you mean "healthPath"?)')
    expect(messages.find((m) => m.includes('vault.type'))).toMatch(/"keyvualt" is not one of .*\(did you mean "keyvault"\?\)$/)
  })

  it('does not quote back a secret pasted into a field that takes one of a list', () => {
    const webhook = 'https://hooks.slack.com/services/T0AAA/B0BBB/n0tA4realWebhookTok'
    const text = `version: 1
environments:
  prod:
    cloud: emulator
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    notifications:
      - kind: ${webhook}
        url: {env: OPSBOOK_SLACK_WEBHOOK}
    components: {}
`
    let error: ValidationError | undefined
    try {
      parseCatalog('cat.yaml', text)
    } catch (e) {
      error = e as ValidationError
    }
    const found = error!.problems.map((p) => `${p.location?.line}:${p.location?.column} ${p.message}`)
    expect(found).toContainEqual(expect.stringMatching(/^8:\d+ environments\.prod\.notifications\[0\]\.kind: the value is not one of "teams", "slack", "webhook"$/))
    expect(JSON.stringify(error!.problems)).not.toContain('n0tA4realWebhookTok')
  })

  it('rejects data probes that measure nothing, and a password written into them, with file:line:col', () => {
    const text = `version: 1
environments:
  prod:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    components:
      db:
        type: postgres
        name: pg1
        dataProbes:
          user: opsbook-drill
          auth: {type: param, name: PG_PASSWORD, value: hunter2}
`
    let error: ValidationError | undefined
    try {
      parseCatalog('cat.yaml', text)
    } catch (e) {
      error = e as ValidationError
    }
    expect(error!.exitCode).toBe(2)
    expect(error!.message).toMatch(/cat\.yaml:12:\d+: .*dataProbes.freshness: set a freshness query or canary: true/)
    expect(error!.message).toMatch(/cat\.yaml:13:\d+: unknown field "value"/)
  })

  it('reports a window a component names but the environment lacks', () => {
    const text = `version: 1
environments:
  prod:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
    components:
      db: {type: postgres, name: pg1, window: nightly}
`
    expect(() => parseCatalog('cat.yaml', text)).toThrow(/cat\.yaml:8:47: component "db" names maintenance window "nightly"/)
  })

  it('reports duplicate keys together with the other problems', () => {
    expect(() => parseCatalog('d.yaml', 'version: 1\nversion: 1\nenvironments: {}\n')).toThrow(/d\.yaml:2:1: duplicate key/)
    let error: ValidationError | undefined
    try {
      parseCatalog('d.yaml', 'version: 1\nversion: 1\nenvironments: {}\nbogus: true\n')
    } catch (e) {
      error = e as ValidationError
    }
    expect(error!.problems.map((p) => p.code).sort()).toEqual(['duplicate-key', 'unknown-field'])
  })
})
