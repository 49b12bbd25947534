/**
 * `opsbook ci init`: the generated files validate against the engines' own schemas — GitHub's workflow parser
 * (@actions/workflow-parser, the schema Actions itself uses) and the Azure Pipelines YAML schema
 * (microsoft/azure-pipelines-vscode service-schema.json, vendored with its licence) — for the sample catalog and the
 * multi-environment Azure example; and the command behaves as a user expects (dry run, no silent overwrite).
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow} from '@actions/workflow-parser'
import {Ajv, type ValidateFunction} from 'ajv'
import {parse} from 'yaml'
import {beforeAll, describe, expect, it} from 'vitest'
import {loadCatalog} from '../../src/catalog/loader.js'
import {initPipeline} from '../../src/ci/init.js'
import {repoRoot, runCli, runCliInProcess, scratchDir} from '../helpers/cli.js'

const exampleCatalog = join(repoRoot, 'examples', 'azure-platform.yaml')

async function generate(engine: 'github' | 'azure-pipelines', catalogFile: string, envNames: string[] = [], schedule = 'quarterly') {
  const loaded = loadCatalog({flag: catalogFile})
  return initPipeline({engine, loaded, envNames, schedule, dryRun: true, force: false, repoRoot: loaded.dir})
}

async function githubProblems(content: string): Promise<string[]> {
  const parsed = parseWorkflow({name: 'opsbook-dr-drill.yml', content}, new NoOperationTraceWriter())
  const errors = parsed.context.errors.getErrors().map((e) => e.message)
  if (errors.length > 0 || !parsed.value) return errors
  const template = await convertWorkflowTemplate(parsed.context, parsed.value)
  return [...errors, ...(template.errors ?? []).map((e) => e.Message)]
}

let validatePipeline: ValidateFunction
beforeAll(() => {
  const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'ci-schemas', 'azure-pipelines', 'service-schema.json'), 'utf8'))
  // The schema spells some patterns for .NET regexes and is large: validate structure, not formats. `code.optimize:
  // false` as in test/contract/specs.ts: Ajv's pass over the generated code changes how the validator is written, not
  // what it accepts (https://ajv.js.org/options.html#code); compiling this schema took 3.6-3.8 s of CPU with it and
  // 1.2-1.5 s without (tsx, one process, 2 loaded cores, interleaved).
  validatePipeline = new Ajv({strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false, code: {optimize: false}}).compile(schema)
})

describe('ci init github', () => {
  it('the sample catalog: a workflow GitHub\'s own parser accepts, a drill job per window group, scheduled inside the windows', async () => {
    const result = await generate('github', join(repoRoot, 'runbooks.yaml'))
    expect(await githubProblems(result.content)).toEqual([])
    const workflow = parse(result.content)
    const groups = workflow.jobs.drill.strategy.matrix.include.map((m: any) => `${m.environment}/${m.group}: ${m.components}`)
    // Every component dr-drill drills: the SQL database and Cosmos DB account share the database window, the Managed
    // Redis cache (windows: [cache-saturday, cache-sunday]) runs in its first, the routers have none. The generated CI
    // drilled only orders-db, sessions-cache and the web apps.
    expect(groups).toEqual([
      'local/database: --component orders-db --component payments-db --component catalog-cosmos',
      'local/cache: --component sessions-cache',
      'local/cache-saturday: --component carts-cache',
      'local/app: --component storefront --component storefront-dr',
      'local/unwindowed: --component storefront-dns --component storefront-edge',
    ])
    expect(workflow.on.schedule.map((s: any) => s.cron)).toEqual(['10 2 1-7 1,4,7,10 *', '10 4 1-7 1,4,7,10 *', '10 0 1-7 1,4,7,10 *', '10 21 1-14 1,4,7,10 *', '10 20 1-14 1,4,7,10 *', '0 3 1 1,4,7,10 *'])
    // The types drilled are dr-drill's own forEach types, so the list cannot fall behind the runbook again.
    const {DRILLED_TYPES} = await import('../../src/ci/groups.js')
    const drill = parse(readFileSync(join(repoRoot, 'src', 'runbooks', 'library', 'dr-drill.yaml'), 'utf8')) as {steps: Array<{forEach?: {components?: string | string[]}}>}
    const forEachTypes = new Set(drill.steps.flatMap((step) => [step.forEach?.components ?? []].flat()))
    expect([...DRILLED_TYPES].sort()).toEqual([...forEachTypes].sort())
    // The comment above each line says which jobs and which local time it is for.
    expect(result.content).toMatch(/# drill-local-app: 22:00 Europe\/Berlin \(UTC\+1, one line per daylight-saving offset\)/)
    expect(workflow.permissions).toEqual({contents: 'read', 'id-token': 'write', 'security-events': 'write'})
    expect(workflow.jobs.evidence.needs).toEqual(['drill', 'check'])
    const steps = workflow.jobs.drill.steps.map((s: any) => s.run ?? s.uses)
    expect(steps.some((s: string) => /opsbook ci gate .*--fired "\$FIRED"/.test(s))).toBe(true)
    expect(steps.some((s: string) => /opsbook run dr-drill .* --yes --json --junit opsbook-drill.xml/.test(s))).toBe(true)
    // Event values reach the shell through env, never spliced into a script (script injection).
    expect(result.content).not.toMatch(/run: .*\$\{\{ (github\.event|inputs)\./)
  })

  it('a multi-environment Azure estate: OIDC sign-in per environment, SARIF to code scanning, one evidence bundle per environment', async () => {
    const result = await generate('github', exampleCatalog, ['staging', 'production'])
    expect(await githubProblems(result.content)).toEqual([])
    const workflow = parse(result.content)
    const login = workflow.jobs.drill.steps.find((s: any) => s.uses === 'azure/login@v2')
    expect(login.with['client-id']).toBe('${{ secrets.AZURE_CLIENT_ID }}')
    expect(workflow.jobs.check.steps.find((s: any) => s.uses === 'github/codeql-action/upload-sarif@v3')).toBeDefined()
    expect(workflow.jobs.evidence.strategy.matrix.include.map((m: any) => m.environment)).toEqual(['staging', 'production'])
    expect(workflow.jobs.drill.concurrency.group).toBe('opsbook-${{ matrix.environment }}-${{ matrix.group }}')
  })

  it('the parser check is real: a workflow with a misspelt key or a bad expression is rejected', async () => {
    const result = await generate('github', join(repoRoot, 'runbooks.yaml'))
    expect(await githubProblems(result.content.replace('runs-on:', 'runs_on:'))).not.toEqual([])
    expect(await githubProblems(result.content.replace("steps.gate.outputs.open == 'true'", "steps.gate.outputs.open == 'true' &&"))).not.toEqual([])
  })

  it('a custom cron is checked and used as given, with a warning that it is not aligned with the windows', async () => {
    const result = await generate('github', join(repoRoot, 'runbooks.yaml'), ['local'], '0 3 * * 0')
    expect(parse(result.content).on.schedule).toEqual([{cron: '0 3 * * 0'}])
    expect(result.warnings.join()).toMatch(/not aligned/)
    await expect(generate('github', join(repoRoot, 'runbooks.yaml'), ['local'], 'every sunday')).rejects.toThrow(/five fields/)
  })
})

describe('ci init azure-pipelines', () => {
  for (const [name, file, envs] of [
    ['the sample catalog', join(repoRoot, 'runbooks.yaml'), []],
    ['the Azure example (service connections, AzureCLI@2)', exampleCatalog, ['staging', 'production']],
  ] as const) {
    it(`${name}: valid against the Azure Pipelines schema`, async () => {
      const result = await generate('azure-pipelines', file, [...envs])
      // Azure Pipelines reads every scalar as a string (the schema spells booleans as "true"/"false" patterns).
      const document = parse(result.content, {schema: 'failsafe'})
      const ok = validatePipeline(document)
      expect(ok ? [] : validatePipeline.errors!.slice(0, 5).map((e: {instancePath: string; message?: string}) => `${e.instancePath} ${e.message}`)).toEqual([])
      // displayName is the cron line: the gate reads it back from Build.CronSchedule.DisplayName.
      for (const schedule of document.schedules) expect(schedule.displayName).toBe(schedule.cron)
      const evidence = document.jobs.find((j: any) => j.job === 'evidence')
      expect(evidence.dependsOn).toContain('check')
      if (envs.length > 0) expect(JSON.stringify(document.jobs)).toMatch(/"azureSubscription":"opsbook-production"/)
    })
  }

  it('the schema check is real: a pipeline with a misspelt key is rejected', async () => {
    const result = await generate('azure-pipelines', join(repoRoot, 'runbooks.yaml'))
    const document = parse(result.content, {schema: 'failsafe'})
    expect(validatePipeline(document)).toBe(true)
    document.jobs[0].stepz = document.jobs[0].steps
    delete document.jobs[0].steps
    expect(validatePipeline(document)).toBe(false)
  })
})

describe('opsbook ci init (CLI)', () => {
  it('--dry-run prints the workflow and writes nothing; a second init refuses to replace a changed file without --force', async () => {
    const dir = scratchDir()
    const dry = await runCli(['ci', 'init', 'github', '--env', 'local', '--dry-run'], {cwd: dir})
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/^# Generated by `opsbook ci init github --env local --schedule 'quarterly'`/)
    expect(existsSync(join(dir, '.github'))).toBe(false)
    // The dry run above is the real process; the same command's other outcomes run in-process (no start-up cost).
    const written = await runCliInProcess(['ci', 'init', 'github', '--env', 'local'], {cwd: dir})
    expect(written.code).toBe(0)
    const file = join(dir, '.github', 'workflows', 'opsbook-dr-drill.yml')
    expect(readFileSync(file, 'utf8')).toBe(dry.stdout)
    writeFileSync(file, 'name: edited by hand\n')
    const again = await runCliInProcess(['ci', 'init', 'github', '--env', 'local'], {cwd: dir})
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/exists and differs.*\n.*--force/)
    expect(readFileSync(file, 'utf8')).toBe('name: edited by hand\n')
    const unknown = await runCliInProcess(['ci', 'init', 'github', '--env', 'nope', '--dry-run'], {cwd: dir})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--env nope: no such environment/)
  }, 180_000)
})
