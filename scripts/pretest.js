#!/usr/bin/env node
// `npm test`'s pretest: the build (dist, which the CLI tests run) and the typecheck of src + test at once, one per
// core, instead of one after the other. Both are incremental (tsbuildinfo), so a second `npm test` recompiles only
// what changed. Fails if either fails, with its output.
import {spawn} from 'node:child_process'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const run = (script) =>
  new Promise((resolve) => {
    const child = spawn(npm, ['run', '--silent', script], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('close', (code) => resolve({script, code, output}))
  })

const results = await Promise.all([run('build'), run('typecheck')])
for (const {script, code, output} of results) {
  if (output.trim()) process.stdout.write(`> ${script}\n${output}`)
  if (code !== 0) process.exitCode = 1
}
