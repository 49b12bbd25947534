import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {logsQueryAction, metricsAssertAction, metricsBatchHint} from '../../src/actions/monitor.js'
import {healthCheckAction, swapAction} from '../../src/actions/webapp.js'
import {makeContext, startFixture, type Fixture, parseInput as parse} from '../azure/helpers.js'

let fixture: Fixture
/** The emulator's and the actions' clock: tests move it forward so metric minutes pass without waiting. */
let offsetMs = 0
const clock = () => new Date(Date.now() + offsetMs)
beforeAll(async () => {
  fixture = await startFixture({clock})
})
afterAll(async () => {
  await fixture?.stop()
})


describe('monitor.metricsAssert', () => {
  it('passes a healthy app against its catalog gates, and fails after an unhealthy build is swapped in', async () => {
    const {context} = makeContext(fixture, {now: clock})
    const healthy = await metricsAssertAction.run(parse(metricsAssertAction, {resource: 'storefront', window: 'PT10M'}), context)
    expect(healthy.ok).toBe(true)
    expect(healthy.observed.requests).toBeGreaterThan(0)
    expect(healthy.results.map((r) => r.name)).toEqual(['http5xxRate', 'p95ResponseMs'])

    const deployed = await fixture.services.armRequest('POST', '/_emulator/webapps/app-shop-storefront/slots/staging/deploy', {body: {version: 'v9-regression'}})
    expect(deployed.status).toBe(200)
    const swapped = await swapAction.run(parse(swapAction, {app: 'storefront', attempts: 1, interval: 'PT0.05S'}), context)
    // The new build breaks under production traffic.
    fixture.emulator.faults.set({unhealthySlots: ['app-shop-storefront/production']})
    await expect(healthCheckAction.run(parse(healthCheckAction, {app: 'storefront', attempts: 1}), context)).rejects.toThrow(/unhealthy/)
    // The minute in progress already carries a partial point (as Azure's newest point does): the spike shows at once.
    const early = await metricsAssertAction.run(parse(metricsAssertAction, {resource: 'storefront', after: swapped.swappedAt}), context).catch((e) => e)
    expect(early.code).toBe('monitor-gate-breached')
    // A window with no data at all passes with a note, unless data is required.
    const future = new Date(clock().getTime() + 60_000).toISOString()
    const empty = await metricsAssertAction.run(parse(metricsAssertAction, {resource: 'storefront', after: future}), context)
    expect(empty.results.every((r) => r.note === 'no data in the window')).toBe(true)
    await expect(metricsAssertAction.run(parse(metricsAssertAction, {resource: 'storefront', after: future, requireData: true}), context)).rejects.toThrow(/no metric data/)
    offsetMs += 3 * 60_000 // three minutes of production traffic on the new build

    const error = await metricsAssertAction
      .run(parse(metricsAssertAction, {resource: 'storefront', window: 'PT10M', after: swapped.swappedAt}), context)
      .catch((e) => e)
    expect(error.code).toBe('monitor-gate-breached')
    expect(error.message).toMatch(/http5xxRate|p95ResponseMs/)
    expect(error.details.observed.http5xxRate).toBeGreaterThan(0.02)
    fixture.emulator.faults.clear()
  })

  it('checks arbitrary metrics of other resource types', async () => {
    const {context} = makeContext(fixture)
    const out = await metricsAssertAction.run(
      parse(metricsAssertAction, {resource: 'orders-db', window: 'PT15M', metrics: [{name: 'cpu_percent', aggregation: 'maximum', max: 100}]}),
      context,
    )
    expect(out.ok).toBe(true)
    expect(out.observed['cpu_percent.maximum']).toBeGreaterThan(0)
  })
})

describe('metrics batch API failures (Learn, migrate-to-batch-api: Troubleshooting)', () => {
  it('names the subscription-level role on 401 and the provider registration on 403; other answers get the generic hint', () => {
    expect(metricsBatchHint({armCode: 'Unauthorized', statusCode: 401, message: 'x'})).toMatch(/Monitoring Reader \(or Reader\) assigned on the whole subscription/)
    expect(metricsBatchHint({armCode: 'Forbidden', statusCode: 403, message: 'x'})).toMatch(/az provider register --namespace Microsoft\.Insights/)
    expect(metricsBatchHint({armCode: 'BadRequest', statusCode: 400, message: 'x'})).toBeUndefined()
  })
})

describe('monitor.logsQuery', () => {
  it('queries the activity table and checks the row count', async () => {
    const {context} = makeContext(fixture)
    const out = await logsQueryAction.run(
      parse(logsQueryAction, {workspace: '00000000-0000-0000-0000-0000000000aa', query: 'AzureActivity | where TimeGenerated > ago(1h) | take 50', minRows: 1}),
      context,
    )
    expect(out.status).toBe('Success')
    expect(out.rowCount).toBeGreaterThan(0)
    expect(out.columns).toContain('OperationNameValue')
  })
})
