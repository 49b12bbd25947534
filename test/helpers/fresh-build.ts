/**
 * Vitest global setup: the CLI the tests start (bin/run.js, and runCliInProcess) runs the build in dist/, as users run
 * it — not src/ through a TypeScript loader. `npm test` builds first (pretest); a single file run with
 * `npx vitest run <file>` after editing src/ would otherwise test the previous build. So when any source file is newer
 * than the last build, build again first (incremental: only what changed is compiled), saying so.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

const root = join(import.meta.dirname, '..', '..')

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

export function setup(): void {
  const built = join(root, 'dist', '.tsbuildinfo')
  const manifest = join(root, 'oclif.manifest.json')
  const source = newestSource(join(root, 'src'))
  if (existsSync(built) && existsSync(manifest) && statSync(built).mtimeMs >= source && statSync(manifest).mtimeMs >= source) return
  process.stdout.write('src/ is newer than the build in dist/: npm run build\n')
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], {cwd: root, stdio: 'inherit'})
}
