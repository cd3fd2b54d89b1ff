/** An HTTP failure with enough context to say which source, endpoint and status it was. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly endpoint: string,
    readonly body: string = '',
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 401/403 or an auth error inside an envelope: retrying cannot help, the source stops. */
export class AuthError extends HttpError {
  constructor(message: string, status: number, endpoint: string, body = '') {
    super(message, status, endpoint, body);
    this.name = 'AuthError';
  }
}

/** An answer whose envelope says it failed (DX `ok:false`, B3OS `code != 200`). */
export class EnvelopeError extends HttpError {
  constructor(
    message: string,
    status: number,
    endpoint: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message, status, endpoint);
    this.name = 'EnvelopeError';
  }
}
