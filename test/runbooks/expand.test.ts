import {describe, expect, it} from 'vitest'
import {ValidationError} from '../../src/errors.js'
import {expandRunbook} from '../../src/runbooks/expand.js'
import {parseYamlSource} from '../../src/support/yaml-source.js'
import {validateRunbookSource} from '../../src/runbooks/validate.js'
import {catalog, environment, run, runbook} from './engine-fixtures.js'

const header = 'name: fe\ntitle: forEach\nkind: drill\n'

describe('expandRunbook', () => {
  it('makes one step per component of the type, with item and same-item needs', () => {
    const book = runbook(`${header}steps:
  - id: restore
    forEach: {components: [postgres, redis]}
    uses: core.log
    with: {message: "restore \${{ item.name }} in \${{ item.resourceGroup }}"}
  - id: verify
    forEach: {components: [postgres, redis]}
    needs: restore
    uses: core.log
    with: {message: "verify \${{ item.key }}"}
  - id: report
    needs: verify
    uses: core.log
    with: {message: done}
`)
    const expanded = expandRunbook(book, environment, {catalog, environmentName: 'local'})
    expect(expanded.steps.map((s) => [s.id, s.needs])).toEqual([
      ['restore-orders-db', []],
      ['restore-sessions-cache', []],
      ['verify-orders-db', ['restore-orders-db']],
      ['verify-sessions-cache', ['restore-sessions-cache']],
      ['report', ['verify-orders-db', 'verify-sessions-cache']],
    ])
    expect(expanded.steps[0]!.instance?.item).toMatchObject({key: 'orders-db', name: 'pg-shop-orders', type: 'postgres', resourceGroup: 'rg-shop-local'})
    expect(expanded.forEachGroups).toEqual({restore: ['orders-db', 'sessions-cache'], verify: ['orders-db', 'sessions-cache']})
    // Deterministic: the same input gives the same steps.
    expect(expandRunbook(book, environment).steps.map((s) => s.id)).toEqual(expanded.steps.map((s) => s.id))
  })

  it('expands an expression over params, and rejects keys the environment does not have (exit 2)', () => {
    const book = runbook(`${header}params:
  which: {type: string, default: "orders-db,storefront"}
steps:
  - id: touch
    forEach: \${{ params.which }}
    uses: core.log
    with: {message: "\${{ item.type }}"}
`)
    expect(expandRunbook(book, environment, {params: {which: 'orders-db,storefront'}}).steps.map((s) => s.id)).toEqual(['touch-orders-db', 'touch-storefront'])
    let error: unknown
    try {
      expandRunbook(book, environment, {params: {which: 'orders-db,nope'}})
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).exitCode).toBe(2)
    expect((error as ValidationError).message).toContain('"nope", which is not a component')
  })
})

describe('forEach in the engine', () => {
  it('gives each instance its item and its own sibling, and plain steps a map by item key', async () => {
    const book = expandRunbook(
      runbook(`${header}steps:
  - id: first
    forEach: {components: postgres}
    uses: core.wait
    with: {duration: PT0S}
  - id: second
    forEach: {components: postgres}
    needs: first
    uses: core.assert
    with: {that: "\${{ steps.first.outputs.waitedMs >= 0 && item.key == 'orders-db' }}", message: same item}
  - id: all
    needs: first
    uses: core.assert
    with: {that: "\${{ steps.first.outputs['orders-db'].waitedMs >= 0 && steps.first.status == 'succeeded' }}", message: map}
outputs:
  waited: \${{ steps.first.outputs }}
`),
      environment,
    )
    const {outcome} = await run(book)
    expect(outcome.status).toBe('succeeded')
    expect(Object.keys(outcome.outputs.waited as object)).toEqual(['orders-db'])
  })

  it('reports nothingChanged and the failing error\'s exit code', async () => {
    const book = expandRunbook(runbook(`${header}steps:\n  - {id: a, uses: core.assert, with: {that: false, message: nope}}\n`), environment)
    const {outcome} = await run(book)
    expect(outcome.status).toBe('failed')
    expect(outcome.nothingChanged).toBe(true)
  })
})

describe('forEach validation', () => {
  const validate = (text: string) => validateRunbookSource(parseYamlSource('fe.yaml', text)).problems.map((p) => [p.code, p.location?.line, p.message])

  it('accepts item only inside forEach steps, at the offending expression', () => {
    const problems = validate(`${header}steps:
  - id: a
    uses: core.log
    with: {message: "\${{ item.name }}"}
  - id: b
    forEach: {components: redis}
    uses: core.log
    with: {message: "\${{ item.nam }}"}
`)
    expect(problems).toEqual([
      ['invalid-reference', 7, 'item.name: item is only set in a step with forEach'],
      ['unknown-reference', 11, 'item.nam: item has no field "nam" (did you mean "name"? fields: key, name, type, resourceGroup, component)'],
    ])
  })

  it('rejects step outputs in a forEach expression, and unknown component types', () => {
    const problems = validate(`${header}steps:
  - id: a
    uses: core.log
    with: {message: x}
  - id: b
    needs: a
    forEach: \${{ steps.a.outputs }}
    uses: core.log
    with: {message: x}
  - id: c
    forEach: {components: mysql}
    uses: core.log
    with: {message: x}
`)
    expect(problems.map((p) => [p[0], p[1]])).toEqual([
      ['invalid-reference', 10],
      ['invalid-value', 14],
    ])
  })
})
