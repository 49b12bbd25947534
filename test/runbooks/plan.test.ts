import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildPlan, renderPlan} from '../../src/runbooks/plan.js'
import {ValidationError} from '../../src/errors.js'
import {guardDecision, prepareRun} from '../../src/runbooks/runner.js'
import {BUILT_IN_RUNBOOK_PARAMS} from '../emulator/az-plan-lines.js'
import {repoRoot, scratchDir} from '../helpers/cli.js'

const prepare = (runbook: string, params: Record<string, string> = {}) => prepareRun({runbook, envName: 'local', params, cwd: repoRoot, env: {}})

describe('plan renders what it knows', () => {
  it('says why the window guard does not apply: not a production environment, or a runbook that is not disruptive', async () => {
    const at = new Date('2026-12-03T12:00:00Z')
    const guardLine = async (runbook: string, params: Record<string, string>, cwd: string) => {
      const prepared = await prepareRun({runbook, envName: 'local', params, cwd, env: {}})
      return renderPlan(buildPlan(prepared, {guard: await guardDecision(prepared, at, cwd), now: at})).split('\n').find((l) => l.startsWith('Window guard'))
    }
    const pitr = {server: 'orders-db', restoreTime: new Date(Date.now() - 3_600_000).toISOString()}
    expect(await guardLine('pg-pitr', pitr, repoRoot)).toBe('Window guard: does not apply (local is not a production environment).')
    const production = scratchDir()
    writeFileSync(join(production, 'runbooks.yaml'), readFileSync(join(production, 'runbooks.yaml'), 'utf8').replace('production: false', 'production: true'))
    expect(await guardLine('pg-pitr', pitr, production)).toBe(
      'Window guard: does not apply (pg-pitr is not disruptive: windows and freezes hold back only disruptive runbooks in production).',
    )
  })

  it('asks only for what a call needs with its inputs: a Redis drill\'s teardown deletes a blob, not a PostgreSQL server', async () => {
    const redis = buildPlan(await prepare('redis-restore', {cache: 'sessions-cache', drill: 'true'}))
    expect(redis.steps.find((s) => s.id === 'teardown')?.permissions).toEqual([
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
    ])
    expect(redis.permissions.filter((p) => p.startsWith('Microsoft.DBforPostgreSQL/'))).toEqual([])
    const pg = buildPlan(await prepare('pg-pitr', {server: 'orders-db', restoreTime: new Date(Date.now() - 3_600_000).toISOString(), scratch: 'true', teardown: 'true'}))
    expect(pg.steps.find((s) => s.id === 'teardown')?.permissions).toEqual(['Microsoft.DBforPostgreSQL/flexibleServers/read', 'Microsoft.DBforPostgreSQL/flexibleServers/delete'])
  })

  it('fills in the environment and times from the plan\'s clock instead of placeholders', async () => {
    const now = new Date('2026-12-02T06:00:00Z')
    const redis = buildPlan(await prepare('redis-export', {cache: 'sessions-cache'}), {now})
    const sas = redis.steps.flatMap((s) => s.az).find((line) => line.includes('generate-sas'))
    // Azure's import/export SAS rule (actions/redis.ts): it ends at least 1 h ahead and starts at least 15 min back, with 5 min to spare.
    expect(sas).toContain('--start 2026-12-02T05:40Z --expiry 2026-12-02T07:05Z')
    const checklist = buildPlan(await prepare('security-checklist'), {now})
    expect(checklist.steps.flatMap((s) => s.az)).toContain('opsbook check --env local --fail-on high')
    const drill = buildPlan(await prepare('dr-drill'), {now})
    // restorePoint defaults to "latest when the restore starts": the plan shows its own clock's instant.
    expect(drill.steps.flatMap((s) => s.az).find((l) => l.includes('flexible-server restore'))).toContain(`--restore-time ${drill.params.restorePoint ?? now.toISOString()}`)
  })

  it('keeps every placeholder shell-safe (no spaces) and says why it could not be rendered', async () => {
    const library = join(repoRoot, 'src', 'runbooks', 'library')
    for (const file of readdirSync(library).filter((f) => f.endsWith('.yaml'))) {
      const name = file.replace(/\.yaml$/, '')
      const plan = buildPlan(await prepare(name, BUILT_IN_RUNBOOK_PARAMS[name]))
      for (const step of plan.steps) {
        for (const line of step.az) {
          expect(line, `${name}/${step.id}`).not.toMatch(/<[^<>]*\s[^<>]*>/)
          for (const placeholder of line.match(/<[^<>\s]+>/g) ?? [])
            expect(step.notes.some((n) => n.startsWith(placeholder)), `${name}/${step.id}: no note for ${placeholder}`).toBe(true)
        }
      }
    }
  })

  it('marks az lines Debian\'s az 2.45 cannot run, with the older equivalent', async () => {
    const plan = buildPlan(await prepare('pg-promote-replica', {replica: 'pg-shop-orders-dr'}))
    const promote = plan.steps.flatMap((s) => s.az).find((l) => l.includes('replica promote'))
    expect(promote).toMatch(/# needs az newer than 2\.45; with az 2\.45: az postgres flexible-server replica stop-replication --resource-group rg-shop-local --name pg-shop-orders-dr/)
  })
})

// `plan pg-promote-replica` printed the replica only as a step input, and without --param replica it exited 2 naming
// no replica at all: the user had to find the names elsewhere. The registry declares which input names a replica.
describe('plan of a replica promotion names the replica and whose it is', () => {
  it('shows the replica promoted, its primary component, server and region', async () => {
    const plan = buildPlan(await prepare('pg-promote-replica', {replica: 'pg-shop-orders-dr'}))
    expect(plan.replicas).toEqual([{step: 'promote', name: 'pg-shop-orders-dr', component: 'orders-db', primary: 'pg-shop-orders', region: 'westus'}])
    expect(renderPlan(plan)).toContain('Replica promoted:\n  pg-shop-orders-dr — read replica of orders-db (server pg-shop-orders, in westus)  (step promote)')
  })

  it('without --param replica, exit 2 lists the replicas the catalog declares', async () => {
    const error = await prepare('pg-promote-replica').then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).message + JSON.stringify((error as ValidationError).problems)).toContain(
      'pass --param replica=… or set OPSBOOK_PARAM_REPLICA, one of: pg-shop-orders-dr (replica of orders-db, server pg-shop-orders, in westus)',
    )
  })

  it('a replica the catalog does not list is named, with where its primary will be read from', async () => {
    const plan = buildPlan(await prepare('pg-promote-replica', {replica: 'pg-adhoc-replica'}))
    expect(renderPlan(plan)).toContain('pg-adhoc-replica — not in the catalog: its primary is read through ARM (sourceServerResourceId) when the run starts')
  })
})

// The plan evaluates `with:` as the run does, and prints it: a catalog value under a sensitive key (a tag `token`)
// read by an expression was printed verbatim — as a value and inside toJSON() — though the run itself redacts it.
describe('plan output and secrets', () => {
  it('redacts what an expression reads under a sensitive key, and credential shapes, in the inputs it shows', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-plan-'))
    const file = join(dir, 'tags.yaml')
    writeFileSync(
      file,
      [
        'name: tags',
        'title: reads tags',
        'kind: checklist',
        'steps:',
        '  - id: a',
        '    uses: core.log',
        "    with: {message: \"t=${{ env.components['orders-db'].tags.token }}\"}",
        '  - id: b',
        '    uses: core.log',
        "    with: {message: \"${{ toJSON(env.components['orders-db'].tags) }}\"}",
        '',
      ].join('\n'),
    )
    const prepared = await prepareRun({runbook: file, envName: 'local', params: {}, cwd: repoRoot, env: {}})
    const tags = (prepared.environment.components['orders-db'] as {tags: Record<string, string>}).tags
    tags.token = 'plainSecretTok9'
    tags.note = 'conn Password=catPw77x;'
    const shown = JSON.stringify(buildPlan(prepared).steps.map((s) => s.inputs))
    expect(shown).not.toContain('plainSecretTok9')
    expect(shown).not.toContain('catPw77x')
    expect(shown).toContain('t=[REDACTED]')
  })
})

// A step shown "NOT RUN with these params" needs no permission (preflight skips it): the plan must not decide that
// from what it cannot see. A secret param is '[REDACTED]' in the plan, whatever its value — empty too.
describe('steps the params rule out', () => {
  it('a condition on a secret param\'s value is not decided up front: the step it guards may run', async () => {
    const {mkdtempSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const file = join(mkdtempSync(join(tmpdir(), 'opsbook-plan-')), 'guarded.yaml')
    writeFileSync(
      file,
      [
        'name: guarded',
        'title: guarded steps',
        'kind: checklist',
        'params:',
        '  sas: {type: secret, required: false}',
        "  mode: {type: string, default: 'quick'}",
        'steps:',
        '  - id: with-sas-token',
        // An emptiness test: the only condition a secret may decide (a comparison would leak it; README, secrets).
        "    if: ${{ params.sas == '' }}",
        '    uses: core.log',
        '    with: {message: no SAS token was given}',
        '  - id: full-only',
        "    if: ${{ params.mode == 'full' }}",
        '    uses: core.log',
        '    with: {message: full}',
        '',
      ].join('\n'),
    )
    const plan = buildPlan(await prepareRun({runbook: file, envName: 'local', params: {sas: 'sv=2024-11-04&sig=c2lnbmF0dXJl'}, cwd: repoRoot, env: {}}))
    expect(plan.steps.find((s) => s.id === 'full-only')!.notRun).toBe(true)
    expect(plan.steps.find((s) => s.id === 'with-sas-token')!.notRun).toBeUndefined()
    expect(renderPlan(plan)).not.toMatch(/NOT RUN with these params; read-only; if \$\{\{ params\.sas/)
  })

  it('in a called runbook too: dr-drill\'s Managed Redis leg shows managedredis.* and none of the classic cache\'s lines or permissions', async () => {
    // The plan showed redis.export, redis.import and redis.verify (with Microsoft.Cache/redis/read) for carts-cache, a
    // Microsoft.Cache/redisEnterprise cluster, and the drill's imports as changes: the run skips every one of them.
    const plan = buildPlan(await prepareRun({runbook: 'dr-drill', envName: 'local', params: {}, components: ['carts-cache'], cwd: repoRoot, env: {}}))
    const leg = plan.steps.filter((s) => s.parent === 'redis-restore-carts-cache')
    const runs = leg.filter((s) => !s.notRun).map((s) => s.uses)
    expect(runs).toEqual(expect.arrayContaining(['managedredis.export', 'drill.verifySnapshot', 'managedredis.verify', 'drill.teardown']))
    expect(runs.filter((uses) => /^redis\.(export|import|verify)$|^managedredis\.import$|^core\.approval$/.test(uses))).toEqual([])
    expect(plan.permissions.filter((p) => p.startsWith('Microsoft.Cache/redis/') || p.endsWith('/import/action'))).toEqual([])
    const text = renderPlan(plan)
    expect(text).not.toMatch(/Microsoft\.Cache\/redis\/|az redis (export|import|show)|is a managedredis, not a redis/)
    expect(text).toMatch(/redis-restore-carts-cache\.verify {2}\[redis\.verify\] {2}\(NOT RUN with these params/)
    // redis.verify itself, pointed at a Managed Redis cache, reads the cluster and its database.
    const verify = buildPlan(await prepare('redis-restore', {cache: 'carts-cache'})).steps.find((s) => s.id === 'verify')!
    expect(verify.permissions).toEqual(['Microsoft.Cache/redisEnterprise/read', 'Microsoft.Cache/redisEnterprise/databases/read'])

    // A called runbook's param the caller computes from a step's result is not known up front: what it guards may run.
    const dir = scratchDir({
      'callee.yaml': "name: callee\ntitle: callee\nkind: checklist\nparams:\n  mode: {type: string, default: quick}\nsteps:\n  - {id: full-only, if: \"${{ params.mode == 'full' }}\", uses: core.log, with: {message: full}}\n",
      'caller.yaml': `name: caller
title: caller
kind: checklist
steps:
  - {id: pick, uses: core.log, with: {message: full}}
  - {id: call, needs: pick, uses: "runbook:./callee.yaml", with: {mode: "\${{ steps.pick.status == 'succeeded' && 'full' || 'quick' }}"}}
  - {id: quick, uses: "runbook:./callee.yaml", with: {mode: quick}}
`,
    })
    const called = buildPlan(await prepareRun({runbook: join(dir, 'caller.yaml'), envName: 'local', params: {}, cwd: dir, env: {}}))
    expect(called.steps.find((s) => s.id === 'call.full-only')!.notRun).toBeUndefined()
    expect(called.steps.find((s) => s.id === 'quick.full-only')!.notRun).toBe(true)
  })
})

// The slot differences step (issues 10/11): what `plan slot-swap` shows comes from webapp.slotDifferences' registry entry.
describe('plan slot-swap shows the differences step before the swap', () => {
  it('a read-only POST …/slots/staging/slotsdiffs with its permission and az rest line, ahead of the approval and the swap', async () => {
    const plan = buildPlan(await prepare('slot-swap', {app: 'storefront'}))
    const ids = plan.steps.map((s) => s.id)
    expect(ids.indexOf('differences')).toBeGreaterThan(-1)
    expect(ids.indexOf('differences')).toBeLessThan(ids.indexOf('approve-swap'))
    expect(ids.indexOf('approve-swap')).toBeLessThan(ids.indexOf('swap'))
    const step = plan.steps.find((s) => s.id === 'differences')!
    expect(step).toMatchObject({uses: 'webapp.slotDifferences', changes: false, permissions: ['Microsoft.Web/sites/slotsdiffs/Action', 'Microsoft.Web/sites/slots/slotsdiffs/Action']})
    expect(step.arm.map((c) => `${c.method} ${c.path}`)).toEqual([expect.stringMatching(/^POST \/subscriptions\/.+\/sites\/app-shop-storefront\/slots\/staging\/slotsdiffs\?api-version=2025-05-01$/)])
    expect(step.az).toEqual([expect.stringMatching(/^az rest --method post --url ".+\/slots\/staging\/slotsdiffs\?api-version=2025-05-01" --body '\{"targetSlot": "production", "preserveVnet": true\}' --query "value\[\]\.properties\.\{type: settingType, name: settingName, rule: diffRule, level: level\}"$/)])
    expect(plan.permissions).toContain('Microsoft.Web/sites/slots/slotsdiffs/Action')
    expect(renderPlan(plan)).toMatch(/\d+\. differences {2}\[webapp\.slotDifferences\] {2}\(read-only\)/)
  })
})

// review8 (stop 28): plan showed `drill.teardown` "timeout PT3H (default)" while rollbacks and finally steps share one
// 15-minute teardown deadline (engine.ts) — the bound shown was never reached and nothing said what is.
describe('plan names the teardown deadline', () => {
  it('says rollbacks and finally steps stop after the shared deadline, whatever their own bounds', async () => {
    const text = renderPlan(buildPlan(await prepare('pg-pitr', {server: 'orders-db', restoreTime: new Date(Date.now() - 60_000).toISOString()})))
    expect(text).toMatch(/\[drill\.teardown\][^\n]*always runs[^\n]*timeout PT3H \(default\)/)
    expect(text).toContain('Teardown (rollbacks and finally steps) stops after PT15M in all, whatever their own bounds (OPSBOOK_TEARDOWN_TIMEOUT sets another); what is then left is reported (exit 3).')
  })

  it('says nothing of teardown for a runbook whose finally steps change nothing (hello)', async () => {
    expect(renderPlan(buildPlan(await prepare('hello')))).not.toContain('Teardown (rollbacks')
  })
})
