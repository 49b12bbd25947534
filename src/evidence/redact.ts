/**
 * Redaction applied before anything is written or shown: registered secret values (secret params, values actions
 * mark with `ctx.secret()`), plus anything shaped like a credential even if nobody registered it — SAS tokens,
 * storage account keys, connection-string passwords, bearer tokens / JWTs and `x-ms-*` key headers.
 * Chaos Toolkit's journals leaked secrets for years (chaostoolkit#178); shape-based rules are the safety net.
 */

export const REDACTED = '[REDACTED]'

/**
 * Values shorter than this cannot be redacted: replacing "1" or "on" everywhere would shred every line (and turn the
 * journal's counts into text). So opsbook refuses a shorter secret wherever it meets one instead of registering it
 * (README, secrets): a secret param, a param named like one, a secret input, a secret an action reads.
 */
export const MIN_SECRET_LENGTH = 4

/** Characters that can appear inside a URL query value. */
const Q = `[^&\\s"'<>#;,)\\]}]`

interface Rule {
  /** What the rule looks for (also how holdsSecret tells whether a value holds a credential). */
  pattern: RegExp
  replace: string | ((match: string, ...groups: string[]) => string)
  /** Redaction done by code instead of `pattern`/`replace`. */
  apply?: (text: string) => string
}

const SAS_SIG = new RegExp(`\\bsig=${Q}+`, 'gi')
const SAS_PAIR_AFTER = new RegExp(`(?:&[a-z]{1,6}=${Q}*)*`, 'iy')
const SAS_PAIR_KEY = /\b[a-z]{1,6}=/i
const NOT_Q = /[&\s"'<>#;,)\]}]/

/**
 * Every SAS query string (`?sv=…&ss=…&sig=…`, each key=value run that contains `sig=`) replaced whole, `?` kept. Found
 * from each `sig=` outwards, so the work is linear in the text: the single regex it replaces,
 * `(?:\b[a-z]{1,6}=Q*&)*\bsig=…`, tried every start of a long `a=b&a=b&…` run to its end (256 KB: 44 s of CPU holding
 * the event loop).
 */
function redactSasQueries(text: string): string {
  let out = ''
  let copied = 0
  SAS_SIG.lastIndex = 0
  for (let match = SAS_SIG.exec(text); match; match = SAS_SIG.exec(text)) {
    let start = match.index
    // Left: whole `key=value&` pairs, each a run of query characters ending at the `&` before `start`.
    while (start > copied && text[start - 1] === '&') {
      let segment = start - 1
      while (segment > copied && !NOT_Q.test(text[segment - 1]!)) segment--
      const key = SAS_PAIR_KEY.exec(text.slice(segment, start - 1))
      if (!key) break
      start = segment + key.index
      if (key.index > 0) break
    }
    if (start > copied && text[start - 1] === '?') start--
    const sigEnd = match.index + match[0].length
    SAS_PAIR_AFTER.lastIndex = sigEnd
    const after = SAS_PAIR_AFTER.exec(text)
    const end = after ? sigEnd + after[0].length : sigEnd
    out += `${text.slice(copied, start)}${text[start] === '?' ? '?' : ''}${REDACTED}`
    copied = end
    SAS_SIG.lastIndex = Math.max(end, match.index + 1)
  }
  return copied === 0 ? text : out + text.slice(copied)
}

const RULES: Rule[] = [
  // A whole SAS query string (`?sv=…&ss=…&sig=…`): every key=value run that contains `sig=`.
  {pattern: SAS_SIG, replace: REDACTED, apply: redactSasQueries},
  // Connection-string parts: AccountKey=…; SharedAccessKey=…; SharedAccessSignature=…; Password=…; pwd=…
  // A value may be quoted ("a;b" with "" for a quote, 'it''s' — the ADO.NET / Npgsql connection-string rules), quoted
  // inside JSON text (\"a;b\"), or bare, when it runs to the next `;`, quote or line end: spaces and apostrophes are
  // part of a bare password, so "Password=my pass word;" loses all three words (over-redaction is the safe side).
  {
    pattern: new RegExp(
      `\\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|PrimaryKey|SecondaryKey)\\s*=\\s*` +
        `(?:"(?:[^"]|"")*"|'(?:[^']|'')*'|\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"|[^;"\\r\\n]+)`,
      'gi',
    ),
    replace: (_m, key: string) => `${key}=${REDACTED}`,
  },
  // Credentials in URLs: scheme://user:password@host
  {pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+):[^\s@/"']+@/gi, replace: (_m, head: string) => `${head}:${REDACTED}@`},
  // Authorization headers. The scheme is case-insensitive (RFC 9110 §11.1: `bearer x` is as valid as `Bearer x`).
  // A credential is 8+ characters and not a plain word, so prose — "the Basic tier", "Basic authentication",
  // "bearer token" — survives while `bearer eyJ…`, `Basic dXNlcjpwYXNz` and `SharedKey acct:sig=` go.
  // `Bearer` as headers spell it takes a token of any length.
  {pattern: /\b(Bearer)\s+[A-Za-z0-9\-._~+/:]+=*/g, replace: (_m, scheme: string) => `${scheme} ${REDACTED}`},
  {
    pattern: /\b(bearer|basic|sharedkey)\s+([A-Za-z0-9\-._~+/:]{8,}=*)/gi,
    replace: (match: string, scheme: string, token: string) => (/^[A-Za-z][a-z]*$/.test(token) ? match : `${scheme} ${REDACTED}`),
  },
  // Azure Functions access keys: in a URL's `code` query parameter or the `x-functions-key` header ("Use access
  // keys", https://learn.microsoft.com/azure/azure-functions/function-keys-how-to). A health URL of a function app
  // carries one (adversary8: `http.check` url …/api/health?code=… reached stdout, the journal and the summary). A
  // key is base64-like and long; a short `code=` value (`?code=200`) is left alone.
  {pattern: /([?&]code=)[A-Za-z0-9_\-%=/+]{20,}/g, replace: (_m, head: string) => `${head}${REDACTED}`},
  {pattern: /\b(x-functions-key)("?\s*[:=]\s*"?)[^\s",;}]+/gi, replace: (_m, header: string, sep: string) => `${header}${sep}${REDACTED}`},
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

/**
 * Every rule above needs one of these in the text (`=` for SAS, connection strings and base64 keys, `@` for URL
 * credentials, the scheme names, `eyJ`, `x-ms-`): text without any is left alone without running the rules. Most
 * strings of a journal line (its keys, timestamps, ids, hashes) have none, and each line is redacted field by field.
 */
const MIGHT_MATCH_A_RULE = /[=@]|eyJ|bearer|basic|sharedkey|x-ms-|x-functions-key/i

/**
 * Object keys whose string values are secret whatever they look like: these names, and any name ending in one of
 * the strong words (`adminPassword`, `db_password`, `storageAccountKey`, `githubToken`, `clientSecret`). A string
 * param named adminPassword was written verbatim to request.json, the journal, summary.json and report.md, where one
 * named password was not (adversary8).
 */
const SENSITIVE_KEY_EXACT =
  /^(?:password|passwd|pwd|secret|clientsecret|client_secret|apikey|api_key|accountkey|primarykey|secondarykey|accesskey|sastoken|connectionstring|authorization|token|accesstoken|access_token|refreshtoken|refresh_token|primaryconnectionstring|secondaryconnectionstring|x-functions-key|x-ms-[a-z0-9-]*(?:key|authorization|token|signature)[a-z0-9-]*)$/i
const SENSITIVE_KEY_SUFFIX = /(?:password|passwd|secret|api_?key|account_?key|access_?key|sas_?token|connection_?string|token)$/i
const SENSITIVE_KEY = {test: (key: string) => SENSITIVE_KEY_EXACT.test(key) || SENSITIVE_KEY_SUFFIX.test(key)}

/** Whether a value under this key (a param named adminPassword, an object's connectionString) is secret by its name. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key)
}

/** The spellings a secret can take on its way into a file: nested JSON escapes, URL/form encoding, base64, report escapes. */
function spellings(secret: string): string[] {
  const forms = new Set<string>([secret])
  let json = secret
  for (let depth = 0; depth < 3; depth++) {
    json = JSON.stringify(json).slice(1, -1)
    forms.add(json)
  }
  const url = encodeURIComponent(secret)
  forms.add(url)
  forms.add(url.replace(/%20/g, '+'))
  forms.add(encodeURI(secret))
  // What `new URL()` makes of it (href, pathname, search: an action's message quotes a parsed URL), which neither
  // encodeURI nor encodeURIComponent give: the WHATWG URL Standard's percent-encode sets keep ' & | ^ in a path, turn
  // \ into / in http(s) paths, and keep ` in a query (https://url.spec.whatwg.org/#percent-encoded-bytes). Form
  // encoding (URLSearchParams) encodes ! ' ( ) ~ that encodeURIComponent keeps.
  for (const set of [URL_PATH, URL_QUERY, URL_SPECIAL_QUERY, URL_FRAGMENT, URL_USERINFO]) forms.add(percentEncode(secret, set))
  forms.add(percentEncode(secret, URL_PATH).replace(/\\/g, '/'))
  forms.add(new URLSearchParams({s: secret}).toString().slice(2))
  const base64 = Buffer.from(secret, 'utf8').toString('base64')
  forms.add(base64.replace(/=+$/, ''))
  forms.add(Buffer.from(secret, 'utf8').toString('base64url'))
  const html = secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  forms.add(html)
  forms.add(html.replace(/'/g, '&#39;'))
  forms.add(secret.replace(/\|/g, '\\|').replace(/\r?\n/g, ' '))
  forms.add(secret.replace(/"/g, '""'))
  return [...forms]
}

// The WHATWG URL Standard's percent-encode sets (https://url.spec.whatwg.org/#percent-encoded-bytes), beyond C0
// controls and non-ASCII, which every set encodes.
const URL_FRAGMENT = new Set(' "<>`')
const URL_QUERY = new Set(' "#<>')
const URL_SPECIAL_QUERY = new Set([...URL_QUERY, "'"])
const URL_PATH = new Set([...URL_QUERY, '?', '`', '{', '}'])
const URL_USERINFO = new Set([...URL_PATH, '/', ':', ';', '=', '@', '[', '\\', ']', '^', '|'])

/** `text` UTF-8 percent-encoded with one of the sets above. */
function percentEncode(text: string, set: ReadonlySet<string>): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code > 0x1f && code < 0x7f && !set.has(char)) out += char
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** A set's forms longest first, so a secret that contains another is replaced whole (equal lengths: in the order added). */
function longestFirst(forms: ReadonlySet<string>): string[] {
  return [...forms].sort((a, b) => b.length - a.length)
}

/**
 * `text` with every occurrence of `forms` replaced by [REDACTED] exactly as `text.replace(/form1|form2|…/g, REDACTED)`
 * replaces them (the forms escaped): the leftmost occurrence of any form first, of the forms starting there the one
 * listed first, the search going on after it. By indexOf instead of that regex: V8 compiles a regex when it is first
 * used, and the alternation of every spelling of every secret and derived value, made anew whenever a run registers
 * one (values an expression computes from a secret are registered as it runs), reached ~90,000 characters in the leak
 * test and took up to 0.6 s to compile each time: ~2.5 s of CPU per `run` that handles secrets.
 */
export function replaceForms(text: string, forms: readonly string[]): string {
  const next = forms.map((form) => text.indexOf(form))
  let out = ''
  let copied = 0
  for (;;) {
    let at = -1
    let chosen = -1
    for (let i = 0; i < forms.length; i++) {
      const index = next[i]!
      if (index !== -1 && (at === -1 || index < at)) {
        at = index
        chosen = i
      }
    }
    if (chosen === -1) break
    out += `${text.slice(copied, at)}${REDACTED}`
    copied = at + forms[chosen]!.length
    for (let i = 0; i < forms.length; i++) if (next[i] !== -1 && next[i]! < copied) next[i] = text.indexOf(forms[i]!, copied)
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** Whether `text` holds any of `forms` (what `/form1|form2|…/.test(text)` says). */
function holdsForm(text: string, forms: readonly string[]): boolean {
  return forms.some((form) => text.includes(form))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Holds the run's secret values and removes them, and credential-shaped text, from anything about to be written. */
export class Redactor {
  private readonly secrets = new Set<string>()
  /** `secrets`, longest first: what redactText replaces. */
  private secretForms: string[] = []
  /** The secrets themselves (not values an expression derived from one): what may not leave the machine. */
  private readonly primary = new Set<string>()
  private primaryForms: string[] = []

  /**
   * Register a value to be replaced everywhere from now on, in every spelling opsbook or a report could give it:
   * JSON-escaped (nested up to three times: `toJSON(toJSON(x))`), URL- and form-encoded, base64 (standard and URL-safe),
   * HTML-, Markdown-table- and CSV-escaped. Values derived from a secret by an expression are registered too (see
   * `taint` in expressions.ts), so a secret is followed by its value, not by how it is spelled.
   */
  add(secret: string, options: {derived?: boolean} = {}): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) return
    const forms = spellings(secret).filter((form) => form.length >= MIN_SECRET_LENGTH)
    const before = this.secrets.size
    for (const form of forms) this.secrets.add(form)
    if (this.secrets.size !== before) this.secretForms = longestFirst(this.secrets)
    // A value derived by an expression is redacted like a secret, but may be wider than one (a catalog value read
    // through an object that holds a secret key): only the secrets themselves are kept from leaving the machine.
    if (options.derived) return
    const primaryBefore = this.primary.size
    for (const form of forms) this.primary.add(form)
    if (this.primary.size !== primaryBefore) this.primaryForms = longestFirst(this.primary)
  }

  /** How many distinct secret forms are registered (for tests and diagnostics; never the values). */
  get size(): number {
    return this.secrets.size
  }

  /**
   * `text` with registered secrets and credential-shaped substrings replaced by `[REDACTED]`. With `shapes: false`
   * only registered secrets go: for serialised JSON, whose strings already passed the shape rules one by one.
   */
  redactText(text: string, options: {shapes?: boolean} = {}): string {
    let out = text
    if (this.secretForms.length > 0) out = replaceForms(out, this.secretForms)
    if (options.shapes !== false && MIGHT_MATCH_A_RULE.test(out))
      for (const rule of RULES) out = rule.apply ? rule.apply(out) : out.replace(rule.pattern, rule.replace as never)
    return out
  }

  /**
   * Whether `value` (deeply) holds a registered secret or a credential-shaped string, i.e. whether anything computed
   * from it is secret too. Expressions use this to taint their results.
   */
  holdsSecret(value: unknown): boolean {
    if (typeof value === 'string') {
      if (holdsForm(value, this.secretForms)) return true
      return RULES.some((rule) => {
        rule.pattern.lastIndex = 0
        return rule.pattern.test(value)
      })
    }
    if (Array.isArray(value)) return value.some((item) => this.holdsSecret(item))
    if (value !== null && typeof value === 'object')
      return Object.entries(value).some(([key, item]) => (typeof item === 'string' && item.length > 0 && SENSITIVE_KEY.test(key)) || this.holdsSecret(item))
    return false
  }

  /**
   * Whether `value` (deeply, keys included) holds a registered secret, in any spelling — a secret param, a param named
   * like one, a value an action registered; so also any text built around one — not merely something credential-
   * shaped (a SAS URL given as a plain param), nor a value registered as derived only. Where a
   * value is about to leave the machine (an action input that is neither secret nor local), this is what may not.
   */
  holdsRegisteredSecret(value: unknown): boolean {
    const forms = this.primaryForms
    if (forms.length === 0) return false
    const visit = (item: unknown): boolean => {
      if (typeof item === 'string') return holdsForm(item, forms)
      if (typeof item === 'number') return visit(String(item))
      if (Array.isArray(item)) return item.some(visit)
      if (item !== null && typeof item === 'object') return Object.entries(item).some(([key, inner]) => visit(key) || visit(inner))
      return false
    }
    return visit(value)
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
    // A number can hold a secret too (fromJSON of a numeric secret, a PIN inside a count): it becomes the string
    // `[REDACTED]` here, since redacting its digits in the serialised text would leave invalid JSON (`"n": [REDACTED]`).
    if (typeof value === 'number' || typeof value === 'bigint') {
      const text = String(value)
      return this.redactText(text) === text ? value : REDACTED
    }
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
