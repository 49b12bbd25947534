/**
 * An Azure Pipelines definition for the unattended drill (YAML schema: learn.microsoft.com/azure/devops/pipelines/yaml-schema).
 * Sign-in is an Azure Resource Manager service connection per environment (`opsbook-<env>`, workload identity
 * federation), used through the AzureCLI@2 task; opsbook's DefaultAzureCredential uses that Azure CLI session. A
 * service connection must be known when the YAML is compiled, so each (environment, window group) is a job of its own
 * rather than a matrix entry. The cron that fired reaches the gate as `Build.CronSchedule.DisplayName`, which is why
 * every schedule's displayName is its cron line
 * (learn.microsoft.com/azure/devops/pipelines/process/scheduled-triggers#buildcronscheduledisplayname-variable).
 */
import {Document} from 'yaml'
import {catalogFlag, componentFlags, drillJobId, type PipelineEnvironment, type PipelineModel} from './pipeline.js'

export const AZURE_PIPELINES_FILE = 'azure-pipelines.opsbook.yml'
/** A string parameter needs a default; this one means "no override". */
const NO_OVERRIDE = 'none'

export function serviceConnectionName(envName: string): string {
  return `opsbook-${envName}`
}

/** A step that runs `script`: through AzureCLI@2 (signed in) for Azure environments, plain for the emulator. */
function opsbookStep(env: PipelineEnvironment, displayName: string, script: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (env.environment.cloud !== 'azure') return {script, displayName, ...extra}
  return {
    task: 'AzureCLI@2',
    displayName,
    inputs: {azureSubscription: serviceConnectionName(env.name), scriptType: 'bash', scriptLocation: 'inlineScript', inlineScript: script},
    ...extra,
  }
}

export function azurePipeline(model: PipelineModel, header: string): string {
  const catalog = catalogFlag(model)
  const setup = [{checkout: 'self'}, {task: 'NodeTool@0', displayName: 'Node.js 20', inputs: {versionSpec: '20.x'}}, {script: 'npm ci', displayName: 'npm ci'}]
  const gateOpen = "eq(variables['gate.open'], 'true')"
  const drillJobs = model.environments.flatMap((env) =>
    env.groups.map((group) => ({
      job: drillJobId(env.name, group.name).replaceAll('-', '_'),
      displayName: `drill ${env.name} (${group.name} window)`,
      timeoutInMinutes: 360,
      steps: [
        ...setup,
        {
          script: `npx opsbook ci gate --env ${env.name} ${componentFlags(group)} --schedule '${model.schedule}' --fired "$FIRED" --override-reason "$OVERRIDE_REASON"${catalog}`,
          name: 'gate',
          displayName: 'Maintenance window gate',
          env: {FIRED: '$(Build.CronSchedule.DisplayName)', OVERRIDE_REASON: '${{ parameters.overrideReason }}'},
        },
        opsbookStep(
          env,
          'DR drill',
          `reason="$OVERRIDE_REASON"; [ "$reason" = "${NO_OVERRIDE}" ] && reason=""\nnpx opsbook run dr-drill --env ${env.name} ${componentFlags(group)} --yes --json --junit opsbook-drill.xml\${reason:+ --override-window --reason "$reason"}${catalog} > opsbook-drill.json`,
          {condition: `and(succeeded(), ${gateOpen})`, env: {OVERRIDE_REASON: '${{ parameters.overrideReason }}'}},
        ),
        {
          task: 'PublishTestResults@2',
          displayName: 'Drill steps and objectives as test results',
          condition: `and(always(), ${gateOpen})`,
          inputs: {testResultsFormat: 'JUnit', testResultsFiles: 'opsbook-drill.xml', testRunTitle: `opsbook drill ${env.name} ${group.name}`},
        },
        {
          task: 'PublishPipelineArtifact@1',
          displayName: 'Keep the drill result',
          condition: `and(always(), ${gateOpen})`,
          inputs: {targetPath: 'opsbook-drill.json', artifact: `opsbook-drill-${env.name}-${group.name}`},
        },
      ],
    })),
  )
  const checkSteps = model.environments.map((env) =>
    opsbookStep(env, `security checks ${env.name}`, `npx opsbook check --env ${env.name} --format sarif --output $(Build.ArtifactStagingDirectory)/sarif/opsbook-${env.name}.sarif --fail-on high${catalog}`, {
      condition: 'succeededOrFailed()',
    }),
  )
  const evidenceSteps = model.environments.flatMap((env) => [
    opsbookStep(env, `export evidence ${env.name}`, `npx opsbook evidence export --env ${env.name} --source blob --format zip --output $(Build.ArtifactStagingDirectory)/evidence/opsbook-evidence-${env.name}.zip${catalog}`, {
      condition: 'succeededOrFailed()',
    }),
    {script: `npx opsbook evidence verify $(Build.ArtifactStagingDirectory)/evidence/opsbook-evidence-${env.name}.zip${catalog}`, displayName: `verify evidence ${env.name}`, condition: 'succeededOrFailed()'},
  ])
  const pipeline = {
    trigger: 'none',
    pr: 'none',
    schedules: model.cronLines.map((line) => ({cron: line.cron, displayName: line.cron, branches: {include: ['main']}, always: true})),
    parameters: [{name: 'overrideReason', displayName: `Drill now even outside the maintenance window: the reason (journaled). "${NO_OVERRIDE}": only inside the window.`, type: 'string', default: NO_OVERRIDE}],
    // Runs of this pipeline queue one after another (the per-environment exclusive lock).
    lockBehavior: 'sequential',
    pool: {vmImage: 'ubuntu-latest'},
    jobs: [
      ...drillJobs,
      {
        job: 'check',
        displayName: 'security checks',
        steps: [
          ...setup,
          ...checkSteps,
          // The "SARIF SAST Scans Tab" extension shows SARIF files published as the CodeAnalysisLogs artifact.
          {task: 'PublishPipelineArtifact@1', displayName: 'SARIF for the Scans tab', condition: 'always()', inputs: {targetPath: '$(Build.ArtifactStagingDirectory)/sarif', artifact: 'CodeAnalysisLogs'}},
        ],
      },
      {
        job: 'evidence',
        displayName: 'evidence bundle',
        dependsOn: [...drillJobs.map((j) => j.job), 'check'],
        condition: 'always()',
        steps: [
          ...setup,
          ...evidenceSteps,
          {task: 'PublishPipelineArtifact@1', displayName: 'Keep the evidence bundles', condition: 'always()', inputs: {targetPath: '$(Build.ArtifactStagingDirectory)/evidence', artifact: 'opsbook-evidence'}},
        ],
      },
    ],
  }
  const doc = new Document(pipeline)
  doc.commentBefore = header
  model.cronLines.forEach((line, index) => {
    const node = doc.getIn(['schedules', index], true) as {commentBefore?: string} | undefined
    if (node) node.commentBefore = ` ${line.jobs.join(', ')}: ${line.note}`
  })
  return doc.toString({lineWidth: 0})
}
