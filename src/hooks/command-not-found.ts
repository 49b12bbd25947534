/**
 * A misspelt command gets a suggestion instead of oclif's bare "command rn:dr-drill not found": the closest command
 * by edit distance, with the rest of what was typed kept as its arguments. Invalid input: exit 2. Light on purpose
 * (it runs before any command): only the command ids from the manifest.
 */
import type {Hook} from '@oclif/core'
import {closestName} from '../support/closest-name.js'

const hook: Hook.CommandNotFound = async function (options) {
  // oclif joins the words typed into one id with ':' (`rn dr-drill` → `rn:dr-drill`); try the longest known prefix.
  const words = options.id.split(':')
  const ids = options.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const shown = (id: string) => id.replaceAll(':', ' ')
  let suggestion: string | undefined
  for (let take = Math.min(words.length, 2); take >= 1 && !suggestion; take--) {
    const typed = words.slice(0, take).join(':')
    const close = closestName(typed, ids.filter((id) => id.split(':').length === take))
    if (close) suggestion = [shown(close), ...words.slice(take), ...(options.argv ?? [])].join(' ')
  }
  const bin = options.config.bin
  const message = `"${shown(options.id)}" is not an ${bin} command${suggestion ? `; did you mean: ${bin} ${suggestion}` : ''}\nSee \`${bin} --help\` for the list.`
  process.stderr.write(`Invalid input: ${message}\n`)
  process.exit(2)
}

export default hook
