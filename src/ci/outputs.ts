/**
 * Talking to the CI engine a command runs in: step outputs, job summaries and annotations. GitHub Actions reads files
 * named by environment variables (docs.github.com/actions/reference/workflows-and-actions/workflow-commands:
 * GITHUB_OUTPUT, GITHUB_STEP_SUMMARY); Azure Pipelines reads `##vso[…]` logging commands from stdout
 * (learn.microsoft.com/azure/devops/pipelines/scripts/logging-commands), detected by TF_BUILD.
 */
import {appendFile, mkdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {tmpdir} from 'node:os'

export type CiEngineName = 'github' | 'azure-pipelines' | undefined

export function ciEngine(env: NodeJS.ProcessEnv = process.env): CiEngineName {
  if (env.GITHUB_ACTIONS === 'true' || env.GITHUB_OUTPUT || env.GITHUB_STEP_SUMMARY) return 'github'
  if (env.TF_BUILD) return 'azure-pipelines'
  return undefined
}

/** Logging-command values must not carry line breaks (they end the command) or `%` escapes. */
function escapeVso(value: string): string {
  return value.replaceAll('%', '%AZP25').replaceAll('\r', '%0D').replaceAll('\n', '%0A').replaceAll(']', '%5D').replaceAll(';', '%3B')
}

export async function publishGate(open: boolean, env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (env.GITHUB_OUTPUT) await appendFile(env.GITHUB_OUTPUT, `open=${open}\n`)
  if (env.TF_BUILD) out.write(`##vso[task.setvariable variable=open;isOutput=true]${open}\n`)
}

/**
 * Append a Markdown summary: to `--summary <file>` when given, else to GITHUB_STEP_SUMMARY, else (Azure Pipelines)
 * to a file uploaded with `task.uploadsummary`. Returns the file written, if any.
 */
export async function publishSummary(markdown: string, options: {file?: string; name: string; env?: NodeJS.ProcessEnv; out?: NodeJS.WritableStream}): Promise<string | undefined> {
  const env = options.env ?? process.env
  const out = options.out ?? process.stdout
  const target = options.file ?? env.GITHUB_STEP_SUMMARY
  if (target) {
    await mkdir(dirname(target), {recursive: true})
    await appendFile(target, markdown.endsWith('\n') ? markdown : `${markdown}\n`)
    return target
  }
  if (env.TF_BUILD) {
    const file = join(env.AGENT_TEMPDIRECTORY ?? tmpdir(), `opsbook-${options.name}.md`)
    await writeFile(file, markdown)
    out.write(`##vso[task.uploadsummary]${file}\n`)
    return file
  }
  return undefined
}

/** Azure Pipelines error/warning annotations (GitHub gets the summary; its annotations come from SARIF and JUnit). */
export function publishIssues(issues: Array<{type: 'error' | 'warning'; message: string}>, env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout): void {
  if (!env.TF_BUILD) return
  for (const issue of issues) out.write(`##vso[task.logissue type=${issue.type}]${escapeVso(issue.message)}\n`)
}
