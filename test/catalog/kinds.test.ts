/** Catalog fields and kinds real platforms need: accepted, validated with positions, and said when not acted on. */
import {describe, expect, it} from 'vitest'
import {parseCatalog} from '../../src/catalog/loader.js'
import {catalogNotes} from '../../src/catalog/notes.js'
import type {ValidationError} from '../../src/errors.js'

const wrap = (components: string, extra = '') => `version: 1
environments:
  prod:
    cloud: azure
    subscription: 11111111-2222-3333-4444-555555555555
    resourceGroups: [rg]
${extra}    components:
${components}`

function problems(text: string): string[] {
  try {
    parseCatalog('c.yaml', text)
  } catch (error) {
    return (error as ValidationError).problems.map((p) => `${p.location?.line}:${p.location?.column} ${p.message}`)
  }
  return []
}

describe('catalog kinds and fields', () => {
  it('accepts the kinds real platforms have and says which no command acts on yet', () => {
    const loaded = parseCatalog(
      'c.yaml',
      wrap(`      orders-sql: {type: sqldb, name: orders, server: sql-a, failoverGroup: fog}
      cosmos: {type: cosmosdb, name: cos, regions: [westeurope, northeurope]}
      bus: {type: servicebus, name: sb, sku: Premium}
      worker: {type: containerapp, name: ca}
      fn: {type: functionapp, name: fn}
      tm: {type: trafficmanager, name: tm}
      fd: {type: frontdoor, name: fd}
      ai: {type: appinsights, name: ai}
      swa: {type: staticwebapp, name: swa}
      gw: {type: apim, name: gw, sku: Premium}
      web: {type: webapp, name: app, region: northeurope, plan: {sku: P1v3, instances: 2, zoneRedundant: true}}
      cache: {type: redis, name: r, persistence: {mode: aof}}
      db: {type: postgres, name: pg, network: {access: public, firewallRules: [{name: office, startIp: 10.0.0.1, endIp: 10.0.0.9}]}}
`),
    )
    const env = loaded.catalog.environments.prod!
    expect(Object.keys(env.components)).toHaveLength(13)
    const note = catalogNotes(loaded.catalog).prod!.join('\n')
    expect(note).toContain('worker (Azure Container Apps)')
    expect(note).toContain('gw (Azure API Management)')
    // Traffic Manager and Front Door are acted on (region-failover, checks, emulator).
    expect(note).not.toContain('tm (')
    expect(note).not.toContain('fd (')
    // Azure SQL Database, Cosmos DB and Service Bus are acted on (sql-pitr, sql-failover, cosmos-pitr, servicebus-dlq,
    // checks, emulator).
    expect(note).not.toContain('orders-sql (')
    expect(note).not.toContain('cosmos (')
    expect(note).not.toContain('bus (')
    expect(note).not.toContain('web (')
  })

  it('reports wrong values with file:line:col', () => {
    const found = problems(
      wrap(`      orders-sql: {type: sqldb, name: orders}
      cache:
        type: redis
        name: r
        persistence: {mode: rdb, frequency: PT2H}
      web:
        type: webapp
        name: app
        plan: {sku: B1, zoneRedundant: true}
      db:
        type: postgres
        name: pg
        network: {access: private}
`),
    ).join('\n')
    expect(found).toMatch(/^8:\d+ .*server/m)
    expect(found).toMatch(/^12:\d+ .*PT15M, PT30M, PT1H, PT6H, PT12H or PT24H/m)
    expect(found).toMatch(/^16:\d+ .*zone redundancy needs a Premium/m)
    expect(found).toMatch(/^20:\d+ .*delegatedSubnet/m)
  })

  it('validates Azure SQL and Service Bus tier rules with file:line:col', () => {
    const found = problems(
      wrap(`      pay:
        type: sqldb
        name: pay
        server: sql-a
        sku: Basic
        backupRetentionDays: 14
      bus:
        type: servicebus
        name: sb
        sku: Basic
        topics: [events]
`),
    ).join('\n')
    expect(found).toMatch(/^13:\d+ .*Basic database keeps point-in-time backups for at most 7 days/m)
    expect(found).toMatch(/^18:\d+ .*the Basic tier has no topics/m)
  })

  it('validates Cosmos DB backup and probe rules with file:line:col', () => {
    const found = problems(
      wrap(`      wide:
        type: cosmosdb
        name: wide
        api: cassandra
        backup: continuous7days
      shop:
        type: cosmosdb
        name: shop
        backup: continuous30days
        databases: [{name: shop, containers: [products]}]
        dataProbes: {database: shop, container: carts}
`),
    ).join('\n')
    expect(found).toMatch(/^12:\d+ .*continuous backup is not available for the cassandra API/m)
    expect(found).toMatch(/^18:\d+ .*expected one of shop's containers: products/m)
  })

  it('validates Traffic Manager and Front Door routing with file:line:col', () => {
    const found = problems(
      wrap(`      web: {type: webapp, name: app}
      dns:
        type: trafficmanager
        name: tm
        endpoints:
          - {name: east, webapp: web}
          - {name: west, webapp: web-dr, priority: 2}
        monitor: {intervalInSeconds: 10, timeoutInSeconds: 10}
      edge:
        type: frontdoor
        name: fd
        originGroups:
          - name: g
            origins:
              - {name: east, webapp: web, priority: 6}
`),
    ).join('\n')
    expect(found).toMatch(/^13:\d+ .*Priority routing needs a priority/m)
    expect(found).toMatch(/^15:\d+ .*10 s probing interval the timeout must be 5–9 s/m)
    expect(found).toMatch(/^22:\d+ .*priority: .*<=5/m)
    // References are checked once the shapes are valid: an endpoint must name a web app of the environment.
    const unknown = problems(wrap(`      web: {type: webapp, name: app}
      dns: {type: trafficmanager, name: tm, endpoints: [{name: east, webapp: web, priority: 1}, {name: west, webapp: web-dr, priority: 2}]}
`)).join('\n')
    expect(unknown).toMatch(/^9:\d+ .*routes to "web-dr", which is not a webapp component of environment "prod" \(webapps: web\)/m)
  })

  it('accepts YAML merge keys, and locates a problem in merged values at the anchor', () => {
    const ok = parseCatalog(
      'c.yaml',
      wrap(`      web-a: &web {type: webapp, name: app-a, slots: [staging], healthPath: /ready}
      web-b:
        <<: *web
        name: app-b
`),
    )
    expect(ok.catalog.environments.prod!.components['web-b']).toMatchObject({type: 'webapp', name: 'app-b', healthPath: '/ready'})
    const found = problems(
      wrap(`      db-a: &pg {type: postgres, name: pg-a, backupRetentionDays: 99}
      db-b:
        <<: *pg
        name: pg-b
`),
    )
    expect(found).toEqual([expect.stringMatching(/^8:\d+ .*db-a.*<=35/), expect.stringMatching(/^8:\d+ .*db-b.*<=35/)])
  })
})
