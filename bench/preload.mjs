// Loaded with `node --import` into a measured process: writes the process's own CPU time and
// peak RSS (getrusage, all threads) to RUNSYNC_BENCH_USAGE when it exits.
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.RUNSYNC_BENCH_USAGE;
if (file && isMainThread) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }));
  });
}
