/**
 * Runs a command on a real pseudo-terminal (util-linux `script`), answering prompts as they appear on screen.
 */
import {spawn} from 'node:child_process'

export function onPty(
  command: string,
  cwd: string,
  answers: Array<{when: string; send: string}>,
  options: {env?: Record<string, string>; timeoutMs?: number} = {},
): Promise<{code: number | null; screen: string}> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', COLUMNS: '120', ...options.env}
    delete env.CI
    const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${command}`, '/dev/null'], {cwd, env})
    let screen = ''
    let answered = 0
    const pending = [...answers]
    const onData = (data: Buffer) => {
      screen += String(data)
      // Each answer waits for its own prompt text to appear after the previous answer.
      if (pending.length > 0 && screen.slice(answered).includes(pending[0]!.when)) {
        answered = screen.length
        const send = pending.shift()!.send
        // The prompt's text can reach the screen a moment before it listens to keys: give it that moment.
        setTimeout(() => child.stdin.write(send), 300)
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
