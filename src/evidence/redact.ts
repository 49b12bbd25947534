/**
 * Redaction applied before anything is written or shown: registered secret values (secret params, values actions
 * mark with `ctx.secret()`), plus anything shaped like a credential even if nobody registered it — SAS tokens,
 * storage account keys, connection-string passwords, bearer tokens / JWTs and `x-ms-*` key headers.
 * Chaos Toolkit's journals leaked secrets for years (chaostoolkit#178); shape-based rules are the safety net.
 */

export const REDACTED = '[REDACTED]'

/** Values shorter than this are not treated as secrets: replacing "1" or "on" everywhere would shred every line. */
const MIN_SECRET_LENGTH = 4

/** Characters that can appear inside a URL query value. */
const Q = `[^&\\s"'<>#;,)\\]}]`

interface Rule {
  pattern: RegExp
  replace: string | ((match: string, ...groups: string[]) => string)
}

const RULES: Rule[] = [
  // A whole SAS query string (`?sv=…&ss=…&sig=…`): every key=value run that contains `sig=`.
  {
    pattern: new RegExp(`(\\?)?(?:\\b[a-z]{1,6}=${Q}*&)*\\bsig=${Q}+(?:&[a-z]{1,6}=${Q}*)*`, 'gi'),
    replace: (_m, q: string | undefined) => `${q ?? ''}${REDACTED}`,
  },
  // Connection-string parts: AccountKey=…; SharedAccessKey=…; SharedAccessSignature=…; Password=…; pwd=…
  {
    pattern: /\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|PrimaryKey|SecondaryKey)\s*=\s*("?)[^;"'\s]+\2/gi,
    replace: (_m, key: string) => `${key}=${REDACTED}`,
  },
  // Credentials in URLs: scheme://user:password@host
  {pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+):[^\s@/"']+@/gi, replace: (_m, head: string) => `${head}:${REDACTED}@`},
  // Authorization headers.
  {pattern: /\b(Bearer|Basic|SharedKey)\s+[A-Za-z0-9\-._~+/:]+=*/g, replace: (_m, scheme: string) => `${scheme} ${REDACTED}`},
  // JWTs (Azure AD access tokens), even without a Bearer prefix.
  {pattern: /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, replace: REDACTED},
  // x-ms-* headers that carry keys, tokens or signatures, e.g. `x-ms-encryption-key: …`.
  {
    pattern: /\b(x-ms-[a-z0-9-]*(?:key|authorization|token|signature|secret)[a-z0-9-]*)("?\s*[:=]\s*"?)[^\s",;}]+/gi,
    replace: (_m, header: string, sep: string) => `${header}${sep}${REDACTED}`,
  },
  // Storage account keys (64 bytes → 88 base64 chars) and Redis access keys (32 bytes → 44 chars).
  {pattern: /(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]{86}==|[A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])/g, replace: REDACTED},
]

/** Object keys whose string values are secret whatever they look like. */
const SENSITIVE_KEY =
  /^(?:password|passwd|pwd|secret|clientsecret|client_secret|apikey|api_key|accountkey|primarykey|secondarykey|accesskey|sastoken|connectionstring|authorization|token|accesstoken|access_token|refreshtoken|refresh_token|primaryconnectionstring|secondaryconnectionstring|x-ms-[a-z0-9-]*(?:key|authorization|token|signature)[a-z0-9-]*)$/i

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Holds the run's secret values and removes them, and credential-shaped text, from anything about to be written. */
export class Redactor {
  private readonly secrets = new Set<string>()
  private secretPattern: RegExp | undefined

  /** Register a value (and its URL- and JSON-encoded forms) to be replaced everywhere from now on. */
  add(secret: string): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) return
    const before = this.secrets.size
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])
      if (form.length >= MIN_SECRET_LENGTH) this.secrets.add(form)
    if (this.secrets.size !== before) {
      // Longest first so a secret that contains another is replaced whole.
      const alternatives = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp)
      this.secretPattern = new RegExp(alternatives.join('|'), 'g')
    }
  }

  /** How many distinct secret forms are registered (for tests and diagnostics; never the values). */
  get size(): number {
    return this.secrets.size
  }

  /** `text` with registered secrets and credential-shaped substrings replaced by `[REDACTED]`. */
  redactText(text: string): string {
    let out = text
    if (this.secretPattern) out = out.replace(this.secretPattern, REDACTED)
    for (const rule of RULES) out = out.replace(rule.pattern, rule.replace as never)
    return out
  }

  /**
   * A redacted deep copy of `value`: every string (and object key) passes through `redactText`, and string values
   * under sensitive keys (`password`, `accountKey`, `connectionString`, …) are replaced whole.
   */
  redact<T>(value: T): T {
    return this.walk(value, new WeakSet()) as T
  }

  private walk(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redactText(value)
    if (Array.isArray(value)) {
      if (seen.has(value)) return '[Circular]'
      seen.add(value)
      const out = value.map((item) => this.walk(item, seen))
      seen.delete(value)
      return out
    }
    if (value instanceof Error) return {name: value.name, message: this.redactText(value.message)}
    if (isPlainObject(value)) {
      if (seen.has(value)) return '[Circular]'
      seen.add(value)
      const out: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(value)) {
        const safeKey = this.redactText(key)
        out[safeKey] = typeof item === 'string' && item.length > 0 && SENSITIVE_KEY.test(key) ? REDACTED : this.walk(item, seen)
      }
      seen.delete(value)
      return out
    }
    return value
  }
}
