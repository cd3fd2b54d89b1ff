import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { startServices, type Services } from '../../runtime/services.js';
import { applyReportSchedule, applySchedules } from '../../runtime/schedules.js';
import { applyAlertsSchedule } from '../../runtime/alerts-schedule.js';
import { formatOutcomes, syncOnce } from '../../runtime/run-sync.js';
import { startDemo, type Demo } from '../../runtime/demo.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { warehouseSummary } from '../../runtime/summary.js';
import { addToInbox } from '../../warehouse/queries.js';
import { generateReport } from '../../report/index.js';
import { weekOf } from '../../report/week.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { removeServiceFile, writeServiceFile } from '../../server/service-file.js';
import { closeSqlEngines } from '../../server/sql-endpoint.js';

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => resolve(sig);
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
}

export const startCommand: Command = {
  name: 'start',
  summary: 'run runsync: embedded services unless configured otherwise, the worker, one schedule per source',
  usage: 'runsync start [--demo] [--once] [--ui] [--port N] [--config PATH] [--data-dir DIR]',
  options: { demo: { type: 'boolean' }, once: { type: 'boolean' }, ui: { type: 'boolean' }, port: { type: 'string' } },
  async run({ values }) {
    const ctx = cliContext(values);
    const explicitPort = values.port !== undefined;
    const port = explicitPort ? Number(values.port) : ctx.config.server.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      out(`--port must be a port number (0 for any free one), not ${JSON.stringify(values.port)}`);
      return 2;
    }
    const tokenEnv = ctx.config.server.tokenEnv;
    const token = tokenEnv ? process.env[tokenEnv] : undefined;
    if (tokenEnv && !token && !values.once) {
      // Configured but unset would leave the SQL endpoint and the inbox open: refuse.
      out(`server.tokenEnv names ${tokenEnv}, which is not set: export it, or remove server.tokenEnv to serve without a token`);
      return 2;
    }
    let demo: Demo | null = null;
    let config = ctx.config;
    if (values.demo) {
      demo = await startDemo({ dataDir: ctx.dataDir });
      // The demo brings its own sources; the server settings (token, host) stay the user's.
      config = { ...demo.config, server: ctx.config.server };
      out(`demo: ${demo.simulators.map((s) => `${s.provider} simulator on ${s.url}`).join(', ')}`);
    } else if (config.sources.length === 0) {
      out('no sources configured: add them to runsync.config.json (see README), or run `runsync start --demo`');
      return 2;
    }
    let services: Services | null = null;
    let http: Awaited<ReturnType<typeof startHttpServer>> | null = null;
    try {
      services = await startServices({ config, dataDir: ctx.dataDir, ui: !!values.ui });
      out(`warehouse: ${services.warehouse.describe}`);
      out(`temporal:  ${services.temporal.address} (${services.temporal.embedded ? 'embedded dev server' : 'external'}, namespace ${services.temporal.namespace}${services.temporal.uiUrl ? `, UI ${services.temporal.uiUrl}` : ''})`);
      if (!values.once) {
        try {
          http = await startHttpServer(services, serviceRoutes(), { host: config.server.host, port, token });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
          // Asked for by name, a taken port is an error: tools pointed at it would reach something else.
          if (explicitPort) throw new Error(`port ${port} on ${config.server.host} is taken (--port); choose another or --port 0`);
          http = await startHttpServer(services, serviceRoutes(), { host: config.server.host, port: 0, token });
          out(`port ${port} is taken (another ClickHouse?); serving on ${http.url} instead — pass --port to choose`);
        }
        out(`http:      ${http.url} (SQL, dashboard, run inbox)`);
        writeServiceFile(ctx.dataDir, { url: http.url, tokenEnv: config.server.tokenEnv });
      }
      const schedules = values.once ? [] : await applySchedules(services.client, config, services.temporal.taskQueue, { prune: true });
      const reportSchedule = values.once ? null : await applyReportSchedule(services.client, config, services.temporal.taskQueue);
      if (reportSchedule) out(`report:    weekly reliability report on "${config.report.schedule}" (UTC) into ${ctx.dataDir}/reports`);
      if (!values.once && (await applyAlertsSchedule(services.client, config, services.temporal.taskQueue))) out(`alerts:    ${config.alerts.rules.length} rule(s) evaluated on "${config.alerts.schedule}" (UTC)`);
      for (const { source, ids } of demo?.initialInbox ?? []) await addToInbox(services.warehouse.client, source, ids);
      out(`first sync of ${config.sources.length} source(s)…`);
      const outcomes = await syncOnce(services.client, config, services.temporal.taskQueue);
      out(formatOutcomes(outcomes));
      out('');
      out(await warehouseSummary(services.warehouse.client));
      if (demo) {
        const week = weekOf(Date.now());
        const path = join(ctx.dataDir, 'reports', `demo-${week.label}.html`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, (await generateReport(services.warehouse.client, { week, sources: [], format: 'html' })).body);
        out(`\nthis week's reliability report: ${path}`);
        if (http) out(`live dashboard: ${http.url}/dashboard`);
      }
      if (values.once) return outcomes.every((o) => o.ok) ? 0 : 1;
      out('');
      out(`syncing on schedule (${schedules.length} schedule(s)); Ctrl-C to stop`);
      const sig = await waitForSignal();
      out(`${sig}: shutting down`);
      return 0;
    } finally {
      if (http) removeServiceFile(ctx.dataDir);
      await http?.close();
      await closeSqlEngines();
      await services?.close();
      await demo?.close();
    }
  },
};
