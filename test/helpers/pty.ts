/**
 * Runs a command on a real pseudo-terminal (util-linux `script`), answering prompts as they appear on screen.
 */
import {spawn} from 'node:child_process'

/**
 * Inquirer draws a waiting prompt with `?` and redraws it with `✔` once answered; its key handler is attached in the
 * same tick as the first draw, so a prompt's text on screen means it listens. Typing before the previous prompt took
 * its answer could feed two answers to one prompt (prompts may repeat the same text): each answer therefore waits
 * for the previous prompt's `✔` redraw, then for its own prompt drawn waiting after it. Conditions, never a delay.
 */
export function onPty(
  command: string,
  cwd: string,
  /** `refused`: the prompt will reject this answer and stay open, so the next answer need not wait for its `✔`. */
  answers: Array<{when: string; send: string; refused?: boolean}>,
  options: {env?: Record<string, string>; timeoutMs?: number} = {},
): Promise<{code: number | null; screen: string}> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', COLUMNS: '120', ...options.env}
    delete env.CI
    const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${command}`, '/dev/null'], {cwd, env})
    let screen = ''
    /** Where the next prompt may start: after the previous prompt's answered redraw. */
    let from = 0
    /** The prompt just answered, until its answered (`✔`) redraw appears. */
    let answering: {when: string; at: number} | undefined
    const pending = [...answers]
    const onData = (data: Buffer) => {
      screen += String(data)
      // Positions below are in the text without escape sequences (`[?25l` would read as a prompt mark).
      const text = screen.replaceAll(ESCAPE, '')
      for (;;) {
        if (answering) {
          const done = text.indexOf('✔', answering.at)
          const redrawn = done < 0 ? -1 : text.indexOf(answering.when, done)
          if (redrawn < 0) return
          from = redrawn + answering.when.length
          answering = undefined
        }
        const next = pending[0]
        if (!next || !waitingPrompt(text, from, next.when)) return
        pending.shift()
        if (next.refused) from = text.length
        else answering = {when: next.when, at: text.length}
        child.stdin.write(next.send)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`timed out; screen so far:\n${screen}`))
    }, options.timeoutMs ?? 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, screen})
    })
  })
}

const ESCAPE = /\u001B\[[0-9;?]*[A-Za-z]/g

/** Whether `when` appears after `from` in a prompt drawn waiting: the nearest prompt mark before it is `?`, not `✔`. */
function waitingPrompt(text: string, from: number, when: string): boolean {
  for (let at = text.indexOf(when, from); at >= 0; at = text.indexOf(when, at + 1)) {
    const before = text.slice(from, at)
    if (before.lastIndexOf('?') > before.lastIndexOf('✔')) return true
  }
  return false
}
