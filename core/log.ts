import { appendFileSync } from 'node:fs';
import { scrubText } from './redact.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Every secret the process knows (tokens read from the environment) is cut from log lines. */
const secrets = new Set<string>();
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}
export function knownSecrets(): string[] {
  return [...secrets];
}

let threshold: Level = (process.env.RUNSYNC_LOG_LEVEL as Level) ?? 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: Level): void {
  threshold = level;
}
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

/** Log lines go to stderr and are appended to a file (the data directory's runsync.log). */
export function logToFile(path: string): void {
  const stderr = (line: string) => process.stderr.write(line + '\n');
  try {
    appendFileSync(path, '');
  } catch {
    // Reported by the first command that needs the directory.
  }
  sink = (line) => {
    stderr(line);
    try {
      appendFileSync(path, line + '\n');
    } catch {
      // A full or read-only disk must not stop a sync over a log line.
    }
  };
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function logger(base: Record<string, unknown> = {}): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const all = { ...base, ...fields };
    const tail = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    sink(scrubText(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${tail ? ' ' + tail : ''}`, knownSecrets()));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => logger({ ...base, ...f }),
  };
}
