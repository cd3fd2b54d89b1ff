import { appendFileSync } from 'node:fs';
import { pino, type Logger as Pino } from 'pino';
import { scrubText } from './redact.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** Every secret the process knows (tokens read from the environment) is cut from log lines. */
const secrets = new Set<string>();
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}
export function knownSecrets(): string[] {
  return [...secrets];
}

const envLevel = process.env.RUNSYNC_LOG_LEVEL as Level | undefined;
let format: 'text' | 'json' = process.env.RUNSYNC_LOG_FORMAT === 'json' ? 'json' : 'text';
/** What is drawn live on the terminal (the progress lines): cleared before a log line and drawn again after it. */
interface Overlay {
  clear(): void;
  redraw(): void;
}
let overlay: Overlay | null = null;
export function setStderrOverlay(o: Overlay | null): void {
  overlay = o;
}
const stderrSink = (line: string) => {
  overlay?.clear();
  process.stderr.write(line + '\n');
  overlay?.redraw();
};
let sinks: ((line: string) => void)[] = [stderrSink];

/** `text` (default): one readable line per record; `json`: one JSON object per line (RUNSYNC_LOG_FORMAT=json). */
export function setLogFormat(f: 'text' | 'json'): void {
  format = f;
}

/** Control characters (a provider's error text may carry them) must not break or forge log lines. */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  // Quoted when it would otherwise run into the next field.
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : escapeControl(s);
}

/** pino writes each record here as a JSON line; it is scrubbed and formatted once for every sink. */
const destination = {
  write(json: string): void {
    const rec = JSON.parse(json) as Record<string, unknown> & { level: string; time: string; msg?: string };
    let line: string;
    if (format === 'json') {
      line = json.trimEnd();
    } else {
      const { level, time, msg, ...fields } = rec;
      const tail = Object.entries(fields)
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(' ');
      line = `${time} ${level.toUpperCase().padEnd(5)} ${escapeControl(msg ?? '')}${tail ? ' ' + tail : ''}`;
    }
    line = scrubText(line, knownSecrets());
    for (const sink of sinks) sink(line);
  },
};

const root: Pino = pino(
  {
    level: envLevel && LEVELS.includes(envLevel) ? envLevel : 'info',
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);

export function setLogLevel(level: Level): void {
  root.level = level;
}
export function logLevel(): Level {
  return root.level as Level;
}
export function setLogSink(fn: (line: string) => void): void {
  sinks = [fn];
}

/** Log lines go to stderr and are appended to a file (the data directory's runsync.log). */
export function logToFile(path: string): void {
  try {
    appendFileSync(path, '');
  } catch {
    // Reported by the first command that needs the directory.
  }
  sinks = [
    stderrSink,
    (line) => {
      try {
        appendFileSync(path, line + '\n');
      } catch {
        // A full or read-only disk must not stop a sync over a log line.
      }
    },
  ];
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Whether debug lines are written (so callers can skip building them); absent: assume they are. */
  isDebug?(): boolean;
}

/** Fields without a value are left out (no `error=undefined`). */
function defined(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

export function logger(base: Record<string, unknown> = {}): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (!root.isLevelEnabled(level)) return;
    root[level]({ ...defined(base), ...defined(fields) }, msg);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => logger({ ...base, ...f }),
    isDebug: () => root.isLevelEnabled('debug'),
  };
}

/** The first line of an error's message: SDK errors carry stacks and task tokens below it. */
function firstLine(e: unknown): string | undefined {
  if (e === undefined || e === null) return undefined;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

/**
 * `@clickhouse/client`'s logger: its records become runsync log lines. A failed query is
 * logged by the client and also thrown to the caller, who reports it: at debug here.
 */
export class ClickHouseLog {
  private readonly log = logger({ component: 'clickhouse' });
  trace(p: { message: string }): void {
    this.log.debug(p.message);
  }
  debug(p: { message: string; args?: Record<string, unknown> }): void {
    this.log.debug(p.message, { query_id: p.args?.query_id });
  }
  info(p: { message: string }): void {
    this.log.debug(p.message);
  }
  warn(p: { message: string; err?: Error }): void {
    this.log.warn(p.message, { error: firstLine(p.err) });
  }
  error(p: { message: string; err: Error }): void {
    this.log.debug(p.message, { error: firstLine(p.err) });
  }
}

type TemporalLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * The Temporal SDK's logger (worker, workflow sandbox, core): one runsync line per record,
 * with the ids that say which workflow or activity, never task tokens or stack blocks.
 */
export function temporalLogger(minLevel: TemporalLevel = 'WARN') {
  const order: TemporalLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  const log = logger({ component: 'temporal' });
  const keep = ['workflowType', 'workflowId', 'activityType', 'activityId', 'attempt', 'taskQueue', 'namespace'];
  const emit = (level: TemporalLevel, message: string, meta?: Record<string, unknown>) => {
    // Below the chosen level Temporal's records show with --verbose only.
    const lvl: Level = order.indexOf(level) < order.indexOf(minLevel) ? 'debug' : level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : level === 'INFO' ? 'info' : 'debug';
    const fields: Record<string, unknown> = {};
    for (const k of keep) if (meta?.[k] !== undefined) fields[k] = meta[k];
    const err = meta?.error ?? meta?.failure;
    if (err !== undefined) fields.error = firstLine(err);
    if (lvl === 'debug' && err instanceof Error && err.stack) fields.stack = err.stack;
    log[lvl](message, fields);
  };
  return {
    log: (level: TemporalLevel, message: string, meta?: Record<string, unknown>) => emit(level, message, meta),
    trace: (m: string, meta?: Record<string, unknown>) => emit('TRACE', m, meta),
    debug: (m: string, meta?: Record<string, unknown>) => emit('DEBUG', m, meta),
    info: (m: string, meta?: Record<string, unknown>) => emit('INFO', m, meta),
    warn: (m: string, meta?: Record<string, unknown>) => emit('WARN', m, meta),
    error: (m: string, meta?: Record<string, unknown>) => emit('ERROR', m, meta),
  };
}

const httpLog = logger({ component: 'http' });

/**
 * `fetch` that logs each request at debug level (--verbose): method, URL without
 * credentials, status, time taken. A drop-in for the HTTP client's `fetch` call.
 */
export async function loggedFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  if (logLevel() !== 'debug') return fetch(input, init);
  const t0 = performance.now();
  const url = new URL(String(input));
  url.username = '';
  url.password = '';
  const what = `${init?.method ?? 'GET'} ${url.toString()}`;
  try {
    const res = await fetch(input, init);
    httpLog.debug('request', { request: what, status: res.status, ms: Math.round(performance.now() - t0), retry_after: res.headers.get('retry-after') ?? undefined });
    return res;
  } catch (e) {
    httpLog.debug('request failed', { request: what, ms: Math.round(performance.now() - t0), error: firstLine(e) });
    throw e;
  }
}
