import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {ValidationError} from '../../src/errors.js'
import type {ParamSpec, Runbook} from '../../src/runbooks/model.js'
import {coerceParam, resolveParams, targetChoices, toUtcIso} from '../../src/runbooks/params.js'

const catalog = parseCatalog(
  '/tmp/runbooks.yaml',
  `version: 1
environments:
  local:
    cloud: emulator
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg-app]
    components:
      orders-db: {type: postgres, name: pg-orders}
      billing-db: {type: postgres, name: pg-billing}
      cache: {type: redis, name: redis-app}
`,
)
const environment = catalog.catalog.environments.local!

const runbook = (params: Record<string, ParamSpec>): Pick<Runbook, 'name' | 'params'> => ({name: 'test', params})

function problems(run: () => unknown): string[] {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).exitCode).toBe(2)
    return (error as ValidationError).problems.map((p) => p.message)
  }
  throw new Error('expected a ValidationError')
}

describe('resolveParams', () => {
  const specs: Record<string, ParamSpec> = {
    server: {type: 'target', component: 'postgres', required: true},
    copies: {type: 'integer', min: 1, max: 5, default: 2, required: false},
    force: {type: 'boolean', default: false, required: false},
    mode: {type: 'enum', values: ['planned', 'forced'], required: true},
    restoreTime: {type: 'datetime', required: true},
    window: {type: 'duration', default: 'PT30M', required: false},
    password: {type: 'secret', required: false},
    label: {type: 'string', pattern: '[a-z]+', required: false},
  }

  it('coerces strings to the declared types and applies defaults', () => {
    const resolved = resolveParams(
      runbook(specs),
      {server: 'orders-db', mode: 'forced', restoreTime: '2026-12-20T19:00:00+01:00', force: 'yes', label: 'abc', password: 'p@ss w0rd'},
      environment,
    )
    expect(resolved).toEqual({
      values: {
        server: 'orders-db',
        copies: 2,
        force: true,
        mode: 'forced',
        restoreTime: '2026-12-20T18:00:00.000Z',
        window: 'PT30M',
        password: 'p@ss w0rd',
        label: 'abc',
      },
      missing: [],
    })
  })

  it('returns required params nobody gave as missing, without prompting', () => {
    expect(resolveParams(runbook(specs), {mode: 'planned'}, environment).missing).toEqual(['server', 'restoreTime'])
  })

  it('collects every problem into one ValidationError naming the param and what was expected', () => {
    const messages = problems(() =>
      resolveParams(
        runbook(specs),
        {server: 'cache', copies: '9', force: 'maybe', mode: 'Forced', restoreTime: 'yesterday', window: '30 minutes', label: 'ABC', sever: 'x'},
        environment,
      ),
    )
    expect(messages).toEqual([
      'unknown param "sever" for runbook test (did you mean "server"?); it takes: server, copies, force, mode, restoreTime, window, password, label',
      'param server: expected a postgres component of the environment: orders-db, billing-db ("cache" is a redis component), got "cache"',
      'param copies: expected an integer ≤ 5, got "9"',
      'param force: expected true or false, got "maybe"',
      'param mode: expected one of planned, forced (did you mean "forced"?), got "Forced"',
      'param restoreTime: expected an ISO-8601 date-time such as 2026-12-20T18:00:00Z (no offset means UTC), or "now", got "yesterday"',
      'param window: expected an ISO-8601 duration such as PT15M, PT1H or P1D, got "30 minutes"',
      'param label: expected a value matching [a-z]+, got "ABC"',
    ])
  })

  it('never echoes given values of unknown or secret params in problems', () => {
    const messages = problems(() => resolveParams(runbook({password: {type: 'secret', required: true}}), {pasword: 'hunter2'}, environment))
    expect(messages).toEqual(['unknown param "pasword" for runbook test (did you mean "password"?); it takes: password'])
    expect(coerceParam('password', {type: 'secret', required: true}, 'hunter2')).toEqual({value: 'hunter2'})
  })

  it('evaluates expression defaults and checks defaults like given values', () => {
    const resolved = resolveParams(
      runbook({restoreTime: {type: 'datetime', default: "${{ subtractDuration(now(), 'PT15M') }}", required: false}}),
      {},
      environment,
      {context: {now: () => new Date('2026-12-20T18:00:00Z')}},
    )
    expect(resolved.values.restoreTime).toBe('2026-12-20T17:45:00.000Z')
    const messages = problems(() => resolveParams(runbook({server: {type: 'target', component: 'redis', default: 'orders-db', required: false}}), {}, environment))
    expect(messages[0]).toMatch(/^param server: expected a redis component of the environment: cache .* \(the default\)$/)
  })

  it('accepts any target when no environment is known', () => {
    expect(resolveParams(runbook({server: specs.server!}), {server: 'whatever'}).values.server).toBe('whatever')
  })
})

describe('helpers', () => {
  it('toUtcIso normalizes dates, times and offsets, rejecting impossible dates', () => {
    expect(toUtcIso('2026-12-20')).toBe('2026-12-20T00:00:00.000Z')
    expect(toUtcIso('2026-12-20 18:05')).toBe('2026-12-20T18:05:00.000Z')
    expect(toUtcIso('2026-12-20T18:05:30.5-0500')).toBe('2026-12-20T23:05:30.500Z')
    expect(toUtcIso('2026-02-31T00:00:00Z')).toBeUndefined()
    expect(toUtcIso('now', () => new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z')
    expect(toUtcIso('12/20/2026')).toBeUndefined()
  })

  it('targetChoices lists components of the declared type', () => {
    expect(targetChoices({type: 'target', component: 'postgres', required: true}, environment)).toEqual(['orders-db', 'billing-db'])
  })
})
