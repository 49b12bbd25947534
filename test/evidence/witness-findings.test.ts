/**
 * Issue 16: the Activity Log witness (src/evidence/witness.ts) on journals built here, against Activity Logs built
 * here: what resumed idempotent steps found (sql.delete / cosmos.delete `gone`, failover.restore `not-switched`, a
 * teardown's `nothing-to-do`), the event sequences Azure records for one write, and how many queries verify makes.
 * The end-to-end cases (a real drill against the emulator, forged segments, the CLI) are in witness.test.ts.
 */
import {randomUUID} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {findAction, listActions} from '../../src/actions/registry.js'
import {resolveResource} from '../../src/actions/resolve.js'
import {parseCatalog} from '../../src/catalog/loader.js'
import {planContext} from '../../src/runbooks/plan.js'
import {ACTIVITY_LOG_CONCURRENCY, ACTIVITY_LOG_LISTING_DELAY_MS, activityLogReader, ActivityLogUnreadable, witnessJournal, type ActivityEvent, type ActivityLogReader} from '../../src/evidence/witness.js'

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString()
const now = new Date(Date.UTC(2026, 11, 2))
const sub = '/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups'
const journal = (events: Array<[string, string | null, Record<string, unknown>]>) =>
  events.map(([type, step, data], i) => JSON.stringify({seq: i + 1, ts: at(i), runId: 'r', type, step, data, prev: ''})).join('\n') + '\n'
const event = (resourceId: string, operationName: string, second: number, status = 'Succeeded', correlationId: string = randomUUID()): ActivityEvent => ({
  correlationId,
  resourceId,
  operationName,
  status,
  eventTimestamp: at(second),
  caller: 'someone@example.com',
})
/** A reader over a fixed log, counting its queries (what verify would send to Azure). */
function log(events: ActivityEvent[]) {
  const calls = {group: 0, correlation: 0, active: 0, most: 0}
  const reader: ActivityLogReader = {
    byCorrelationId: async (id) => {
      calls.correlation++
      return events.filter((e) => e.correlationId === id)
    },
    byResourceGroup: async (group) => {
      calls.group++
      calls.active++
      calls.most = Math.max(calls.most, calls.active)
      // Answered on a later turn, so queries started together overlap.
      await new Promise((resolve) => setImmediate(resolve))
      calls.active--
      return events.filter((e) => e.resourceId.toLowerCase().startsWith(`${sub}/${group}/`.toLowerCase()))
    },
  }
  return {reader, calls}
}
// The registry's declarations, as evidence verify passes them.
const armWrites = new Map(listActions().map((a) => [a.name, a.armWrites ?? ('always' as const)]))

describe('the action registry', () => {
  it('declares the idempotent deletes and the fail-back as writing only when needed', () => {
    for (const name of ['sql.delete', 'cosmos.delete', 'failover.restore', 'drill.teardown', 'postgres.delete']) expect(armWrites.get(name), name).toBe('when-needed')
  })
})

describe('a resumed idempotent step that made no ARM write, judged by what it found', () => {
  const scratch = `${sub}/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-drill-r`
  const plan = [
    {id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: []},
    {id: 'teardown', uses: 'drill.teardown', phase: 'finally', changes: true, needs: []},
    {id: 'drop-copy', uses: 'sql.delete', phase: 'finally', changes: true, needs: []},
    {id: 'fail-back', uses: 'failover.restore', phase: 'finally', changes: true, needs: []},
  ]
  /** Segment 1 restored `pg-drill-r` (a PUT ARM accepted) and was interrupted; the resume's `step` found `found`. */
  const resumed = (step: string, found: unknown[], options: {restoreCorrelation?: string; leftBehind?: string[]; outputs?: Record<string, unknown>; switched?: string[]} = {}) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [{method: 'PUT', resourceId: scratch, operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write', status: 202, correlationId: options.restoreCorrelation ?? randomUUID(), at: at(2)},
        // Endpoints the run switched (journaled with segment 1's step here), for the fail-back's router.
        ...(options.switched ?? []).map((resourceId) => ({method: 'PATCH', resourceId, operation: 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write', status: 200, correlationId: randomUUID(), at: at(2)}))]}],
      ['run.finished', null, {status: 'interrupted', leftBehind: []}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', step, {phase: 'finally'}],
      ['step.succeeded', step, {phase: 'finally', outputs: options.outputs ?? {}, found}],
      ['run.finished', null, {status: 'succeeded', leftBehind: options.leftBehind ?? []}],
    ])
  const judge = async (text: string, step: string, events: ActivityEvent[]) => (await witnessJournal(text, log(events).reader, {now, armWrites})).steps.find((s) => s.step === step)

  it('sql.delete / cosmos.delete "already deleted": witnessed by a delete of the copy, not witnessed when the copy was written after it', async () => {
    const copy = `${sub}/rg/providers/Microsoft.Sql/servers/sv/databases/db-drill-r`
    const text = resumed('drop-copy', [{kind: 'gone', resourceId: copy}], {outputs: {database: 'db-drill-r', deleted: false, alreadyGone: true}})
    expect(await judge(text, 'drop-copy', [event(copy, 'Microsoft.Sql/servers/databases/write', 1), event(copy, 'Microsoft.Sql/servers/databases/delete', 3)])).toMatchObject({
      verdict: 'witnessed',
      reason: expect.stringMatching(/db-drill-r already deleted/),
    })
    expect(await judge(text, 'drop-copy', [event(copy, 'Microsoft.Sql/servers/databases/delete', 1), event(copy, 'Microsoft.Sql/servers/databases/write', 3)])).toMatchObject({verdict: 'not-witnessed'})
    // A delete Azure recorded as Failed (Accepted, then Failed: same correlation id) deleted nothing.
    const id = randomUUID()
    expect(
      await judge(text, 'drop-copy', [event(copy, 'Microsoft.Sql/servers/databases/write', 1), event(copy, 'Microsoft.Sql/servers/databases/delete', 3, 'Accepted', id), event(copy, 'Microsoft.Sql/servers/databases/delete', 4, 'Failed', id)]),
    ).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/last event for it is a databases\/write/)})
  })

  it('failover.restore "nothing switched": witnessed when every endpoint was switched and put back (or never), not witnessed when one is left switched', async () => {
    const router = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm`
    const text = resumed('fail-back', [{kind: 'not-switched', resourceId: router}], {outputs: {router: 'tm', restored: []}})
    const ep = (name: string, second: number) => event(`${router}/azureEndpoints/${name}`, 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write', second)
    expect(await judge(text, 'fail-back', [])).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/no endpoint or origin of it written/)})
    // Written an even number of times: the count says writes were made, not what they set — without the endpoints'
    // state (the journal records no switch's "before" here, and this reader cannot read state) it is not checkable.
    expect(await judge(text, 'fail-back', [ep('east', 1), ep('west', 1), ep('west', 3), ep('east', 3)])).toMatchObject({
      verdict: 'not-checkable',
      reason: expect.stringMatching(/east \(written 2 times in the run's window\): no switch of the run's first segment records its state before, and the Activity Log records that it was written, not what was written/),
    })
    expect(await judge(text, 'fail-back', [ep('east', 1), ep('west', 1), ep('west', 3)])).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/east written 1 time\(s\).*an odd number leaves it switched/),
    })
  })

  it('failover.restore "nothing switched" right after the run: not yet witnessable in Azure (a fresh write may not be listed), said with when to retry', async () => {
    // Issue 16: the check relies on the Activity Log listing the fail-back's writes (and any since); Azure lists a write
    // minutes after it is made (ACTIVITY_LOG_LISTING_DELAY_MS). The fail-back's second write to east not listed yet
    // read as "left switched" — a false answer.
    const router = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm`
    const text = resumed('fail-back', [{kind: 'not-switched', resourceId: router}], {outputs: {router: 'tm', restored: []}})
    const listed = [event(`${router}/azureEndpoints/east`, 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write', 1)]
    const azure = {...log(listed).reader, listingDelayMs: ACTIVITY_LOG_LISTING_DELAY_MS}
    const runEnd = Date.parse(at(7))
    const soon = await witnessJournal(text, azure, {now: new Date(runEnd + 10 * 60_000), armWrites})
    expect(soon.steps.find((x) => x.step === 'fail-back')).toMatchObject({
      verdict: 'not-checkable',
      reason: expect.stringMatching(/nothing of tm left switched: not yet witnessable — Azure's Activity Log may list a write up to 20 minutes after it is made, and the run's window \(its last line, plus the clock skew allowed\) ends at 2026-12-01T10:05:07\.000Z; retry after 2026-12-01T10:25:07\.000Z \(in 15 minutes\)/),
    })
    // Past the delay the log is taken as complete for the run's window: judged as before.
    const later = await witnessJournal(text, azure, {now: new Date(runEnd + 25 * 60_000), armWrites})
    expect(later.steps.find((x) => x.step === 'fail-back')).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/an odd number leaves it switched/)})
    // The reader verify builds: Azure's has the delay, the emulator's (which lists a write as it accepts it) none.
    const monitor = async () => ({}) as never
    expect(activityLogReader({monitor}).listingDelayMs).toBe(ACTIVITY_LOG_LISTING_DELAY_MS)
    expect(activityLogReader({monitor, target: 'emulator'}).listingDelayMs).toBe(0)
  })

  it('failover.restore "nothing switched" in a journal whose last line is dated in the future: not witnessed, not "not yet witnessable" for ever', async () => {
    // The run's window is capped at now, so a forged end date made every verify fall "within 20 minutes of the run's
    // end": not checkable (exit 0 with --witness auto) at any time, instead of the "left switched" the log shows.
    const router = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm`
    const lines = resumed('fail-back', [{kind: 'not-switched', resourceId: router}], {outputs: {router: 'tm', restored: []}}).trim().split('\n').map((l) => JSON.parse(l))
    const listed = [event(`${router}/azureEndpoints/east`, 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write', 1)]
    const azure = {...log(listed).reader, listingDelayMs: ACTIVITY_LOG_LISTING_DELAY_MS}
    const runEnd = Date.parse(at(7))
    for (const later of [25 * 60_000, 30 * 86_400_000]) {
      const verifiedAt = new Date(runEnd + later)
      lines.at(-1).ts = new Date(verifiedAt.getTime() + 365 * 86_400_000).toISOString()
      const forged = lines.map((l) => JSON.stringify(l)).join('\n') + '\n'
      const verdict = (await witnessJournal(forged, azure, {now: verifiedAt, armWrites})).steps.find((x) => x.step === 'fail-back')
      expect(verdict, `verified ${later / 60_000} minutes after`).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/nothing of tm left switched, but the run's last line is dated .*, after now .* by more than the clock skew allowed/)})
      expect(verdict!.reason).not.toMatch(/not yet witnessable/)
    }
    // A last line a little ahead of the verifier's clock (within the skew allowed) is still only "not yet".
    lines.at(-1).ts = new Date(runEnd + 60_000).toISOString()
    const skewed = lines.map((l) => JSON.stringify(l)).join('\n') + '\n'
    expect((await witnessJournal(skewed, azure, {now: new Date(runEnd), armWrites})).steps.find((x) => x.step === 'fail-back')).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/not yet witnessable/)})
  })

  it('"nothing to do": not witnessed while a copy the run made still stands (the forgery), witnessed once every copy was deleted', async () => {
    const nothing = [{kind: 'nothing-to-do', what: 'a webapp drill leaves no scratch resources'}]
    const restored = event(scratch, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 2)
    // A run that crashed before its teardown left pg-drill-r; a forged resume says the teardown had nothing to do.
    expect(await judge(resumed('teardown', nothing), 'teardown', [restored])).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/pg-drill-r, a copy this run made, was not deleted .*"nothing to do" cannot be told from a teardown that skipped it/),
    })
    expect(await judge(resumed('teardown', nothing), 'teardown', [restored, event(scratch, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 6)])).toMatchObject({
      verdict: 'witnessed',
      reason: expect.stringMatching(/every copy the run made was deleted: pg-drill-r/),
    })
    // The run itself says a teardown left it behind: not the web app teardown's claim to answer for.
    expect(await judge(resumed('teardown', nothing, {leftBehind: ['teardown: PostgreSQL server pg-drill-r was not deleted']}), 'teardown', [restored])).toMatchObject({verdict: 'witnessed'})
    // The log has nothing of the copy: it cannot tell.
    expect(await judge(resumed('teardown', nothing), 'teardown', [])).toMatchObject({verdict: 'not-checkable', reason: expect.stringMatching(/pg-drill-r: no write or delete of it/)})
  })

  it('"already deleted" about another resource than the step\'s own copy is not witnessed, though that resource was deleted in the window', async () => {
    const copy = `${sub}/rg/providers/Microsoft.Sql/servers/sv/databases/db-drill-r`
    const other = `${sub}/rg/providers/Microsoft.Sql/servers/sv/databases/orders-archive`
    // The step's own copy still stands (created, never deleted); another database was deleted in the run's window.
    const log = [event(copy, 'Microsoft.Sql/servers/databases/write', 1), event(other, 'Microsoft.Sql/servers/databases/delete', 3)]
    const pointAt = (resourceId: string, database: string) => resumed('drop-copy', [{kind: 'gone', resourceId}], {outputs: {database, deleted: false, alreadyGone: true}})
    expect(await judge(pointAt(other, 'orders-archive'), 'drop-copy', log)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/not about the resource it acted on: .*orders-archive is not a copy this run made/)})
    // A copy the run made, but of another kind than sql.delete deletes (the drill's PostgreSQL server, deleted).
    const pgDeleted = [...log, event(scratch, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 4)]
    expect(await judge(pointAt(scratch, 'pg-drill-r'), 'drop-copy', pgDeleted)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/pg-drill-r is not the kind of resource sql\.delete deletes/)})
    // A resource the step's own inputs and outputs do not name.
    const unnamed = resumed('drop-copy', [{kind: 'gone', resourceId: copy}], {outputs: {database: 'db-other-r'}})
    expect(await judge(unnamed, 'drop-copy', [event(copy, 'Microsoft.Sql/servers/databases/delete', 3)])).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/db-drill-r is not named by the step's own inputs or outputs/)})
  })

  it('"nothing switched" about another router than the one the run switched is not witnessed', async () => {
    const router = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm`
    const other = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm-lab`
    const east = `${router}/azureEndpoints/east`
    // The run switched tm's east endpoint and never put it back; the fail-back says tm-lab had nothing switched.
    const text = resumed('fail-back', [{kind: 'not-switched', resourceId: other}], {outputs: {router: 'tm-lab', restored: []}, switched: [east]})
    expect(await judge(text, 'fail-back', [event(east, 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write', 2)])).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/records its writes to tm, not to tm-lab/),
    })
  })
})

describe('what the run\'s first plan names as a step\'s target', () => {
  // Two components' copies of the same kind (a drill of two databases): each teardown's target is in the first plan.
  const server = `${sub}/rg/providers/Microsoft.Sql/servers/sv/databases`
  const copyA = `${server}/orders-drill-r`
  const copyB = `${server}/billing-drill-r`
  const plan = [
    {id: 'pitr[orders]', uses: 'runbook:sql-pitr', phase: 'main', changes: false, needs: []},
    {id: 'pitr[orders].restore', uses: 'sql.restore', phase: 'main', changes: true, needs: [], parent: 'pitr[orders]'},
    {id: 'pitr[orders].teardown', uses: 'sql.delete', phase: 'finally', changes: true, needs: [], parent: 'pitr[orders]', targets: [copyA]},
    {id: 'pitr[billing]', uses: 'runbook:sql-pitr', phase: 'main', changes: false, needs: []},
    {id: 'pitr[billing].restore', uses: 'sql.restore', phase: 'main', changes: true, needs: [], parent: 'pitr[billing]'},
    {id: 'pitr[billing].teardown', uses: 'sql.delete', phase: 'finally', changes: true, needs: [], parent: 'pitr[billing]', targets: [copyB]},
  ]
  const write = (method: string, resourceId: string, verb: string, second: number) => ({method, resourceId, operation: `Microsoft.Sql/servers/databases/${verb}`, status: 202, correlationId: randomUUID(), at: at(second)})
  const restoreA = write('PUT', copyA, 'write', 2)
  const restoreB = write('PUT', copyB, 'write', 4)
  const deleteB = write('DELETE', copyB, 'delete', 6)
  /** Segment 1 made both copies and deleted billing's, then was cut off; segment 2's orders teardown says `gone` about `copy`. */
  const text = (copy: string) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'pitr[orders].restore', {phase: 'main'}],
      ['step.succeeded', 'pitr[orders].restore', {phase: 'main', outputs: {database: 'orders-drill-r'}, arm: [restoreA]}],
      ['step.started', 'pitr[billing].restore', {phase: 'main'}],
      ['step.succeeded', 'pitr[billing].restore', {phase: 'main', outputs: {database: 'billing-drill-r'}, arm: [restoreB]}],
      ['step.started', 'pitr[billing].teardown', {phase: 'finally'}],
      ['step.succeeded', 'pitr[billing].teardown', {phase: 'finally', outputs: {database: 'billing-drill-r', deleted: true, alreadyGone: false}, arm: [deleteB]}],
      ['run.finished', null, {status: 'interrupted', leftBehind: []}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', 'pitr[orders].teardown', {phase: 'finally', inputs: {database: copy.split('/').at(-1)}}],
      ['step.succeeded', 'pitr[orders].teardown', {phase: 'finally', outputs: {database: copy.split('/').at(-1), deleted: false, alreadyGone: true}, found: [{kind: 'gone', resourceId: copy}]}],
      ['run.finished', null, {status: 'succeeded', leftBehind: []}],
    ])
  const events = (...writes: Array<ReturnType<typeof write>>) => writes.map((w) => event(w.resourceId, w.operation, Number(w.at.slice(17, 19)), 'Succeeded', w.correlationId))

  it('a forged teardown pointing at the run\'s other copy of the same kind (deleted while its own still stands) is not witnessed', async () => {
    const report = await witnessJournal(text(copyB), log(events(restoreA, restoreB, deleteB)).reader, {now, armWrites})
    expect(report.steps.find((s) => s.step === 'pitr[orders].teardown')).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/billing-drill-r is not the target the run's first plan gives the step \(orders-drill-r\)/),
    })
    // Its own copy, deleted (by the cut-off attempt or a colleague): witnessed.
    const deleteA = write('DELETE', copyA, 'delete', 7)
    const own = await witnessJournal(text(copyA), log(events(restoreA, restoreB, deleteB, deleteA)).reader, {now, armWrites})
    expect(own.steps.find((s) => s.step === 'pitr[orders].teardown')).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/orders-drill-r already deleted/)})
  })
})

describe('a fail-back\'s "nothing switched" over endpoints written an even number of times', () => {
  const router = `${sub}/rg/providers/Microsoft.Network/trafficmanagerprofiles/tm`
  const east = `${router}/azureEndpoints/east`
  const west = `${router}/azureEndpoints/west`
  const op = 'Microsoft.Network/trafficmanagerprofiles/azureEndpoints/write'
  const plan = [
    {id: 'switch', uses: 'failover.switch', phase: 'main', changes: true, needs: []},
    {id: 'fail-back', uses: 'failover.restore', phase: 'finally', changes: true, needs: [], targets: [router]},
  ]
  const patch = (resourceId: string) => ({method: 'PATCH', resourceId, operation: op, status: 200, correlationId: randomUUID(), at: at(2)})
  const switched = [patch(west), patch(east)]
  // Segment 1 switched traffic to west (east enabled → disabled, west disabled → enabled) and was cut off before its
  // fail-back; segment 2's fail-back says nothing was left switched.
  const text = journal([
    ['run.started', null, {steps: plan, armWrites: true}],
    ['step.started', 'switch', {phase: 'main'}],
    ['step.succeeded', 'switch', {phase: 'main', outputs: {router: 'tm', toRegion: 'westus', switchedAt: at(2), changed: [
      {name: 'west', group: 'azureEndpoints', region: 'westus', before: {enabled: false, priority: 2}},
      {name: 'east', group: 'azureEndpoints', region: 'eastus', before: {enabled: true, priority: 1}},
    ]}, arm: switched}],
    ['run.finished', null, {status: 'interrupted', leftBehind: []}],
    ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
    ['step.started', 'fail-back', {phase: 'finally', inputs: {router: 'tm', changed: []}}],
    ['step.succeeded', 'fail-back', {phase: 'finally', outputs: {router: 'tm', restored: []}, found: [{kind: 'not-switched', resourceId: router}]}],
    ['run.finished', null, {status: 'succeeded', leftBehind: []}],
  ])
  // The switch's writes, and a second write of each (what the forger adds with the run's rights, or a real fail-back).
  const writtenTwice = [...switched.map((w) => event(w.resourceId, op, 2, 'Succeeded', w.correlationId)), event(west, op, 5), event(east, op, 5)]
  const withState = (state: Record<string, {enabled: boolean; priority: number}>, later: ActivityEvent[] = []): ActivityLogReader => {
    const {reader} = log([...writtenTwice, ...later])
    return {...reader, routerBackend: async (id) => state[id.split('/').at(-1)!]}
  }

  it('is not witnessed when an endpoint is still as the switch left it (written twice, not put back)', async () => {
    // Today's count alone (even = put back) took this as witnessed: east is still disabled, west still enabled.
    const report = await witnessJournal(text, withState({east: {enabled: false, priority: 1}, west: {enabled: true, priority: 2}}), {now, armWrites})
    expect(report.steps.find((s) => s.step === 'fail-back')).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/east \(written 2 times in the run's window\) is disabled, priority 1, but was enabled, priority 1 before the run's switch, and has not been written since the run ended/),
    })
  })

  it('is witnessed when every endpoint is as before the switch and not written since the run; not checkable when written since', async () => {
    const putBack = {east: {enabled: true, priority: 1}, west: {enabled: false, priority: 2}}
    expect((await witnessJournal(text, withState(putBack), {now, armWrites})).steps.find((s) => s.step === 'fail-back')).toMatchObject({
      verdict: 'witnessed',
      reason: expect.stringMatching(/read through ARM now, not written since the run ended: .*east .*enabled, priority 1 as before the switch/),
    })
    // A write of east after the run: its state now says nothing of its state at the run's end.
    const after = new Date(Date.UTC(2026, 11, 1, 12)).toISOString()
    const later = [{...event(east, op, 0), eventTimestamp: after}]
    expect((await witnessJournal(text, withState(putBack, later), {now, armWrites})).steps.find((s) => s.step === 'fail-back')).toMatchObject({
      verdict: 'not-checkable',
      reason: expect.stringMatching(/east .*written again after the run ended \(at 2026-12-01T12:00:00/),
    })
  })
})

describe('whose events witness a step', () => {
  const plan = [{id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}]
  const resourceId = `${sub}/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-drill-r`
  const operation = 'Microsoft.DBforPostgreSQL/flexibleServers/write'
  const correlationId = randomUUID()
  const principal = {caller: 'ops-runner', objectId: '6f1c0d2e-1111-4222-8333-944455556666'}
  const text = (segment2?: {principal?: {caller: string; objectId?: string}}) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true, principal}],
      ...(segment2
        ? ([
            ['run.finished', null, {status: 'interrupted', leftBehind: []}],
            ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r', ...(segment2.principal ? {principal: segment2.principal} : {})}],
          ] as Array<[string, string | null, Record<string, unknown>]>)
        : []),
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [{method: 'PUT', resourceId, operation, status: 202, correlationId, at: at(3)}]}],
    ])
  const by = (caller: string, claims?: Record<string, string>) => [{...event(resourceId, operation, 4, 'Accepted', correlationId), caller, ...(claims ? {claims} : {})}]

  it('an event of the write made by another caller than the run\'s principal does not witness the step; the run\'s own caller (or object id) does', async () => {
    expect((await witnessJournal(text(), log(by('mallory@contoso.com')).reader, {now})).steps[0]).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/recorded it as made by mallory@contoso\.com, not by the run's principal ops-runner/),
    })
    expect((await witnessJournal(text(), log(by('ops-runner')).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed', callers: ['ops-runner']})
    // A service principal's event may name it by object id: the caller, or the claims' object identifier.
    expect((await witnessJournal(text(), log(by(principal.objectId)).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
    expect((await witnessJournal(text(), log(by('app', {'http://schemas.microsoft.com/identity/claims/objectidentifier': principal.objectId})).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
  })

  it('a resumed segment is judged by its own principal; one that records none by the principals the run records', async () => {
    const colleague = {caller: 'colleague@contoso.com'}
    expect((await witnessJournal(text({principal: colleague}), log(by('colleague@contoso.com')).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
    expect((await witnessJournal(text({principal: colleague}), log(by('ops-runner')).reader, {now})).steps[0]).toMatchObject({verdict: 'not-witnessed'})
    // A segment that leaves its principal out cannot escape the check.
    expect((await witnessJournal(text({}), log(by('mallory@contoso.com')).reader, {now})).steps[0]).toMatchObject({verdict: 'not-witnessed'})
  })
})

describe('the events Azure records for one write, and how verify reads them', () => {
  const plan = [{id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}]
  const write = (group: string, n: number, correlationId: string) => ({
    method: 'PUT',
    resourceId: `${sub}/${group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/s${n}`,
    operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write',
    status: 202,
    correlationId,
    at: at(1),
  })
  const oneStep = (writes: ReturnType<typeof write>[], failed = false) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      [failed ? 'step.failed' : 'step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: writes}],
    ])

  it('witnesses a long-running write from Started, Accepted and the later Succeeded; a write Azure recorded Failed is not what a succeeded step made', async () => {
    const id = randomUUID()
    const w = write('rg', 1, id)
    const started = event(w.resourceId, w.operation, 1, 'Started', id)
    const accepted = event(w.resourceId, w.operation, 1, 'Accepted', id)
    const text = oneStep([w])
    expect((await witnessJournal(text, log([started, accepted, event(w.resourceId, w.operation, 3, 'Succeeded', id)]).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
    // Only a Started event: ARM never answered that it took the write.
    expect((await witnessJournal(text, log([started]).reader, {now})).steps[0]).toMatchObject({verdict: 'not-witnessed'})
    const failedLater = [started, accepted, event(w.resourceId, w.operation, 3, 'Failed', id)]
    expect((await witnessJournal(text, log(failedLater).reader, {now})).steps[0]).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/recorded the operation Failed .* yet the step succeeded/)})
    // The action retried the failed operation with a new write in the same step, which succeeded: witnessed.
    const retry = write('rg', 1, randomUUID())
    const retried = [...failedLater, event(retry.resourceId, retry.operation, 4, 'Accepted', retry.correlationId), event(retry.resourceId, retry.operation, 5, 'Succeeded', retry.correlationId)]
    expect((await witnessJournal(oneStep([w, retry]), log(retried).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
    // A step that failed: its accepted write is witnessed, the failure is what it reports.
    expect((await witnessJournal(oneStep([w], true), log(failedLater).reader, {now})).steps[0]).toMatchObject({verdict: 'witnessed'})
  })

  it('does not excuse a Failed write as retried by a later write that, like it, names no operation', async () => {
    const first = {...write('rg', 1, randomUUID()), operation: undefined}
    const second = {...write('rg', 1, randomUUID()), operation: undefined}
    const events = [event(first.resourceId, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 1, 'Accepted', first.correlationId), event(first.resourceId, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 2, 'Failed', first.correlationId), event(second.resourceId, 'Microsoft.DBforPostgreSQL/flexibleServers/write', 2, 'Succeeded', second.correlationId)]
    expect((await witnessJournal(oneStep([first, second] as never), log(events).reader, {now})).steps[0]).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/recorded the operation Failed .* yet the step succeeded/)})
  })

  it('a read that fails on one resource group (a 5xx) leaves only the steps that needed it not checkable; no access or no answer, every step', async () => {
    // What the reader makes of the SDK's failures: an answer with a status is about that query; none at all is global.
    const failing = (error: Error) => activityLogReader({monitor: async () => Promise.reject(error)})
    const from = new Date(at(0))
    await expect(failing(Object.assign(new Error('Service Unavailable'), {statusCode: 503})).byResourceGroup!('rg', from, now)).rejects.toMatchObject({global: false})
    await expect(failing(Object.assign(new Error('Forbidden'), {statusCode: 403})).byResourceGroup!('rg', from, now)).rejects.toMatchObject({global: true, permission: true})
    await expect(failing(new Error('connect ECONNREFUSED 127.0.0.1:9')).byResourceGroup!('rg', from, now)).rejects.toMatchObject({global: true})
    const plan2 = [...plan, {id: 'second', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}]
    const a = write('rg-busy', 1, randomUUID())
    const b = write('rg', 2, randomUUID())
    const text = journal([
      ['run.started', null, {steps: plan2, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [a]}],
      ['step.started', 'second', {phase: 'main'}],
      ['step.succeeded', 'second', {phase: 'main', outputs: {}, arm: [{...b, at: at(3)}]}],
    ])
    const {reader} = log([event(b.resourceId, b.operation, 3, 'Succeeded', b.correlationId)])
    const unavailable = failing(Object.assign(new Error('Service Unavailable'), {statusCode: 503}))
    const report = await witnessJournal(text, {...reader, byResourceGroup: (group, f, t) => (group === 'rg-busy' ? unavailable.byResourceGroup!(group, f, t) : reader.byResourceGroup!(group, f, t))}, {now})
    expect(report.steps).toEqual([
      expect.objectContaining({step: 'restore', verdict: 'not-checkable', reason: expect.stringMatching(/could not be read: Service Unavailable/)}),
      expect.objectContaining({step: 'second', verdict: 'witnessed'}),
    ])
    expect(report.unreadable).toBeUndefined()
    // No right to read the log: every step, said once.
    const refused = await witnessJournal(text, {...reader, byResourceGroup: async () => Promise.reject(new ActivityLogUnreadable('may not read the Activity Log (403)', true))}, {now})
    expect(refused.steps.map((s) => s.verdict)).toEqual(['not-checkable', 'not-checkable'])
    expect(refused.unreadable).toMatchObject({permission: true})
  })

  it('reads a write made in another subscription in that subscription\'s Activity Log; a refusal there leaves only that step not checkable', async () => {
    const home = 'aaaaaaaa-0000-4000-8000-000000000001'
    const other = 'bbbbbbbb-0000-4000-8000-000000000002'
    const inSub = (subscription: string, n: number) => ({...write('rg', n, randomUUID()), resourceId: `/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s${n}`})
    const a = inSub(home, 1)
    const b = {...inSub(other, 2), at: at(3)}
    const plan2 = [...plan, {id: 'second', uses: 'postgres.restore', phase: 'main', changes: true, needs: []}]
    const text = journal([
      ['run.started', null, {steps: plan2, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {}, arm: [a]}],
      ['step.started', 'second', {phase: 'main'}],
      ['step.succeeded', 'second', {phase: 'main', outputs: {}, arm: [b]}],
    ])
    // Each subscription's log holds its own writes only (ARM's Activity Log is the subscription's).
    const logs: Record<string, ActivityEvent[]> = {[home]: [event(a.resourceId, a.operation, 1, 'Succeeded', a.correlationId)], [other]: [event(b.resourceId, b.operation, 3, 'Succeeded', b.correlationId)]}
    const asked: Array<string | undefined> = []
    const reader = (): ActivityLogReader => ({
      byCorrelationId: async () => [],
      byResourceGroup: async (_group, _from, _to, subscription) => {
        asked.push(subscription)
        return logs[subscription ?? home] ?? []
      },
    })
    expect((await witnessJournal(text, reader(), {now})).steps.map((s) => s.verdict)).toEqual(['witnessed', 'witnessed'])
    expect(new Set(asked)).toEqual(new Set([home, other]))
    // A subscription the verifier cannot read (opsbook's catalog puts every component in the environment's): that
    // step's write is not witnessed — a forged write named there must not pass as "not checkable" — and no other step suffers.
    const refusing = (subscription: string): ActivityLogReader => ({
      byCorrelationId: async () => [],
      byResourceGroup: async (_group, _from, _to, asked) => {
        if (asked === subscription) throw new ActivityLogUnreadable(`the signed-in identity may not read the Activity Log of subscription ${subscription} (403)`, true, false, subscription)
        return logs[asked ?? home] ?? []
      },
    })
    const refused = await witnessJournal(text, refusing(other), {now})
    expect(refused.steps).toEqual([expect.objectContaining({step: 'restore', verdict: 'witnessed'}), expect.objectContaining({step: 'second', verdict: 'not-witnessed', reason: expect.stringMatching(/in subscription bbbbbbbb.*, not the environment's, whose Activity Log could not be read/)})])
    expect(refused.unreadable).toBeUndefined()
    // What the reader makes of a refusal from another subscription than the environment's: about that query only.
    const foreign = activityLogReader({subscription: home, monitor: async () => Promise.reject(Object.assign(new Error('Forbidden'), {statusCode: 403}))})
    await expect(foreign.byResourceGroup!('rg', new Date(at(0)), now, other)).rejects.toMatchObject({global: false, foreignSubscription: other, message: expect.stringMatching(/of subscription bbbbbbbb/)})
    await expect(foreign.byResourceGroup!('rg', new Date(at(0)), now, home)).rejects.toMatchObject({global: true})
  })

  it('reads each resource group once for the whole run (matching writes locally), at most a few queries at a time', async () => {
    const groups = Array.from({length: 10}, (_, i) => `rg${i}`)
    const writes = groups.flatMap((g, i) => [write(g, i * 3, randomUUID()), write(g, i * 3 + 1, randomUUID()), write(g, i * 3 + 2, randomUUID())])
    const events = writes.flatMap((w) => [event(w.resourceId, w.operation, 1, 'Started', w.correlationId), event(w.resourceId, w.operation, 1, 'Accepted', w.correlationId)])
    const {reader, calls} = log(events)
    const report = await witnessJournal(oneStep(writes), reader, {now})
    expect(report.steps).toEqual([expect.objectContaining({verdict: 'witnessed', writes: 30})])
    // 30 writes in 10 resource groups: 10 queries, not 30; never more than ACTIVITY_LOG_CONCURRENCY at once.
    expect(calls).toMatchObject({group: 10, correlation: 0})
    expect(calls.most).toBeGreaterThan(1)
    expect(calls.most).toBeLessThanOrEqual(ACTIVITY_LOG_CONCURRENCY)
  })
})

describe('a resumed swap teardown\'s finding about another app than its own', () => {
  it('the swap teardowns name their app as their target, as their findings name it (what the first plan journals)', () => {
    const catalogFile = join(import.meta.dirname, '..', '..', 'runbooks.yaml')
    const environment = parseCatalog(catalogFile, readFileSync(catalogFile, 'utf8')).catalog.environments.local!
    const context = {...planContext(environment, 'local'), runId: 'slot-swap-20261201-abc123'}
    const storefront = resolveResource(environment, 'webapp', 'storefront').id
    expect(findAction('drill.restoreProduction')?.targets?.({app: 'storefront', slot: 'staging', settle: 'PT30M'}, context)).toEqual([storefront])
    expect(findAction('webapp.resetSwap')?.targets?.({app: 'storefront'}, context)).toEqual([storefront])
  })

  // The run's app, as its first plan names each swap teardown's target; `other` is an app the run never touched.
  const site = (name: string) => `${sub}/rg/providers/Microsoft.Web/sites/${name}`
  const app = site('shop')
  const other = site('blog')
  const plan = [
    {id: 'swap', uses: 'webapp.swap', phase: 'main', changes: true, needs: []},
    {id: 'restore-production', uses: 'drill.restoreProduction', phase: 'finally', changes: true, needs: [], targets: [app]},
    {id: 'reset-swap', uses: 'webapp.resetSwap', phase: 'finally', changes: true, needs: [], targets: [app]},
  ]
  const swapWrite = {method: 'POST', resourceId: `${app}/slots/staging`, operation: 'Microsoft.Web/sites/slots/slotsswap/action', status: 202, correlationId: randomUUID(), at: at(2)}
  const prepare = {method: 'POST', resourceId: `${app}/slots/staging`, operation: 'Microsoft.Web/sites/slots/applySlotConfig/action', status: 200, correlationId: randomUUID(), at: at(2)}
  /** Segment 1 swapped the run's app (and prepared a swap with preview) and was cut off; a forged segment 2's `step` names `about`. */
  const text = (step: string, kind: string, about: string) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'swap', {phase: 'main'}],
      ['step.succeeded', 'swap', {phase: 'main', outputs: {app: 'shop'}, arm: [swapWrite, prepare]}],
      ['run.finished', null, {status: 'interrupted', leftBehind: []}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', step, {phase: 'finally', inputs: {app: about.split('/').at(-1)}}],
      ['step.succeeded', step, {phase: 'finally', outputs: {app: about.split('/').at(-1), swappedBack: false, wasPrepared: false}, found: [{kind, resourceId: about}]}],
      ['run.finished', null, {status: 'succeeded', leftBehind: []}],
    ])
  // What Azure recorded: the one swap of the run's app (an odd number: production left on the staging build) and its
  // preview prepared and never reset.
  const recorded = [event(swapWrite.resourceId, swapWrite.operation, 2, 'Succeeded', swapWrite.correlationId), event(prepare.resourceId, prepare.operation, 2, 'Succeeded', prepare.correlationId)]
  const judged = async (step: string, kind: string, about: string) => (await witnessJournal(text(step, kind, about), log(recorded).reader, {now, armWrites})).steps.find((s) => s.step === step)

  it('"production swapped back" about an app the run never swapped is not witnessed; about its own app, the odd swap contradicts it', async () => {
    expect(await judged('restore-production', 'swapped-back', other)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/blog is not the target the run's first plan gives the step \(shop\)/)})
    expect(await judged('restore-production', 'swapped-back', app)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/1 swap\(s\) in the run's window/)})
  })

  it('"no swap with preview pending" about another app is not witnessed; about its own app, the unreset preview contradicts it', async () => {
    expect(await judged('reset-swap', 'no-preview', other)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/blog is not the target the run's first plan gives the step \(shop\)/)})
    expect(await judged('reset-swap', 'no-preview', app)).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/applySlotConfig .* with no reset or swap after it/)})
  })
})

describe('a resumed idempotent teardown after a segment that cut its attempt off', () => {
  // Segment 1 restored the run's copy and was interrupted before its teardown. Segment 2 — as a forger appends it, and
  // as a crash leaves it — started the teardown and ended there. Segment 3's teardown made no ARM write.
  const copy = `${sub}/rg/providers/Microsoft.Sql/servers/sv/databases/db-drill-r`
  const plan = [
    {id: 'restore', uses: 'sql.restore', phase: 'main', changes: true, needs: []},
    {id: 'drop-copy', uses: 'sql.delete', phase: 'finally', changes: true, needs: [], targets: [copy]},
  ]
  const restore = {method: 'PUT', resourceId: copy, operation: 'Microsoft.Sql/servers/databases/write', status: 202, correlationId: randomUUID(), at: at(2)}
  const text = (found?: unknown[]) =>
    journal([
      ['run.started', null, {steps: plan, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {database: 'db-drill-r'}, arm: [restore]}],
      ['run.finished', null, {status: 'interrupted', leftBehind: []}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', 'drop-copy', {phase: 'finally', inputs: {database: 'db-drill-r'}}],
      ['run.started', null, {steps: plan, armWrites: true, resumedFrom: 'r'}],
      ['step.started', 'drop-copy', {phase: 'finally', inputs: {database: 'db-drill-r'}}],
      ['step.succeeded', 'drop-copy', {phase: 'finally', outputs: {database: 'db-drill-r', deleted: false, alreadyGone: true}, ...(found ? {found} : {})}],
      ['run.finished', null, {status: 'succeeded', leftBehind: []}],
    ])
  const created = event(copy, 'Microsoft.Sql/servers/databases/write', 2, 'Succeeded', restore.correlationId)
  const judged = async (found: unknown[] | undefined, events: ActivityEvent[]) => (await witnessJournal(text(found), log(events).reader, {now, armWrites})).steps.find((s) => s.step === 'drop-copy' && s.segment === 3)

  it('is judged by what it found, not excused as "not checkable": the copy still standing is not witnessed', async () => {
    // The copy was never deleted: a cut-off segment (which anyone appending to the journal can write) excused the
    // teardown's claim as not checkable, and `--witness auto` passed it.
    expect(await judged([{kind: 'gone', resourceId: copy}], [created])).toMatchObject({verdict: 'not-witnessed', reason: expect.stringMatching(/db-drill-r "already deleted", but the Activity Log's last event for it is a databases\/write/)})
    // opsbook journals what an idempotent step found whenever it writes nothing: a claim without one is not its.
    expect(await judged(undefined, [created])).toMatchObject({verdict: 'not-witnessed'})
  })

  it('is witnessed when the cut-off attempt (or anyone) deleted the copy', async () => {
    expect(await judged([{kind: 'gone', resourceId: copy}], [created, event(copy, 'Microsoft.Sql/servers/databases/delete', 6)])).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/db-drill-r already deleted/)})
  })
})

describe('a resumed rollback, journaled under its step\'s id', () => {
  // Issue 16: the witness judged a rollback by its step's first-plan entry — the step's action (postgres.restore:
  // `always`, so a rollback that found the copy already gone was "not witnessed") and the step's target (another
  // resource than the one the rollback acts on). The first plan records the rollback's action; its target is the one
  // its own start recorded (read from the step's outputs).
  const pg = `${sub}/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers`
  const copy = `${pg}/pg-pitr-r`
  const other = `${pg}/pg-old-r`
  const restore = {method: 'PUT', resourceId: copy, operation: 'Microsoft.DBforPostgreSQL/flexibleServers/write', status: 202, correlationId: randomUUID(), at: at(2)}
  const created = event(copy, restore.operation, 2, 'Succeeded', restore.correlationId)
  /** Segment 1 restored the copy and failed; its rollback was held back (a lease). Segment 2's rollback found `gone`. */
  const text = (steps: unknown[], found: string, startedTarget = copy) =>
    journal([
      ['run.started', null, {steps, armWrites: true}],
      ['step.started', 'restore', {phase: 'main'}],
      ['step.succeeded', 'restore', {phase: 'main', outputs: {resourceId: copy}, arm: [restore]}],
      ['step.started', 'verify', {phase: 'main'}],
      ['step.failed', 'verify', {phase: 'main', error: {message: 'no'}}],
      ['rollback.started', null, {steps: ['restore']}],
      ['step.skipped', 'restore', {phase: 'rollback', reason: 'not started: run x holds it now', code: 'lease-taken'}],
      ['run.finished', null, {status: 'rollback-failed', leftBehind: ['rollback of step restore']}],
      ['run.started', null, {steps, armWrites: true, resumedFrom: 'r'}],
      ['rollback.started', null, {steps: ['restore']}],
      ['step.started', 'restore', {phase: 'rollback', uses: 'postgres.delete', inputs: {server: found}, targets: [startedTarget]}],
      ['step.succeeded', 'restore', {phase: 'rollback', outputs: {server: found.split('/').at(-1), deleted: false, alreadyGone: true}, found: [{kind: 'gone', resourceId: found}]}],
      ['run.finished', null, {status: 'failed', leftBehind: []}],
    ])
  const rollbackOf = async (journalText: string, events: ActivityEvent[]) => (await witnessJournal(journalText, log(events).reader, {now, armWrites})).steps.find((s) => s.phase === 'rollback')

  it('is judged by its own action: a rollback that found the copy already deleted is witnessed by the delete, not failed as the restore', async () => {
    const plan = [
      {id: 'restore', uses: 'postgres.restore', phase: 'main', changes: true, needs: [], rollback: {uses: 'postgres.delete', changes: true}},
      {id: 'verify', uses: 'postgres.query', phase: 'main', changes: false, needs: ['restore']},
    ]
    const deleted = event(copy, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 9)
    expect(await rollbackOf(text(plan, copy), [created, deleted])).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/pg-pitr-r already deleted/)})
    // Still standing: the same claim is not witnessed.
    expect(await rollbackOf(text(plan, copy), [created])).toMatchObject({verdict: 'not-witnessed'})
  })

  it('is tied to the target its own start recorded, not to the step\'s first-plan target', async () => {
    // A step whose first plan names a target (an idempotent delete of the run's old copy) with a rollback acting on
    // another resource (the copy the step's outputs name).
    const plan = [
      {id: 'restore', uses: 'postgres.delete', phase: 'main', changes: true, needs: [], targets: [other], rollback: {uses: 'postgres.delete', changes: true}},
      {id: 'verify', uses: 'postgres.query', phase: 'main', changes: false, needs: ['restore']},
    ]
    const deletedCopy = event(copy, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 9)
    const deletedOther = event(other, 'Microsoft.DBforPostgreSQL/flexibleServers/delete', 1)
    // Its own target, deleted: witnessed (was: "not the target the run's first plan gives the step (pg-old-r)").
    expect(await rollbackOf(text(plan, copy), [created, deletedOther, deletedCopy])).toMatchObject({verdict: 'witnessed', reason: expect.stringMatching(/pg-pitr-r already deleted/)})
    // A forged rollback pointing at the step's first-plan target (deleted) while its own copy still stands: not
    // witnessed (was: witnessed, the first-plan target being the one it was held to).
    expect(await rollbackOf(text(plan, other), [created, deletedOther])).toMatchObject({
      verdict: 'not-witnessed',
      reason: expect.stringMatching(/pg-old-r is not the target the step's first start recorded \(pg-pitr-r\)/),
    })
  })
})
