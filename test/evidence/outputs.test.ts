import {describe, expect, it} from 'vitest'
import {describeRun, toRunRow} from '../../src/evidence/export.js'
import {headlineOutputs} from '../../src/evidence/outputs.js'
import {renderRunReportMd} from '../../src/evidence/report-md.js'
import {printRunSummary} from '../../src/ui/run-summary.js'

// Issue 11: "A restore does not say what it restored into": pg-pitr ended with step names only, `runs show` printed
// no outputs, the report omitted them. The on-call engineer must see the new server, its host and the point.
const outputs = {
  server: 'pg-shop-orders-pitr-tr8afc',
  fqdn: 'pg-shop-orders-pitr-tr8afc.postgres.database.azure.com',
  restorePoint: '2026-12-03T08:51:55.000Z',
  sourceDataAsOf: null,
  measurement: {startedAt: '2026-12-03T08:54:02.940Z', notes: []},
}

describe('a run\'s outputs', () => {
  it('are its top-level text, number and boolean values, not the measurement records', () => {
    expect(headlineOutputs(outputs)).toEqual([
      {label: 'server', value: 'pg-shop-orders-pitr-tr8afc'},
      {label: 'fqdn', value: 'pg-shop-orders-pitr-tr8afc.postgres.database.azure.com'},
      {label: 'restorePoint', value: '2026-12-03T08:51:55.000Z'},
    ])
  })

  it('are in the run report of an incident run, and printed when the run ends', () => {
    const summary = JSON.stringify({runId: 'r1', runbook: {name: 'pg-pitr', kind: 'incident'}, environment: 'local', status: 'succeeded', startedAt: '2026-12-03T08:54:02.792Z', outputs})
    const journal = `{"seq":1,"ts":"2026-12-03T08:54:02.792Z","runId":"r1","type":"run.started","step":null,"data":{"runbook":"pg-pitr","kind":"incident","environment":"local"},"prev":"${'0'.repeat(64)}"}\n`
    const report = renderRunReportMd(toRunRow(describeRun('r1', 'local', journal, summary)))
    expect(report).toMatch(/Outputs:\n\n\| Output \| Value \|\n\| --- \| --- \|\n\| server \| pg-shop-orders-pitr-tr8afc \|\n\| fqdn \| pg-shop-orders-pitr-tr8afc\.postgres\.database\.azure\.com \|\n\| restorePoint \| 2026-12-03T08:51:55\.000Z \|/)

    let printed = ''
    const out = {write: (text: string) => (printed += text)} as unknown as NodeJS.WritableStream
    printRunSummary({runId: 'r1', runbook: 'pg-pitr', environment: 'local', status: 'succeeded', exitCode: 0, durationMs: 3400, journal: '/j', outputs, warnings: [], overrides: [], leftBehind: [], steps: []} as never, out)
    expect(printed).toContain('Outputs:\n  server: pg-shop-orders-pitr-tr8afc\n  fqdn: pg-shop-orders-pitr-tr8afc.postgres.database.azure.com\n  restorePoint: 2026-12-03T08:51:55.000Z\n')
  })
})
