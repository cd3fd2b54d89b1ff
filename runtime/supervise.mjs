// Runs a child process for as long as its parent lives. The parent holds the write end of
// this process's stdin; the kernel closes it when the parent exits, however it exits
// (SIGKILL included), and the EOF makes this process stop the child. Node has no
// parent-death signal; this is the portable equivalent.
//   node supervise.mjs <command> [args…]
import { spawn } from 'node:child_process';

const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;
const stop = (sig) => {
  if (stopping) return;
  stopping = true;
  child.kill(sig);
  // The dev server exits about 1.5 s after SIGTERM; never wait forever.
  setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
};
child.on('exit', (code, sig) => process.exit(code ?? (sig ? 128 : 1)));
child.on('error', (e) => {
  process.stderr.write(`cannot start ${cmd}: ${e.message}\n`);
  process.exit(127);
});
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => stop('SIGTERM'));
process.stdin.on('error', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGTERM'));
