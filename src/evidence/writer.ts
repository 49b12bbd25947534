/**
 * The one way opsbook puts text into a file: journal lines, summary.json, request.json, report.md, upload state,
 * exports and `check --output` all go through here, so redaction happens by construction instead of each caller
 * remembering it (issue 16: request.json was written unredacted). JSON is redacted value by value (shape rules,
 * sensitive keys, registered secrets) and then once more as text, for the spellings serialisation creates
 * (escaped quotes); text is redacted as text. Byte copies of evidence that already went through here (a journal
 * downloaded from Blob to resume, the run files inside an evidence bundle) are the only files written otherwise.
 */
import {existsSync, statSync} from 'node:fs'
import {mkdir, open, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import {OpsbookError, ValidationError} from '../errors.js'
import {Redactor} from './redact.js'

/** What to write: a value to serialise as JSON (pretty by default, one line with `line: true`), or text. */
export type RedactedContent = {json: unknown; line?: boolean} | {text: string}

/** A shape-only redactor for writers that have no run (exports, check output): credential shapes still go. */
const SHAPES_ONLY = new Redactor()

let processRedactor: Redactor | undefined
/**
 * The redactor of this process's run: the session registers its secrets here, and the CLI's own stdout/stderr
 * (results, warnings, errors) pass through it, so what reaches the terminal is redacted like what reaches files.
 */
export function outputRedactor(): Redactor {
  processRedactor ??= new Redactor()
  return processRedactor
}

/** A command starts with a redactor of its own (the base command's init): secrets of one command are its own. */
export function startCommandRedactor(): void {
  processRedactor = new Redactor()
}

/**
 * A run starts with a redactor of its own too, which becomes the process's output redactor (the command's output
 * after the run hides what the run's journal hides). A process that runs many runs (the soak, a host embedding
 * opsbook) would otherwise keep every earlier run's secrets — each a dozen spellings — in one ever longer pattern
 * that every later line is matched against (issue 16 soak: memory grew with each drill).
 */
export function startRunRedactor(): Redactor {
  startCommandRedactor()
  return processRedactor!
}

/** The redacted bytes of `content`, exactly as `writeRedactedFile` would write them. */
export function redactedBytes(content: RedactedContent, redactor: Redactor = SHAPES_ONLY): Buffer {
  if ('text' in content) return Buffer.from(redactor.redactText(content.text), 'utf8')
  const safe = redactor.redact(content.json)
  const text = content.line ? JSON.stringify(safe) : `${JSON.stringify(safe, null, 2)}\n`
  // Serialising escapes quotes and backslashes: a registered secret's escaped spelling is caught here. Shape rules
  // already ran on every string, and running them over JSON text could cut across its quotes.
  return Buffer.from(redactor.redactText(text, {shapes: false}), 'utf8')
}

/**
 * Write `content`, redacted, to `path` (parent folders created). `atomic` (default) writes a temporary file and
 * renames it, so a crash never leaves half a file; `exclusive` fails if the file exists. Returns the bytes written.
 */
export async function writeRedactedFile(
  path: string,
  content: RedactedContent,
  options: {redactor?: Redactor; atomic?: boolean; exclusive?: boolean} = {},
): Promise<Buffer> {
  const bytes = redactedBytes(content, options.redactor)
  await mkdir(dirname(path), {recursive: true})
  if (options.exclusive) {
    const handle = await open(path, 'wx')
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
  } else if (options.atomic === false) {
    await writeFile(path, bytes)
  } else {
    const temporary = `${path}.tmp-${process.pid}`
    try {
      await writeFile(temporary, bytes)
      await rename(temporary, path)
    } catch (error) {
      // A full disk (or a rename refused) must not leave a half-written temporary file beside the evidence.
      await rm(temporary, {force: true}).catch(() => undefined)
      throw error
    }
  }
  return bytes
}

/**
 * A command's `--output` file, checked before any work: a folder is invalid input (exit 2), said before an export is
 * built and registered in Blob — `evidence export --output /tmp` ended "Error: EISDIR: illegal operation on a
 * directory" with exit 1 (adversary8).
 */
export function assertOutputFile(path: string, flag = '--output'): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new ValidationError([{code: 'output-is-folder', message: `${flag} ${path} is a folder; give the path of the file to write (in that folder or elsewhere)`}])
}

/** Write a command's output file (parent folders created); a full disk says so instead of a bare ENOSPC. */
export async function writeOutputFile(path: string, bytes: Uint8Array): Promise<void> {
  assertOutputFile(path)
  try {
    await mkdir(dirname(path), {recursive: true})
    await writeFile(path, bytes)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new OpsbookError(`cannot write ${path}: the disk is full (${code}); free space and run the command again`, {code: 'disk-full', cause: error})
    throw error
  }
}
