/**
 * The production window guard, per component the run changes, with a fixed clock: a run whose components' windows
 * are open and leave room for its expected duration may start; each blocked component says when its next window
 * long enough opens; --component narrows the run to the components whose window is open.
 */
import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {loadRunbook} from '../../src/runbooks/discovery.js'
import {expandRunbook, selectComponents} from '../../src/runbooks/expand.js'
import {changedComponents, checkChangeGuards, decideGuards, expectedDuration} from '../../src/runbooks/guards.js'
import {GuardError} from '../../src/errors.js'

const loaded = parseCatalog(
  'prod.yaml',
  `version: 1
environments:
  production:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    production: true
    resourceGroups: [rg]
    freezes: [{from: "2026-12-18T18:00:00Z", until: "2027-01-04T08:00:00Z", reason: year end}]
    windows:
      database: {recurrence: weekly, day: Sunday, start: "02:00", end: "04:00", timeZone: Europe/Amsterdam}
      app: {recurrence: biweekly, day: Saturday, start: "21:00", end: "23:00", timeZone: Europe/Berlin, anchor: "2026-01-03"}
    components:
      orders-db: {type: postgres, name: pg-orders, windows: [database]}
      storefront: {type: webapp, name: app-store, window: app}
      secrets: {type: keyvault, name: kv}
`,
)
const env = loaded.catalog.environments.production!
const drill = expandRunbook(loadRunbook('dr-drill', loaded), env, {environmentName: 'production'})
const hour = expectedDuration({expectedDurationMs: 3_600_000}, [])

describe('window guard', () => {
  it('reads the components the run changes from the expanded runbook (not every component of the environment)', () => {
    expect(changedComponents(drill, {}, env).sort()).toEqual(['orders-db', 'storefront'])
    const slotSwap = loadRunbook('slot-swap', loaded)
    expect(changedComponents(slotSwap, {app: 'storefront'}, env)).toEqual(['storefront'])
  })

  it('decides per component: the database window is open with room for an hour, the app window is not open', () => {
    // Sunday 2026-12-06 02:10 Amsterdam (01:10Z): database open until 03:00Z
    const decision = decideGuards({runbook: drill, env, components: ['orders-db', 'storefront'], at: new Date('2026-12-06T01:10:00Z'), expected: hour})
    expect(decision.allowed).toBe(false)
    expect(decision.components.find((c) => c.component === 'orders-db')).toMatchObject({allowed: true, closesAt: '2026-12-06T03:00:00.000Z'})
    const app = decision.components.find((c) => c.component === 'storefront')!
    expect(app.allowed).toBe(false)
    // bi-weekly from the week of 2026-01-03: 2026-12-12 is 49 weeks on (an "off" week), 2026-12-19 is on; 21:00 CET = 20:00Z
    expect(app.nextOpensAt).toBe('2026-12-19T20:00:00.000Z')
    // the two windows never overlap: there is no moment for both
    expect(decision.nextStart).toBeUndefined()

    const onlyDb = decideGuards({runbook: drill, env, components: ['orders-db'], at: new Date('2026-12-06T01:10:00Z'), expected: hour})
    expect(onlyDb.allowed).toBe(true)
  })

  it('blocks a run that would not end inside the window, and names the next opening long enough', () => {
    // 02:30Z is 03:30 local: the window closes in 30 minutes
    const late = decideGuards({runbook: drill, env, components: ['orders-db'], at: new Date('2026-12-06T02:30:00Z'), expected: hour})
    expect(late.allowed).toBe(false)
    expect(late.components[0]!.reason).toContain('closes at 2026-12-06T03:00:00.000Z, before the run\'s expected end 2026-12-06T03:30:00.000Z')
    expect(late.components[0]!.nextOpensAt).toBe('2026-12-13T01:00:00.000Z')
    // with an unknown duration only the start counts
    expect(decideGuards({runbook: drill, env, components: ['orders-db'], at: new Date('2026-12-06T02:30:00Z'), expected: expectedDuration({}, [])}).allowed).toBe(true)
  })

  it('uses the window\'s zone across DST: on 2026-03-29 the 02:00–04:00 Amsterdam window is only 01:00–02:00Z', () => {
    const at = new Date('2026-03-29T01:05:00Z')
    expect(decideGuards({runbook: drill, env, components: ['orders-db'], at, expected: hour}).allowed).toBe(false)
    expect(decideGuards({runbook: drill, env, components: ['orders-db'], at, expected: expectedDuration({expectedDurationMs: 30 * 60_000}, [])}).allowed).toBe(true)
  })

  it('on 2026-10-25 (fall back) the window opens at the first 02:00 (00:00Z) and gives a run its three hours', () => {
    // 02:10 CEST, before the clocks go back: inside the window (it used to wait for the second 02:00, 01:00Z)
    const first = decideGuards({runbook: drill, env, components: ['orders-db'], at: new Date('2026-10-25T00:10:00Z'), expected: hour})
    expect(first.allowed).toBe(true)
    expect(first.components[0]).toMatchObject({allowed: true, closesAt: '2026-10-25T03:00:00.000Z'})
    // a 2.5-hour run started at the first 02:00 still ends before 04:00 CET (03:00Z)
    const long = expectedDuration({expectedDurationMs: 150 * 60_000}, [])
    expect(decideGuards({runbook: drill, env, components: ['orders-db'], at: new Date('2026-10-25T00:00:00Z'), expected: long}).allowed).toBe(true)
  })

  it('expected duration: declared, else the median of past runs', () => {
    expect(expectedDuration({}, [10, 40, 20]).ms).toBe(20)
    expect(expectedDuration({}, [10, 40, 20, 30]).ms).toBe(25)
    expect(expectedDuration({expectedDurationMs: 5}, [10]).source).toBe('runbook')
  })

  it('throws exit 5 listing each blocked component and suggesting --component for the open ones; a freeze blocks too', () => {
    let error: unknown
    try {
      checkChangeGuards({runbook: drill, env, envName: 'production', components: ['orders-db', 'storefront'], now: new Date('2026-12-06T01:10:00Z'), expected: hour})
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GuardError)
    const guard = error as GuardError
    expect(guard.message).toContain('storefront is outside its window "app"')
    expect(guard.message).not.toContain('orders-db')
    expect(guard.suggestions.join('\n')).toContain('--component orders-db')
    expect(() =>
      checkChangeGuards({runbook: drill, env, envName: 'production', components: ['orders-db'], now: new Date('2026-12-20T01:10:00Z'), expected: hour}),
    ).toThrow(/change freeze "year end"/)
  })

  it('--component keeps the chosen components of the kinds the runbook iterates and rejects others (exit 2)', () => {
    const narrowed = selectComponents(loadRunbook('dr-drill', loaded), env, ['orders-db'])
    expect(Object.keys(narrowed.components).sort()).toEqual(['orders-db', 'secrets'])
    expect(() => selectComponents(loadRunbook('dr-drill', loaded), env, ['secrets'])).toThrow(/does not act on keyvault components/)
    expect(() => selectComponents(loadRunbook('dr-drill', loaded), env, ['nope'])).toThrow(/no such component/)
  })
})
