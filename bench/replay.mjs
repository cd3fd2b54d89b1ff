// The raw baseline: the given GET requests, in the given order, 4 in flight at a time, each
// answer's JSON parsed and dropped. Plain JavaScript on Node's own fetch, nothing else loaded.
// Usage: node bench/replay.mjs <requests.json>   ([{ url, token }] in order)
import { readFileSync } from 'node:fs';

const requests = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const IN_FLIGHT = 4;
let next = 0;
let failed = 0;
async function lane() {
  while (next < requests.length) {
    const { url, token } = requests[next++];
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    if (!res.ok) failed++;
    await res.json().catch(() => undefined);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
process.stdout.write(JSON.stringify({ requests: requests.length, failed }) + '\n');
