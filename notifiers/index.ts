/**
 * Notifiers: a Slack incoming webhook (Slack's message format), a generic JSON webhook and
 * e-mail over SMTP (nodemailer). URLs and credentials come from environment variables and
 * never appear in errors or logs.
 */
import type { NotifierConfig } from '../config/schema.js';

export interface Notice {
  /** One line: what happened. */
  title: string;
  /** The full text. */
  text: string;
  /** Machine-readable fields for the JSON webhook. */
  fields: Record<string, string | number | boolean>;
}

function secret(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new Error(`${what}: environment variable ${name} is not set`);
  return v;
}

async function post(url: string, body: unknown, what: string, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    // The URL is the credential of an incoming webhook: name the notifier, not the address.
    throw new Error(`${what}: request failed (${(e as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message})`);
  }
  await res.body?.cancel();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status}`);
}

/** Slack's incoming-webhook payload: `text` for notifications, a section block for the message. */
export function slackPayload(n: Notice): { text: string; blocks: unknown[] } {
  return {
    text: n.title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: n.text.slice(0, 3000) } },
    ],
  };
}

export async function send(name: string, cfg: NotifierConfig, n: Notice, env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<void> {
  const what = `notifier "${name}" (${cfg.type})`;
  switch (cfg.type) {
    case 'slack':
      return post(secret(env, cfg.urlEnv, what), slackPayload(n), what, timeoutMs);
    case 'webhook':
      return post(secret(env, cfg.urlEnv, what), { title: n.title, text: n.text, ...n.fields }, what, timeoutMs);
    case 'email': {
      let url: URL;
      try {
        url = new URL(secret(env, cfg.smtpUrlEnv, what));
      } catch (e) {
        throw new Error(`${what}: ${cfg.smtpUrlEnv} is not an smtp:// or smtps:// URL`, { cause: e });
      }
      // Loaded when an e-mail goes out: every sync's worker loads this module, few send mail.
      const { default: nodemailer } = await import('nodemailer');
      const transport = nodemailer.createTransport({
        host: url.hostname,
        port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
        secure: url.protocol === 'smtps:',
        auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
        connectionTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      try {
        await transport.sendMail({ from: cfg.from, to: cfg.to, subject: n.title, text: n.text });
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      } finally {
        transport.close();
      }
    }
  }
}
