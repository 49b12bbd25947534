/**
 * A GitHub Actions workflow for the unattended drill (workflow syntax:
 * docs.github.com/actions/writing-workflows/workflow-syntax-for-github-actions). Sign-in is workload-identity
 * federation: `azure/login` exchanges the job's OIDC token (permission `id-token: write`) for an Entra token of the
 * app registration whose client id is the environment's AZURE_CLIENT_ID secret; opsbook's DefaultAzureCredential then
 * uses that Azure CLI session. Values from the event (the cron that fired, a manual override reason) reach the shell
 * through `env:`, never spliced into the script, so they cannot inject commands.
 */
import {Document} from 'yaml'
import {catalogFlag, componentFlags, type PipelineModel} from './pipeline.js'

export const GITHUB_WORKFLOW_FILE = '.github/workflows/opsbook-dr-drill.yml'

export function githubWorkflow(model: PipelineModel, header: string): string {
  const catalog = catalogFlag(model)
  const anyAzure = model.environments.some((e) => e.environment.cloud === 'azure')
  const setup = [
    {uses: 'actions/checkout@v4'},
    {uses: 'actions/setup-node@v4', with: {'node-version': 20, cache: 'npm'}},
    {run: 'npm ci'},
    ...(anyAzure
      ? [
          {
            name: 'Azure sign-in (OIDC workload identity federation)',
            if: "matrix.cloud == 'azure'",
            uses: 'azure/login@v2',
            with: {'client-id': '${{ secrets.AZURE_CLIENT_ID }}', 'tenant-id': '${{ secrets.AZURE_TENANT_ID }}', 'subscription-id': '${{ matrix.subscription }}'},
          },
        ]
      : []),
  ]
  const drillMatrix = model.environments.flatMap((env) =>
    env.groups.map((group) => ({
      environment: env.name,
      group: group.name,
      components: componentFlags(group),
      cloud: env.environment.cloud,
      subscription: env.environment.subscription,
    })),
  )
  const envMatrix = model.environments.map((env) => ({environment: env.name, cloud: env.environment.cloud, subscription: env.environment.subscription}))
  const workflow = {
    name: 'opsbook DR drill',
    on: {
      schedule: model.cronLines.map((line) => ({cron: line.cron})),
      workflow_dispatch: {
        inputs: {
          override_reason: {
            description: 'Drill now even outside the maintenance window (production: journaled as the override reason). Empty: only inside the window.',
            required: false,
            type: 'string',
            default: '',
          },
        },
      },
    },
    permissions: {contents: 'read', 'id-token': 'write', 'security-events': 'write'},
    jobs: {
      drill: {
        name: 'drill ${{ matrix.environment }} (${{ matrix.group }} window)',
        'runs-on': 'ubuntu-latest',
        environment: '${{ matrix.environment }}',
        // One queue per environment and window group: GitHub keeps one pending job per concurrency group and cancels
        // the rest, so a single per-environment group would cancel sibling groups; target leases in Blob guard the
        // components across jobs and machines.
        concurrency: {group: 'opsbook-${{ matrix.environment }}-${{ matrix.group }}', 'cancel-in-progress': false},
        'timeout-minutes': 360,
        strategy: {'fail-fast': false, matrix: {include: drillMatrix}},
        steps: [
          ...setup,
          {
            name: 'Maintenance window gate',
            id: 'gate',
            env: {FIRED: '${{ github.event.schedule }}', OVERRIDE_REASON: '${{ inputs.override_reason }}'},
            run: `npx opsbook ci gate --env \${{ matrix.environment }} \${{ matrix.components }} --schedule '${model.schedule}' --fired "$FIRED" --override-reason "$OVERRIDE_REASON"${catalog}`,
          },
          {
            name: 'DR drill',
            if: "steps.gate.outputs.open == 'true'",
            env: {OVERRIDE_REASON: '${{ inputs.override_reason }}'},
            run: `npx opsbook run dr-drill --env \${{ matrix.environment }} \${{ matrix.components }} --yes --json --junit opsbook-drill.xml\${OVERRIDE_REASON:+ --override-window --reason "$OVERRIDE_REASON"}${catalog} > opsbook-drill.json`,
          },
          {
            name: 'Keep the drill result and JUnit report',
            if: "always() && steps.gate.outputs.open == 'true'",
            uses: 'actions/upload-artifact@v4',
            with: {name: 'opsbook-drill-${{ matrix.environment }}-${{ matrix.group }}', path: 'opsbook-drill.json\nopsbook-drill.xml', 'if-no-files-found': 'warn'},
          },
        ],
      },
      check: {
        name: 'security checks ${{ matrix.environment }}',
        'runs-on': 'ubuntu-latest',
        environment: '${{ matrix.environment }}',
        strategy: {'fail-fast': false, matrix: {include: envMatrix}},
        steps: [
          ...setup,
          {name: 'Security checklist (SARIF)', run: `npx opsbook check --env \${{ matrix.environment }} --format sarif --output opsbook-\${{ matrix.environment }}.sarif --fail-on high${catalog}`},
          {
            name: 'Upload to code scanning',
            if: "always() && hashFiles(format('opsbook-{0}.sarif', matrix.environment)) != ''",
            uses: 'github/codeql-action/upload-sarif@v3',
            with: {sarif_file: 'opsbook-${{ matrix.environment }}.sarif', category: 'opsbook-${{ matrix.environment }}'},
          },
        ],
      },
      evidence: {
        name: 'evidence ${{ matrix.environment }}',
        needs: ['drill', 'check'],
        if: 'always()',
        'runs-on': 'ubuntu-latest',
        environment: '${{ matrix.environment }}',
        strategy: {'fail-fast': false, matrix: {include: envMatrix}},
        steps: [
          ...setup,
          {
            name: 'Export every run of the environment from its evidence container',
            run: `npx opsbook evidence export --env \${{ matrix.environment }} --source blob --format zip --output opsbook-evidence-\${{ matrix.environment }}.zip${catalog}`,
          },
          {name: 'Verify the bundle', run: `npx opsbook evidence verify opsbook-evidence-\${{ matrix.environment }}.zip --env \${{ matrix.environment }}${catalog}`},
          {
            name: 'Keep the evidence bundle',
            uses: 'actions/upload-artifact@v4',
            with: {name: 'opsbook-evidence-${{ matrix.environment }}', path: 'opsbook-evidence-${{ matrix.environment }}.zip', 'retention-days': 90},
          },
        ],
      },
    },
  }
  const doc = new Document(workflow)
  doc.commentBefore = header
  model.cronLines.forEach((line, index) => {
    const node = doc.getIn(['on', 'schedule', index], true) as {commentBefore?: string} | undefined
    if (node) node.commentBefore = ` ${line.jobs.join(', ')}: ${line.note}`
  })
  return doc.toString({lineWidth: 0})
}
