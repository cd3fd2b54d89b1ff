/**
 * What a failed request means for the sync, decided where the answer is read:
 * - `auth`: the token was refused; the source stops.
 * - `not_found`: the provider does not know the thing asked for (a run it forgot).
 * - `transient`: may pass if asked again (network, cut-off body, 408/429/5xx); holds the watermark.
 * - `permanent`: the same request fails again (4xx, oversized answer, refused redirect).
 */
export type FailureKind = 'auth' | 'not_found' | 'transient' | 'permanent';

/** An HTTP failure with enough context to say which endpoint, status and kind it was. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly endpoint: string,
    readonly kind: FailureKind,
    readonly body: string = '',
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 401/403 or an auth error inside an envelope: retrying cannot help, the source stops. */
export class AuthError extends HttpError {
  constructor(message: string, status: number, endpoint: string, body = '') {
    super(message, status, endpoint, 'auth', body);
    this.name = 'AuthError';
  }
}

/** An answer whose envelope (a body-level status, checked even on HTTP 200) says it failed. */
export class EnvelopeError extends HttpError {
  constructor(
    message: string,
    status: number,
    endpoint: string,
    readonly code: string,
    kind: FailureKind,
    /** The envelope says the account's rate limit was hit (the pace slows down). */
    readonly rateLimited = false,
  ) {
    super(message, status, endpoint, kind);
    this.name = 'EnvelopeError';
  }
}

/** The kind of any error met while syncing: errors that are not HTTP answers (a bug, a dropped socket) may pass. */
export function failureKind(e: unknown): FailureKind {
  if (e instanceof HttpError) return e.kind;
  if (e instanceof Error && e.name === 'RecordError') return 'permanent';
  return 'transient';
}

export const isTransient = (e: unknown): boolean => failureKind(e) === 'transient';
export const isNotFound = (e: unknown): boolean => failureKind(e) === 'not_found';

/** The kind an HTTP status implies. */
export function kindOfStatus(status: number): FailureKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}
