import {describe, expect, it} from 'vitest'
import {
  checkExpression,
  checkExpressions,
  conditionExpression,
  evaluateCondition,
  evaluateValue,
  ExpressionError,
  listReferences,
  splitTemplate,
  type ExpressionContext,
} from '../../src/runbooks/expressions.js'

const context = (overrides: Partial<ExpressionContext> = {}): ExpressionContext => ({
  params: {server: 'pg-orders', minutes: 15, dryRun: false, tags: ['a', 'b']},
  steps: {restore: {outputs: {server: 'pg-orders-drill', rows: 42, details: {region: 'eastus'}}, status: 'succeeded'}},
  env: {name: 'local', production: false, region: 'eastus'},
  catalog: {version: 1},
  run: {id: 'run-1', startedAt: '2026-12-20T18:00:00.000Z', runbook: 'pg-pitr', environment: 'local', production: false},
  ...overrides,
})

describe('splitTemplate', () => {
  it('splits text and expressions, keeping a }} inside a quoted string literal', () => {
    expect(splitTemplate("a ${{ format('{0}}}', params.x) }} b")).toEqual([
      {kind: 'text', text: 'a '},
      {kind: 'expression', expression: "format('{0}}}', params.x)", start: 5},
      {kind: 'text', text: ' b'},
    ])
    expect(splitTemplate("${{ 'it''s }}' }}")).toEqual([{kind: 'expression', expression: "'it''s }}'", start: 3}])
  })

  it('rejects an unterminated expression', () => {
    expect(() => splitTemplate('${{ params.x')).toThrow(ExpressionError)
    expect(() => splitTemplate("${{ 'open }}")).toThrow(/unterminated string/)
  })
})

describe('evaluateValue', () => {
  it('returns typed values for a string that is exactly one expression', () => {
    const ctx = context()
    expect(evaluateValue('${{ params.minutes }}', ctx)).toBe(15)
    expect(evaluateValue(' ${{ params.dryRun }} ', ctx)).toBe(false)
    expect(evaluateValue('${{ steps.restore.outputs.details }}', ctx)).toEqual({region: 'eastus'})
    expect(evaluateValue('${{ params.tags }}', ctx)).toEqual(['a', 'b'])
    expect(evaluateValue('${{ steps.restore.outputs.rows > 10 }}', ctx)).toBe(true)
  })

  it('interpolates strings with text around expressions, deep over objects and arrays', () => {
    const value = {
      server: '${{ params.server }}',
      nested: ['rows=${{ steps.restore.outputs.rows }}', {where: '${{ env.name }}/${{ run.id }}', n: 3, on: true}],
      details: 'd=${{ steps.restore.outputs.details }}',
    }
    expect(evaluateValue(value, context())).toEqual({
      server: 'pg-orders',
      nested: ['rows=42', {where: 'local/run-1', n: 3, on: true}],
      details: 'd={"region":"eastus"}',
    })
  })

  it('handles a }} inside a string literal', () => {
    expect(evaluateValue("${{ format('{0}-}}', params.server) }}", context())).toBe('pg-orders-}')
    expect(evaluateValue("x ${{ '}}' }} y", context())).toBe('x }} y')
  })

  it('is case-insensitive for contexts and keys, like GitHub Actions', () => {
    expect(evaluateValue('${{ Params.SERVER }}', context())).toBe('pg-orders')
    expect(evaluateValue('${{ STEPS.Restore.Outputs.rows }}', context())).toBe(42)
  })

  it('returns empty for prototype-pollution probes', () => {
    const ctx = context()
    for (const probe of ['params.constructor', "params['__proto__']", 'params.constructor.constructor', 'steps.restore.outputs.toString', "run['hasOwnProperty']"]) {
      expect(evaluateValue(`\${{ ${probe} }}`, ctx), probe).toBeNull()
      expect(evaluateValue(`[\${{ ${probe} }}]`, ctx), probe).toBe('[]')
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('gives null for references to things that are not there', () => {
    expect(evaluateValue('${{ steps.nope.outputs.x }}', context())).toBeNull()
  })

  it('offers the date and duration helpers', () => {
    const ctx = context({now: () => new Date('2026-12-20T18:30:00Z')})
    expect(evaluateValue('${{ now() }}', ctx)).toBe('2026-12-20T18:30:00.000Z')
    expect(evaluateValue("${{ addDuration(run.startedAt, 'PT1H30M') }}", ctx)).toBe('2026-12-20T19:30:00.000Z')
    expect(evaluateValue("${{ subtractDuration(run.startedAt, 'P1D') }}", ctx)).toBe('2026-12-19T18:00:00.000Z')
    expect(evaluateValue('${{ durationBetween(run.startedAt, now()) }}', ctx)).toBe('PT30M')
    expect(evaluateValue('${{ durationBetween(now(), run.startedAt) }}', ctx)).toBe('-PT30M')
    expect(evaluateValue("${{ durationMs('PT1M30S') }}", ctx)).toBe(90_000)
    expect(evaluateValue('${{ toIsoDuration(5400000) }}', ctx)).toBe('PT1H30M')
    expect(evaluateValue("${{ durationMs(durationBetween(run.startedAt, now())) <= durationMs('PT1H') }}", ctx)).toBe(true)
    expect(evaluateValue("${{ subtractDuration(now(), format('PT{0}M', params.minutes)) }}", ctx)).toBe('2026-12-20T18:15:00.000Z')
  })

  it('fails clearly on bad helper arguments', () => {
    expect(() => evaluateValue("${{ addDuration('yesterday', 'PT1H') }}", context())).toThrow(/"yesterday" is not an ISO-8601 date-time/)
    expect(() => evaluateValue("${{ durationMs('an hour') }}", context())).toThrow(/not an ISO-8601 duration/)
  })

  it('keeps the built-in functions', () => {
    expect(evaluateValue("${{ contains(params.tags, 'b') }}", context())).toBe(true)
    expect(evaluateValue("${{ format('{0}/{1}', env.name, params.server) }}", context())).toBe('local/pg-orders')
    expect(evaluateValue("${{ join(params.tags, '+') }}", context())).toBe('a+b')
  })
})

describe('evaluateCondition', () => {
  it('accepts bare or wrapped expressions with GitHub truthiness', () => {
    const ctx = context()
    expect(evaluateCondition("params.server == 'pg-orders'", ctx)).toBe(true)
    expect(evaluateCondition('${{ params.dryRun }}', ctx)).toBe(false)
    expect(evaluateCondition('${{ steps.restore.outputs.rows }}', ctx)).toBe(true)
    expect(evaluateCondition("''", ctx)).toBe(false)
    expect(evaluateCondition('0', ctx)).toBe(false)
  })

  it('has success(), failure() and always() driven by the failed flag', () => {
    expect(evaluateCondition('success()', context())).toBe(true)
    expect(evaluateCondition('failure()', context())).toBe(false)
    expect(evaluateCondition('success()', context({failed: true}))).toBe(false)
    expect(evaluateCondition('${{ failure() }}', context({failed: true}))).toBe(true)
    expect(evaluateCondition('always()', context({failed: true}))).toBe(true)
  })

  it('rejects text around the expression', () => {
    expect(() => conditionExpression('x ${{ true }}')).toThrow(/single expression/)
  })
})

describe('listReferences and syntax checks', () => {
  it('lists context references with their literal paths and where they sit', () => {
    const refs = listReferences({
      a: '${{ steps.restore.outputs.server }} ${{ params.x }}',
      b: ["${{ format('{0}', run.id) && steps['verify'].status }}"],
      c: '${{ steps[params.which].outputs.y }}',
    })
    expect(refs.map((r) => [r.context, r.path.join('.'), r.location.join('/')])).toEqual([
      ['steps', 'restore.outputs.server', 'a'],
      ['params', 'x', 'a'],
      ['run', 'id', 'b/0'],
      ['steps', 'verify.status', 'b/0'],
      ['steps', '', 'c'],
      ['params', 'which', 'c'],
    ])
  })

  it('reports bad syntax, unknown contexts and unknown functions, and never evaluates anything', () => {
    expect(checkExpression('params.x ==')).toMatch(/Unexpected end of expression/)
    expect(checkExpression('secrets.token')).toMatch(/unknown context "secrets"/)
    expect(checkExpression('eval(params.x)')).toMatch(/unknown function "eval"/)
    expect(checkExpression("addDuration(now())")).toMatch(/Too few parameters/)
    expect(checkExpression("durationMs('PT1M') > 1")).toBeUndefined()
    expect(checkExpressions({a: ['ok ${{ 1 }}', 'bad ${{ 1 + }}'], b: '${{ x'}).map((p) => p.path.join('/'))).toEqual(['a/1', 'b'])
  })
})

// Issue 16, item 3: a secret is followed by its value through every expression function, not by its spelling.
describe('secret taint', () => {
  const pw = `Kx7Qp2Vz"Lm9\\Wq4'Rt8 &<Hb5Nc3Je`
  const pieces = `["Ud6Fa1Ws", "Po4Ty7Gm", {"inner": "Ze2Xc9Vb"}]`
  /** Every 6-character run of letters and digits in the secrets: any of them in the output is a leak. */
  const windows = [pw, pieces].flatMap((s) => (s.match(/[A-Za-z0-9]{6,}/g) ?? []).flatMap((run) => Array.from({length: run.length - 5}, (_, i) => run.slice(i, i + 6))))

  const expressions = [
    '${{ toJSON(toJSON(params.pw)) }}',
    '${{ toJSON(toJSON(toJSON(params.pw))) }}',
    "${{ format('a{0}b{1}', params.pw, params.server) }}",
    "${{ format('{0}', toJSON(params)) }}",
    'x ${{ toJSON(params) }} y',
    // (fromJSON of a secret is refused — whether it fails tells the secret's shape — tested below.)
    // (A predicate that searches the secret is refused: the side channel, tested below.)
    "${{ case(params.pw != '', params.pw, 'no') }}",
    "${{ params['PW'] }}",
    '${{ toJSON(steps.derive.outputs) }}',
    "${{ format('{0}{1}', steps.derive.outputs.value, '!') }}",
  ]

  it('redacts whatever an expression computes from a secret param, in the journal line the writer produces', async () => {
    const {Redactor} = await import('../../src/evidence/redact.js')
    const {redactedBytes} = await import('../../src/evidence/writer.js')
    const redactor = new Redactor()
    redactor.add(pw)
    redactor.add(pieces)
    // A step output computed from the secret earlier in the run (it was tainted when its input was evaluated).
    const derived = evaluateValue('${{ toJSON(params.pw) }}', context({params: {pw, pieces, server: 'pg-orders'}, taint: redactor}))
    const ctx = context({
      params: {pw, pieces, server: 'pg-orders'},
      steps: {derive: {outputs: {value: derived}, status: 'succeeded'}},
      taint: redactor,
    })
    for (const expression of expressions) {
      const value = evaluateValue(expression, ctx)
      const written = redactedBytes({json: {type: 'step.started', inputs: {message: value}}, line: true}, redactor).toString('utf8')
      for (const window of windows) expect(written, `${expression} → ${written}`).not.toContain(window)
      // Nothing but the secret goes: the other param survives where it stands alone.
      expect(evaluateValue('${{ params.server }}', ctx)).toBe('pg-orders')
    }
    expect(redactedBytes({text: 'server pg-orders restored'}, redactor).toString()).toBe('server pg-orders restored')
  })

  it('never reads a number out of a secret (fromJSON of a PIN list): refused before evaluating', async () => {
    // Issue 16 adversarial pass: `fromJSON(params.pins)[0]` of '[48213, 90517]' wrote 48213 verbatim — numbers under
    // 1e7 were never registered, so a 5-digit piece of the secret reached the journal. fromJSON of a secret is now
    // refused altogether (whether it parses told the secret's shape), so no piece is computed at all.
    const {Redactor} = await import('../../src/evidence/redact.js')
    const pins = '[48213, 90517, {"code": 7731}]'
    const redactor = new Redactor()
    redactor.add(pins)
    const ctx = context({params: {pins}, taint: redactor})
    for (const expression of ['${{ fromJSON(params.pins)[0] }}', 'pin ${{ fromJSON(params.pins)[1] }}', "${{ format('{0}', fromJSON(params.pins)[2].code) }}"]) {
      let message = ''
      try {
        evaluateValue({message: expression}, ctx)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message, expression).toMatch(/params\.pins holds a secret/)
      for (const piece of ['48213', '90517', '7731']) expect(message).not.toContain(piece)
    }
  })

  it('without taint tracking, toJSON(toJSON()) of a secret is a new value the redactor never saw', () => {
    // What the engine did before: only the registered spellings of the secret were known.
    const value = evaluateValue('${{ toJSON(toJSON(params.pw)) }}', context({params: {pw}}))
    expect(value).not.toContain(pw)
    expect(String(value)).toContain('Kx7Qp2Vz')
  })
})

// A catalog value under a sensitive key (tags: {token: …}) is redacted where the catalog object is written, but an
// expression reading it directly got the bare string: the key that made it secret was not looked at, and the value
// reached the journal, summary.json and report.md verbatim.
describe('secret taint of values under sensitive keys', () => {
  it('taints a string read through a key such as token, password or connectionString', async () => {
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    const env = {name: 'local', production: false, components: {'orders-db': {tags: {owner: 'data-platform', token: 'plainSecretTok9'}, conn: {ConnectionString: 'Host=pg;Db=x'}}}}
    const ctx = context({env, taint: redactor})
    const read = evaluateValue("t=${{ env.components['orders-db'].tags.token }}", ctx)
    expect(redactor.redactText(String(read))).toBe('t=[REDACTED]')
    expect(redactor.redactText(String(evaluateValue("${{ env.components['orders-db'].conn.connectionstring }}", ctx)))).toBe('[REDACTED]')
    // Its neighbours under ordinary keys stay readable.
    expect(redactor.redactText(String(evaluateValue("${{ env.components['orders-db'].tags.owner }}", ctx)))).toBe('data-platform')
  })
})

describe('secret taint does not over-redact', () => {
  it('leaves literals and booleans an expression computes from a secret alone', async () => {
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    redactor.add('Kx7Qp2Vz-secret')
    const ctx = context({params: {pw: 'Kx7Qp2Vz-secret'}, taint: redactor})
    // (A boolean from searching the secret, `contains(params.pw, 'Kx')`, is refused: the side channel, tested below.)
    expect(evaluateValue("${{ format('{0}', params.pw != '') }}", ctx)).toBe('true')
    expect(evaluateValue("${{ case(params.pw == '', 'empty', 'given') }}", ctx)).toBe('given')
    expect(redactor.redactText('dryRun: true; password given; replicas: none')).toBe('dryRun: true; password given; replicas: none')
  })
})

describe('a secret steering a condition (side channel)', () => {
  // Issue 16: `if: ${{ startsWith(params.pw, 'a') }}` on a step that logs something let a runbook learn a secret one
  // character per run (which steps ran is in the journal). A condition may test a secret for emptiness only.
  const runbook = (condition: string) => `name: side-channel
title: Conditions on a secret
kind: checklist
params:
  pw: {type: secret}
  who: {type: string, default: x}
steps:
  - id: probe
    if: \${{ ${condition} }}
    uses: core.log
    with: {message: hi}
`

  it('refuses at validation (exit 2, file:line:col) a condition that compares, searches or measures a secret param', async () => {
    const {parseRunbook} = await import('../../src/runbooks/loader.js')
    const {ValidationError} = await import('../../src/errors.js')
    for (const condition of [
      "startsWith(params.pw, 'a')",
      "contains(params.pw, 'x')",
      "endsWith(params.PW, 'z')",
      "params.pw == 'hunter22'",
      "params.pw > 'm'",
      "params.pw == 0",
      "(params.pw || 'a') == 'abcd'",
      "fromJSON(params.pw) == 1234",
      "contains(toJSON(params), 'hunter')",
      "params[params.who] == 'a'",
      "success() && format('{0}', params.pw) != ''",
    ]) {
      let error: unknown
      try {
        parseRunbook('/tmp/side-channel.yaml', runbook(condition))
      } catch (e) {
        error = e
      }
      expect(error, condition).toBeInstanceOf(ValidationError)
      const problem = (error as InstanceType<typeof ValidationError>).problems.find((p) => p.code === 'secret-in-condition')
      expect(problem, condition).toBeDefined()
      expect(problem!.location).toMatchObject({file: '/tmp/side-channel.yaml', line: 9})
      expect((error as InstanceType<typeof ValidationError>).exitCode).toBe(2)
    }
  })

  it('refuses at validation (exit 2, file:line:col) a value that compares or searches a secret param, before the run changes anything', async () => {
    // It failed its step when evaluated — after the steps before it had run.
    const {parseRunbook} = await import('../../src/runbooks/loader.js')
    const {ValidationError} = await import('../../src/errors.js')
    const withValue = (value: string) => `name: side-channel
title: A value computed from a secret
kind: checklist
params:
  pw: {type: secret}
steps:
  - id: first
    uses: core.log
    with: {message: before}
  - id: probe
    uses: core.log
    with:
      message: "${value}"
`
    for (const value of [
      "\${{ contains(params.pw, 'a') }}",
      "got \${{ case(startsWith(params.pw, 'K'), 'yes', 'no') }}",
      "\${{ contains(toJSON(params), 'hunt') }}",
      "\${{ format(params.pw, 'x') }}",
      // Whether fromJSON of the secret fails tells whether it is JSON (issue 16): refused like a search.
      '\${{ fromJSON(params.pw) }}',
      'x \${{ fromJSON(params.pw).a }}',
    ]) {
      let error: unknown
      try {
        parseRunbook('/tmp/side-channel.yaml', withValue(value))
      } catch (e) {
        error = e
      }
      expect(error, value).toBeInstanceOf(ValidationError)
      const problem = (error as InstanceType<typeof ValidationError>).problems.find((p) => p.code === 'secret-in-expression')
      expect(problem, value).toBeDefined()
      expect(problem!.location).toMatchObject({file: '/tmp/side-channel.yaml', line: 13})
    }
    for (const value of ["pw \${{ format('{0}', params.pw) }}", "\${{ params.pw != '' }}", "\${{ case(params.pw != '', params.pw, 'none') }}", '\${{ toJSON(params) }}'])
      expect(() => parseRunbook('/tmp/side-channel.yaml', withValue(value)), value).not.toThrow()
  })

  it('accepts an emptiness test of a secret, alone or beside other conditions', async () => {
    const {parseRunbook} = await import('../../src/runbooks/loader.js')
    for (const condition of ["params.pw != ''", "'' == params.pw", '!params.pw', 'params.pw', "success() && (params.pw != '' || params.who == 'x')", "params.who == 'x'"])
      expect(() => parseRunbook('/tmp/side-channel.yaml', runbook(condition)), condition).not.toThrow()
  })

  it('refuses at run time a condition steered by a value that holds a secret some other way (a group output, a call param)', async () => {
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    redactor.add('hunter22')
    const taint = {holdsSecret: (v: unknown) => redactor.holdsSecret(v), add: (s: string) => redactor.add(s)}
    const ctx = context({taint})
    ctx.steps.group = {outputs: {copy: 'hunter22'}, status: 'succeeded'}
    expect(() => evaluateCondition("${{ startsWith(steps.group.outputs.copy, 'h') }}", ctx)).toThrow(/steps\.group\.outputs\.copy holds a secret, and a condition may test a secret only for emptiness/)
    expect(evaluateCondition("${{ steps.group.outputs.copy != '' }}", ctx)).toBe(true)
    expect(evaluateCondition("${{ steps.restore.outputs.rows > 40 }}", ctx)).toBe(true)
    // The same channel through a value: a boolean computed from a secret is printed as it is (it is not the secret).
    expect(() => evaluateValue({message: "${{ contains(steps.group.outputs.copy, 'h') }}"}, ctx)).toThrow(/steps\.group\.outputs\.copy holds a secret: a value may carry it \(redacted\) or test whether it is empty .*but not choose by comparing or searching it/)
    expect(evaluateValue({given: "${{ steps.group.outputs.copy != '' }}"}, ctx)).toEqual({given: true})
    // A literal picked by searching it: 'no' told that it does not start with K.
    expect(() => evaluateValue({message: "${{ case(startsWith(steps.group.outputs.copy, 'K'), steps.group.outputs.copy, 'no') }}"}, ctx)).toThrow(/a value may carry it \(redacted\) or test whether it is empty .*but not choose by comparing or searching it/)
    // Carried as it is (then redacted everywhere): allowed.
    expect(evaluateValue({message: "${{ format('pw {0}', steps.group.outputs.copy) }}", pick: "${{ case(steps.group.outputs.copy != '', steps.group.outputs.copy, 'none') }}"}, ctx)).toEqual({message: 'pw hunter22', pick: 'hunter22'})
  })

  /** A run's context whose param pw (and a group output) holds the secret `pw`, registered as the engine registers it. */
  const tainted = async (pw: string) => {
    const {Redactor} = await import('../../src/evidence/redact.js')
    const redactor = new Redactor()
    redactor.add(pw)
    const ctx = context({params: {pw, who: 'pw', server: 'pg-orders'}, taint: {holdsSecret: (v: unknown) => redactor.holdsSecret(v), add: (s: string) => redactor.add(s)}})
    ctx.steps.group = {outputs: {copy: pw}, status: 'succeeded'}
    return {ctx, redactor}
  }
  const outcome = (run: () => unknown, redactor: {redactText(text: string): string}) => {
    try {
      return `ok ${JSON.stringify(run())}`
    } catch (error) {
      return `error ${redactor.redactText((error as Error).message)}`
    }
  }

  it('refuses at run time a search of a secret reached through a computed index, a * or a whole context', async () => {
    // Each printed true or false (or a chosen literal): the computed access was taken as holding no secret, and an
    // object (toJSON(steps.group.outputs)) was not looked into.
    const {ctx, redactor} = await tainted('hunter22')
    for (const expression of [
      "${{ contains(params.*, 'hunter22') }}",
      "${{ contains(params[params.who], 'h') }}",
      "${{ startsWith(params[format('{0}', 'pw')], 'h') }}",
      "${{ contains(toJSON(params), 'hunt') }}",
      "${{ case(contains(join(params.*, ','), 'hunt'), 'yes', 'no') }}",
      "${{ contains(toJSON(steps.group.outputs), 'hunt') }}",
      "${{ contains(steps.*.outputs.copy, 'hunter22') }}",
    ])
      expect(outcome(() => evaluateValue({message: expression}, ctx), redactor), expression).toMatch(/^error .*holds a secret: .*not choose by comparing or searching it/)
    for (const condition of ["contains(steps.*.outputs.copy, 'hunter22')", "steps[format('{0}', 'group')].outputs.copy == 'hunter22'"])
      expect(outcome(() => evaluateCondition(condition, ctx), redactor), condition).toMatch(/^error steps\[…\] holds a secret, and a condition may test a secret only for emptiness/)
    // A computed access that reaches no secret is judged by what it reads (redis-restore: env.components[params.cache]).
    expect(evaluateCondition("steps[format('{0}', 'restore')].outputs.server == 'pg-orders-drill'", ctx)).toBe(true)
    expect(evaluateValue("${{ params[format('{0}', 'server')] == 'pg-orders' }}", ctx)).toBe(true)
    // Carrying the whole context (redacted) is still allowed.
    expect(redactor.redactText(String(evaluateValue("${{ toJSON(params) }}", ctx)))).not.toContain('hunter22')
    // A secret carried through fromJSON that comes out a boolean or a short number is not hidden by redaction.
    const short = await tainted(' 7  ')
    expect(outcome(() => evaluateValue('${{ fromJSON(params.pw) }}', short.ctx), short.redactor)).toMatch(/^error params\.pw holds a secret: a value may carry it/)
  })

  it('fails a refused expression the same way whatever the secret is (no message tells which kind of value it is)', async () => {
    // Refused after evaluating, durationMs of a secret that is no duration failed with durationMs's own error, of one
    // that is (PT5M) with the refusal; the format pattern and JSON framed around a secret failed or not by its shape.
    for (const expression of [
      '${{ durationMs(params.pw) }}',
      '${{ addDuration(run.startedAt, params.pw) }}',
      "${{ format(params.pw, 'x') }}",
      `\${{ fromJSON(format('"\\{0}"', params.pw)) }}`,
      `\${{ fromJSON(format('[{0}]', params.pw)) }}`,
      // fromJSON of the secret itself: '1234' parsed, 'hunter22' failed — one bit of its shape per run (issue 16).
      '${{ fromJSON(params.pw) }}',
      '${{ fromJSON(params.pw)[0] }}',
      "${{ format('{0}', fromJSON((params.pw))) }}",
      '${{ fromJSON(steps.group.outputs.copy) }}',
    ]) {
      const seen = new Set<string>()
      for (const pw of ['PT5M', 'hunter22', 'n-not-a-duration', '{0}-brace', '1234']) {
        const {ctx, redactor} = await tainted(pw)
        seen.add(outcome(() => evaluateValue({v: expression}, ctx), redactor))
      }
      expect([...seen], expression).toEqual([[...seen][0]])
      expect([...seen][0], expression).toMatch(/^error (params\.pw|steps\.group\.outputs\.copy) holds a secret: .*not choose by comparing or searching it/)
    }
  })
})
