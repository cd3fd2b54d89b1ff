import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';

/**
 * Hands run ids to a source that cannot list its runs (DX). With the service running on
 * this data dir (it holds the embedded warehouse) the ids go through its HTTP endpoint;
 * otherwise straight into the warehouse.
 */
export const trackCommand: Command = {
  name: 'track',
  summary: 'hand run ids to an inbox-fed source (DX): the next syncs poll them until they finish',
  args: '<source> <runIds...>',
  help: 'example: runsync track dx-prod 8f2c1e 9a7b3d',
  async run({ values, positionals }) {
    const { openWarehouse } = await import('../../warehouse/client.js');
    const { migrate } = await import('../../warehouse/migrate.js');
    const { readServiceFile } = await import('../../server/service-file.js');
    const { InboxAdmission, inboxSource, parseRunIds } = await import('../../server/inbox.js');
    const [name, ...rest] = positionals;
    const ctx = cliContext(values);
    const ids = parseRunIds(rest);
    const service = readServiceFile(ctx.dataDir);
    if (service) {
      // The service knows its own sources (it may run with another config, e.g. the demo's) and checks the name.
      const source = { name };
      const tokenEnv = service.tokenEnv ?? ctx.config.server.tokenEnv;
      const token = tokenEnv ? process.env[tokenEnv] : undefined;
      if (tokenEnv && !token) throw new Error(`the running service wants a bearer token: set ${tokenEnv}`);
      const res = await fetch(`${service.url.replace(/\/+$/, '')}/sources/${encodeURIComponent(source.name)}/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ run_ids: ids }),
      });
      const text = await res.text();
      const retry = res.headers.get('retry-after');
      if (!res.ok) throw new Error(`the running service refused the ids (HTTP ${res.status}): ${text.slice(0, 300)}${retry ? ` (retry in ${retry} s)` : ''}`);
      const accepted = (JSON.parse(text) as { accepted?: number }).accepted ?? ids.length;
      out(`${accepted} run id(s) handed to ${source.name} (through the running service at ${service.url})`);
      return 0;
    }
    const source = inboxSource(ctx.config, name);
    const wh = await openWarehouse({ dataDir: ctx.dataDir });
    try {
      await migrate(wh.client);
      // The same pending cap as the service's.
      const caps = { maxPending: ctx.config.server.inboxMaxPending, idsPerMinute: ctx.config.server.inboxIdsPerMinute };
      await new InboxAdmission(caps).admit(wh.client, source.name, ids);
      out(`${ids.length} run id(s) added to the inbox of ${source.name}; the next sync polls them`);
      return 0;
    } finally {
      await wh.close();
    }
  },
};
