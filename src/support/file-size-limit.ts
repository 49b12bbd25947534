/**
 * The process's file-size limit (RLIMIT_FSIZE, what `ulimit -f` sets), for saying why writes fail: Node ignores
 * SIGXFSZ, so its own writes fail with EFBIG, but child processes it starts (redis-server, postgres) inherit the limit
 * and are killed by SIGXFSZ, and Azurite answers a failed write with a bare HTTP 500.
 */
import {readFileSync} from 'node:fs'

/** The limit in bytes, read from /proc/self/limits (Linux); undefined when unlimited or unknown. */
export function fileSizeLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string
  try {
    text = read()
  } catch {
    return undefined
  }
  // "Max file size             unlimited            unlimited            bytes"
  const soft = /^Max file size\s+(\S+)/m.exec(text)?.[1]
  if (!soft || soft === 'unlimited') return undefined
  const bytes = Number(soft)
  return Number.isFinite(bytes) ? bytes : undefined
}
