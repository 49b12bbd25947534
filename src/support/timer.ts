/**
 * setTimeout's delay is a signed 32-bit count of milliseconds: a longer one (24.8 days and more) is set to 1 ms, with
 * only a TimeoutOverflowWarning (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args). `core.wait P30D`
 * ended after 2 ms and said succeeded, and a step with `timeout: P30D` timed out at once (adversary8). A long delay
 * is waited in pieces instead.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

export interface LongTimer {
  clear(): void
}

/** Call `callback` once `ms` have passed, however long that is; `clear()` cancels it. */
export function setLongTimeout(callback: () => void, ms: number): LongTimer {
  if (!(ms > MAX_TIMER_MS)) {
    const timer = setTimeout(callback, ms)
    return {clear: () => clearTimeout(timer)}
  }
  const deadline = Date.now() + ms
  let timer: NodeJS.Timeout
  const arm = (left: number) => {
    timer = setTimeout(() => {
      const rest = deadline - Date.now()
      if (rest > 0) arm(rest)
      else callback()
    }, Math.min(left, MAX_TIMER_MS))
  }
  arm(ms)
  return {clear: () => clearTimeout(timer)}
}
