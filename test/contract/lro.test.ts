/**
 * Long-running operations' monitors are validated (lro.ts): an Azure-AsyncOperation poll against the provider's own
 * status operation where its vendored document defines one, else against ARM's RPC async reference; a Location poll
 * against the RPC's 202 rules and, once complete, as the operation that handed its URL out.
 */
import {describe, expect, it} from 'vitest'
import {LroContract, RPC_ASYNC_REFERENCE} from './lro.js'
import {summarize} from './report.js'
import {contractRegistry, type ContractExchange} from './specs.js'

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000'
const SERVER = `${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg`
const STATUS = `${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op1`
const RESULT = `${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op1`
const BASE = 'https://127.0.0.1:8443'
const Q = 'api-version=2025-08-01'

const exchange = (method: string, path: string, status: number, body?: unknown, headers: Record<string, string> = {}, query = Q): ContractExchange => ({method, path, query, status, headers, ...(body === undefined ? {} : {body})})
/** The PATCH that hands out both monitors. */
const started = exchange('PATCH', SERVER, 202, undefined, {'Azure-AsyncOperation': `${BASE}${STATUS}?${Q}`, Location: `${BASE}${RESULT}?${Q}`, 'Retry-After': '1'})
const status = (body: unknown, code = 200) => exchange('GET', STATUS, code, body)

function check(...polls: ContractExchange[]) {
  const lro = new LroContract(contractRegistry(), [started, ...polls])
  return polls.map((poll) => {
    const result = lro.check(poll)
    return result && {kind: result.kind, against: result.against, violations: result.violations}
  })
}

describe('long-running operation polls', () => {
  it('validates an Azure-AsyncOperation status against the RPC reference where the provider documents none', () => {
    const running = {id: STATUS, name: 'op1', status: 'InProgress', startTime: '2026-01-01T00:00:00Z', percentComplete: 40}
    const failed = {id: STATUS, name: 'op1', status: 'Failed', startTime: 't', endTime: 't', error: {code: 'ServerBusy', message: 'm'}}
    expect(check(status(running), status(failed))).toEqual([
      {kind: 'status', against: RPC_ASYNC_REFERENCE, violations: []},
      {kind: 'status', against: RPC_ASYNC_REFERENCE, violations: []},
    ])
    const [unknown, noError, properties, badPercent, wrongId, notOk] = check(
      status({...running, resourceLocation: 'x'}),
      status({id: STATUS, name: 'op1', status: 'Failed'}),
      status({...running, properties: {}}),
      status({...running, percentComplete: 140}),
      status({...running, id: `${STATUS}x`}),
      status(running, 202),
    )
    expect(unknown!.violations).toEqual(["(body): property 'resourceLocation' is not in the RPC's operation resource"])
    expect(noError!.violations).toEqual(["(body): must have required property 'error'"])
    expect(properties!.violations).toEqual(['/status: must be equal to constant'])
    expect(badPercent!.violations).toEqual(['/percentComplete: must be <= 100'])
    expect(wrongId!.violations).toEqual([`/id: '${STATUS}x' is not the URL the status was read at`, "/name: 'op1' is not the last segment of id"])
    expect(notOk!.violations).toEqual(['status 202: the operation resource is read with 200'])
  })

  it('validates a Location poll: 202 with Location and no body while running, then the answer of the operation that started it', () => {
    const running = exchange('GET', RESULT, 202, undefined, {Location: `${BASE}${RESULT}?${Q}`, 'Retry-After': '1'})
    const [ok, noHeader, body] = check(running, exchange('GET', RESULT, 202), exchange('GET', RESULT, 202, {status: 'InProgress'}, {Location: 'x'}))
    expect(ok).toMatchObject({kind: 'location', violations: []})
    expect(ok!.against).toMatch(/FlexibleServers\.json|Servers\.json/)
    expect(noHeader!.violations).toEqual(['202 lacks the Location header the RPC requires while the operation runs'])
    expect(body!.violations).toEqual(['202 has a body; the RPC says a 202 Accepted "should return no response body"'])
    // Complete, for an operation that only answers 202 (Servers_Update at 2025-08-01) and documents no final state: the
    // RPC's 200 or 204, whatever the body.
    expect(check(exchange('GET', RESULT, 200, {}))[0]).toEqual({kind: 'location', against: RPC_ASYNC_REFERENCE, violations: []})
    // Complete, for Configurations_Update (202 only at 2025-08-01, `final-state-schema` Configuration): the body is checked
    // against that final state.
    const config = `${SERVER}/configurations/work_mem`
    const configResult = `${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op3`
    const lro = new LroContract(contractRegistry(), [exchange('PATCH', config, 202, undefined, {Location: `${BASE}${configResult}?${Q}`})])
    const done = lro.check(exchange('GET', configResult, 200, {notAConfiguration: true}))!
    expect(done.against).toMatch(/Configurations\.json \(Configurations_Update final-state-schema\)$/)
    expect(done.violations).toEqual(["as Configurations_Update's final state: (body): property 'notAConfiguration' is not defined by the spec"])
    const [failed, bare] = check(exchange('GET', RESULT, 400, {error: {code: 'Bad', message: 'm'}}), exchange('GET', RESULT, 400, {code: 'Bad'}))
    expect(failed!.violations).toEqual([])
    expect(bare!.violations[0]).toBe("400 is not ARM's {error: {code, message}}")
  })

  it("uses the provider's own status operation where its document defines one (Microsoft.Cache asyncOperations)", () => {
    const path = `${SUB}/providers/Microsoft.Cache/locations/eastus/asyncOperations/op2`
    const [poll] = check(exchange('GET', path, 200, {id: path, name: 'op2', status: 'Succeeded', startTime: 't', endTime: 't', percentComplete: 100}, {}, 'api-version=2024-11-01'))
    expect(poll!.against).toMatch(/^specification\/redis\//)
  })

  it('is not a poll: the operation itself, or a non-GET', () => {
    const lro = new LroContract(contractRegistry(), [started])
    expect(lro.check(started)).toBeUndefined()
    expect(lro.kind({method: 'DELETE', path: RESULT})).toBeUndefined()
  })

  it('counts the polls in the contract report and reports their violations', () => {
    const summary = summarize(contractRegistry(), [started, status({id: STATUS, name: 'op1', status: 'Failed'}), exchange('GET', RESULT, 202, undefined, {Location: 'x'})])
    expect(summary.lroPolls).toMatchObject({status: 1, location: 1, byRpc: 1, byOriginOperation: 1})
    expect(summary.text).toMatch(/2 long-running operation polls validated \(1 Azure-AsyncOperation, 1 Location\)/)
    expect(summary.violations.map((v) => [v.operationId, v.message])).toEqual([['LRO Azure-AsyncOperation poll', "(body): must have required property 'error'"]])
  })
})
