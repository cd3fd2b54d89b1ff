import * as crypto from 'node:crypto';

// One call per record instead of a Hash object (crypto.hash: Node 20.12 and later).
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-1 of a string's UTF-8 bytes, in hex: change markers, not security. */
export function sha1Hex(data: string): string {
  return oneShot ? oneShot('sha1', data, 'hex') : crypto.createHash('sha1').update(data).digest('hex');
}
