/** Header or field names whose values are credentials wherever they appear. */
const SECRET_NAME = /(authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key|x-.*-key|signature)/i;

/**
 * Query parameters that carry credentials under short names. Only for URLs: as object keys
 * (`key`, `code`) these are ordinary data.
 */
const SECRET_QUERY_PARAM = /^(key|access[-_]?key|sig|auth|code|pass|pwd|session|session[-_]?id|sid|jwt)$/i;

export const REDACTED = '[REDACTED]';
export const EMAIL = '[EMAIL]';

/**
 * A verdict per field name, remembered: payloads repeat the same few names on every record,
 * and these run on every key of every payload. Bounded, for payloads keyed by ids.
 */
function remembered(judge: (name: string) => boolean, max = 5_000): (name: string) => boolean {
  const seen = new Map<string, boolean>();
  return (name) => {
    let v = seen.get(name);
    if (v === undefined) {
      v = judge(name);
      if (seen.size < max) seen.set(name, v);
    }
    return v;
  };
}

export const isSecretName: (name: string) => boolean = remembered((name) => SECRET_NAME.test(name));

/**
 * A header value that carries a credential whatever the header is called: an auth scheme
 * followed by a value, or a long opaque token (letters and digits, no spaces).
 */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (v === '' || v === REDACTED) return false;
  if (/^(bearer|basic|token|digest|apikey|api-key|hmac|aws4-hmac-sha256)\s+\S/i.test(v)) return true;
  return v.length >= 20 && /^[A-Za-z0-9._~+/=:-]+$/.test(v) && /[A-Za-z]/.test(v) && /\d/.test(v);
}

/** `headers`, `Headers`, `requestHeaders`, `raw_headers`, `header`: containers of header name/value pairs. */
const HEADERS_KEY = /headers?$/i;
const PAIR_NAME_KEYS = ['name', 'key', 'header'];
const PAIR_VALUE_KEYS = ['value', 'values'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type Json = unknown;
/** Assignment that keeps a `__proto__` key of parsed JSON as data instead of setting the copy's prototype. */
function set(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** `items.map(f)`, or `items` itself when `f` changed none of them (the scrubbers copy on write). */
function mapOnWrite(items: Json[], f: (x: Json) => Json): Json[] {
  let out: Json[] | null = null;
  for (let i = 0; i < items.length; i++) {
    const x = f(items[i]);
    if (out) out.push(x);
    else if (x !== items[i]) {
      out = items.slice(0, i);
      out.push(x);
    }
  }
  return out ?? items;
}

/** `{ name: 'X-Api-Key', value: '…' }` (HAR, fetch captures, env lists): the field holding the name, and the one holding the value. */
function pairFields(o: Record<string, unknown>): { name: string; value: string } | null {
  // The first key of each kind, as a reader would take it. One pass: this runs on every object.
  let name: string | undefined;
  let value: string | undefined;
  for (const k of Object.keys(o)) {
    if (k.length < 3 || k.length > 6) continue;
    const l = k.toLowerCase();
    if (name === undefined && PAIR_NAME_KEYS.includes(l) && typeof o[k] === 'string') name = k;
    else if (value === undefined && PAIR_VALUE_KEYS.includes(l)) value = k;
  }
  return name !== undefined && value !== undefined ? { name, value } : null;
}

const isHeadersKey = remembered((key) => HEADERS_KEY.test(key));

/**
 * A JSON value with every credential-bearing field replaced, and every occurrence of a known
 * secret value (the source's own token) cut out of strings. Copy on write: what holds nothing
 * to replace is returned as it is (most of a payload), so the input is never changed and the
 * result may share parts with it.
 *
 * - A field with a secret-looking name loses its value; an array under such a name loses
 *   every element (objects in it are scrubbed like any object).
 * - `{ name, value }` pairs (HAR, env lists) lose their value when the name is secret-looking.
 * - Inside anything called headers (request/response captures such as DX's http_state):
 *   `[name, value]` tuples and `"Name: value"` lines are judged by the name, and any value that
 *   looks like a credential is replaced too, whatever the header is called.
 * - In every string, URL user info and credential query parameters are replaced (see
 *   {@link scrubText}).
 */
export function scrub(value: unknown, knownSecrets: readonly string[] = []): unknown {
  const secrets = knownSecrets.filter((s) => s.length >= 6);
  const text = (s: string) => scrubText(s, secrets);

  /** Everything under a secret name: primitives go, structure is kept and scrubbed. */
  const redactAll = (v: Json): Json => {
    if (v === null || v === undefined) return v;
    if (Array.isArray(v)) return v.map(redactAll);
    if (isObject(v)) return pairFields(v) ? walkPair(v, true) : walk(v, false);
    return REDACTED;
  };

  /** A header's value, judged by the header's name and, failing that, by its look. */
  const headerValue = (name: string, v: Json): Json => {
    if (isSecretName(name)) return redactAll(v);
    if (typeof v === 'string') return looksLikeCredential(v) ? REDACTED : text(v);
    if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' && looksLikeCredential(x) ? REDACTED : walk(x, false)));
    return walk(v, false);
  };

  const walkPair = (o: Record<string, unknown>, secret: boolean, inHeaders = false): Json => {
    const f = pairFields(o)!;
    const name = o[f.name] as string;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k !== f.value) set(out, k, field(k, x));
      else set(out, k, secret || isSecretName(name) ? redactAll(x) : inHeaders ? headerValue(name, x) : walk(x, false));
    }
    return out;
  };

  /** A field of an ordinary object. */
  const field = (k: string, x: Json): Json => {
    if (isSecretName(k)) {
      if (x !== null && typeof x !== 'object') return REDACTED;
      if (Array.isArray(x)) return redactAll(x);
    }
    // Only containers can be headers; a string is scrubbed the same either way.
    return walk(x, x !== null && typeof x === 'object' && isHeadersKey(k));
  };

  const headersArray = (arr: Json[]): Json[] => {
    // Node's rawHeaders: name, value, name, value…
    const flat = arr.length % 2 === 0 && arr.every((x, i) => typeof x === 'string' && (i % 2 === 1 || HEADER_NAME.test(x)));
    return arr.map((x, i) => {
      if (flat) return i % 2 === 1 ? headerValue(arr[i - 1] as string, x) : x;
      if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string') return [x[0], headerValue(x[0], x[1])];
      if (isObject(x) && pairFields(x)) return walkPair(x, false, true);
      if (typeof x === 'string') {
        const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/s.exec(x);
        if (m) {
          const v = headerValue(m[1], m[2]);
          return v === REDACTED ? `${m[1]}: ${REDACTED}` : x.slice(0, x.length - m[2].length) + (v as string);
        }
      }
      return walk(x, true);
    });
  };

  const walk = (v: Json, inHeaders: boolean): Json => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return inHeaders ? headersArray(v) : mapOnWrite(v, (x) => walk(x, false));
    if (isObject(v)) {
      if (pairFields(v)) return walkPair(v, false, inHeaders);
      const keys = Object.keys(v);
      let out: Record<string, unknown> | null = null;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const x = v[k];
        const y = inHeaders ? headerValue(k, x) : field(k, x);
        if (out) set(out, k, y);
        else if (y !== x) {
          out = {};
          for (let j = 0; j < i; j++) set(out, keys[j], v[keys[j]]);
          set(out, k, y);
        }
      }
      return out ?? v;
    }
    return v;
  };
  return walk(value, false);
}

// Bounded repetitions: these run over every string of every payload.
const WHITE_SPACE = /\s/;
const CREDENTIAL_SCHEME = /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/?#@"'<>\\]{1,512})@/gi;
// A value ends at the next parameter or the end of the URL; trailing punctuation of the sentence stays.
const QUERY_PARAM = /([?&#])([A-Za-z0-9_.~%[\]-]{1,128})=([^&#\s"'<>\\]*?)(?=[.,;:!)\]]{0,16}(?:[&#\s"'<>\\]|$))/g;

function decoded(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * Removes known secret values, bearer credentials, URL user info (`https://user:pass@host`)
 * and credential query parameters (`?api_key=…&token=…`, also in a `#fragment`) from free
 * text (logs, error messages, strings inside payloads); the rest of a URL is kept.
 */
export function scrubText(text: string, knownSecrets: readonly string[] = []): string {
  // Runs on every string of every payload: most are short ids and names, with nothing to find.
  if (text.length < 6) return text;
  let out = text;
  for (const s of knownSecrets) if (s.length >= 6 && out.includes(s)) out = out.split(s).join(REDACTED);
  // "Basic " and eight characters at least; a scheme is followed by white space (ids and times have none).
  if (out.length >= 14 && WHITE_SPACE.test(out)) out = out.replace(CREDENTIAL_SCHEME, `$1 ${REDACTED}`);
  if (out.includes('@')) out = out.replace(URL_USERINFO, `$1${REDACTED}@`);
  if (out.includes('=')) {
    out = out.replace(QUERY_PARAM, (all, sep: string, name: string, value: string) => {
      const n = decoded(name);
      return value !== '' && (isSecretName(n) || SECRET_QUERY_PARAM.test(n)) ? `${sep}${name}=${REDACTED}` : all;
    });
  }
  return out;
}

/** `email`, `e_mail`, `mail`, `authorEmail`, `committer_email`, `emails`, `email_address`… */
const isEmailKey = remembered((key) => {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return k === 'mail' || /email(s|address(es)?)?$/.test(k) || k === 'mailaddress';
});

const EMAIL_ADDRESS = /[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}\b/g;

/** Replaces every e-mail address in free text with `[EMAIL]`. */
export function scrubEmailText(text: string): string {
  return text.includes('@') ? text.replace(EMAIL_ADDRESS, EMAIL) : text;
}

/**
 * A JSON value without personal e-mail addresses: every address in any string (object keys
 * included) becomes `[EMAIL]`, and a string under an e-mail-named key (`email`, `e_mail`,
 * `mail`, `author_email`…) becomes `[EMAIL]` whatever it holds. Keys that would collide after
 * the replacement are numbered (`[EMAIL]`, `[EMAIL] 2`), so no entry is lost. Copy on write:
 * what holds no address is returned as it is (it runs on whole payloads, most of which have
 * none), so the input is never changed and the result may share parts with it.
 */
export function scrubEmails(value: unknown): unknown {
  const walk = (v: Json, emailKey: boolean): Json => {
    if (typeof v === 'string') return emailKey ? EMAIL : scrubEmailText(v);
    if (Array.isArray(v)) return mapOnWrite(v, (x) => walk(x, emailKey));
    if (isObject(v)) {
      const keys = Object.keys(v);
      let values: Json[] | null = null;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const x = walk(v[k], isEmailKey(k));
        if (values) values.push(x);
        else if (x !== v[k] || k.includes('@')) {
          values = [];
          for (let j = 0; j < i; j++) values.push(v[keys[j]]);
          values.push(x);
        }
      }
      if (!values) return v;
      const scrubbed = values;
      const out: Record<string, unknown> = {};
      const taken = (key: string) => Object.prototype.hasOwnProperty.call(out, key) || Object.prototype.hasOwnProperty.call(v, key);
      keys.forEach((k, i) => {
        const base = scrubEmailText(k);
        let key = base;
        for (let n = 2; key !== k && taken(key); n++) key = `${base} ${n}`;
        set(out, key, scrubbed[i]);
      });
      return out;
    }
    return v;
  };
  return walk(value, false);
}
