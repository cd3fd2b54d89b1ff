/** A usage mistake (unknown source, missing argument): one line in runsync's words, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
