import type { Command } from '../args.js';
import { JSON_OPTION } from '../args.js';
import { cliContext, out, outJson } from '../context.js';
import { UsageError } from '../errors.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { claimDataDir, checkPortFree, recordUrl } from '../../runtime/instance.js';
import { beforeStopping, checkStopping, onStop, setSignalExitCode, unlessStopping } from '../../runtime/lifecycle.js';
import { syncWorkflowId } from '../../workflows/ids.js';
import { logger } from '../../core/log.js';

const log = logger({ component: 'start' });

export const startCommand: Command = {
  name: 'start',
  summary: 'run runsync: embedded services unless configured otherwise, the worker, one schedule per source',
  options: [
    { flags: '--demo', description: 'bring up simulated providers (real HTTP servers on 127.0.0.1) and sync them' },
    { flags: '--once', description: 'one sync of every source, then exit (no schedules, no HTTP endpoint)' },
    { flags: '--ui', description: "serve the embedded Temporal server's web UI" },
    { flags: '--port <port>', description: 'HTTP port for SQL, dashboard and run inbox (0 = any free port; default from the config)' },
    { ...JSON_OPTION, description: 'with --once: print the sync outcomes as JSON' },
  ],
  async run({ values }) {
    const { startServices } = await import('../../runtime/services.js');
    const { applyReportSchedule, applySchedules } = await import('../../runtime/schedules.js');
    const { applyAlertsSchedule } = await import('../../runtime/alerts-schedule.js');
    const { cancelSyncs, formatOutcomes, syncOnce } = await import('../../runtime/run-sync.js');
    const { startDemo } = await import('../../runtime/demo.js');
    const { startHttpServer } = await import('../../server/app.js');
    const { serviceRoutes } = await import('../../server/routes.js');
    const { warehouseSummary } = await import('../../runtime/summary.js');
    const { addToInbox } = await import('../../warehouse/queries.js');
    const { generateReport } = await import('../../report/index.js');
    const { weekOf } = await import('../../report/week.js');
    const { removeServiceFile, writeServiceFile } = await import('../../server/service-file.js');
    const { closeSqlEngines } = await import('../../server/sql-endpoint.js');
    const { showProgress } = await import('../../runtime/progress.js');
    const ctx = cliContext(values);
    const explicitPort = values.port !== undefined;
    const port = explicitPort ? Number(values.port) : ctx.config.server.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0 for any free one), not ${JSON.stringify(values.port)}`);
    const tokenEnv = ctx.config.server.tokenEnv;
    const token = tokenEnv ? process.env[tokenEnv] : undefined;
    // Configured but unset would leave the SQL endpoint and the inbox open: refuse.
    if (tokenEnv && !token && !values.once) throw new UsageError(`server.tokenEnv names ${tokenEnv}, which is not set: export it, or remove server.tokenEnv to serve without a token`);
    if (!values.demo && ctx.config.sources.length === 0) throw new UsageError('no sources configured: add them to runsync.config.json (see README), or run `runsync start --demo`');

    // Refused before anything starts: the data directory in use, the port asked for taken.
    await claimDataDir(ctx.dataDir, values.demo ? 'start --demo' : 'start', (m) => log.warn(m));
    if (explicitPort && !values.once) await checkPortFree(ctx.config.server.host, port);
    checkStopping();

    let config = ctx.config;
    let demo = null;
    if (values.demo) {
      demo = await startDemo({ dataDir: ctx.dataDir });
      const d = demo;
      onStop('demo simulators', () => d.close());
      // The demo brings its own sources; the server settings (token, host) stay the user's.
      config = { ...demo.config, server: ctx.config.server };
      out(`demo: ${demo.simulators.map((s) => `${s.provider} simulator on ${s.url}`).join(', ')}`);
    }
    checkStopping();
    const services = await startServices({ config, dataDir: ctx.dataDir, ui: !!values.ui });
    const { client } = services;
    const taskQueue = services.temporal.taskQueue;
    out(`warehouse: ${services.warehouse.describe}`);
    out(`temporal:  ${services.temporal.address} (${services.temporal.embedded ? 'embedded dev server' : 'external'}, namespace ${services.temporal.namespace}${services.temporal.uiUrl ? `, UI ${services.temporal.uiUrl}` : ''})`);
    const sourceNames = config.sources.map((s) => s.name);
    const syncHandles = () => sourceNames.map((s) => client.workflow.getHandle(syncWorkflowId(s)));
    if (services.temporal.embedded) {
      // This process holds the data directory: a sync still "running" in its Temporal was
      // left by a runsync that is gone. Cancelled, so it is recorded as such.
      await unlessStopping(cancelSyncs(syncHandles(), 8_000));
    }
    checkStopping();

    let http: Awaited<ReturnType<typeof startHttpServer>> | null = null;
    if (!values.once) {
      try {
        http = await startHttpServer(services, serviceRoutes(), { host: config.server.host, port, token });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || explicitPort) throw e;
        http = await startHttpServer(services, serviceRoutes(), { host: config.server.host, port: 0, token });
        out(`port ${port} is taken; serving on ${http.url} instead — pass --port to choose`);
      }
      const h = http;
      onStop('HTTP server', async () => {
        removeServiceFile(ctx.dataDir);
        await h.close();
        await closeSqlEngines();
      }, () => removeServiceFile(ctx.dataDir));
      out(`http:      ${http.url} (SQL, dashboard, run inbox)`);
      writeServiceFile(ctx.dataDir, { url: http.url, tokenEnv: config.server.tokenEnv, temporal: { address: services.temporal.address, namespace: services.temporal.namespace } });
      recordUrl(ctx.dataDir, http.url);
    }
    checkStopping();
    const schedules = values.once ? [] : await unlessStopping(applySchedules(client, config, taskQueue, { prune: true }));
    const reportSchedule = values.once ? null : await unlessStopping(applyReportSchedule(client, config, taskQueue));
    if (reportSchedule) out(`report:    weekly reliability report on "${config.report.schedule}" (UTC) into ${ctx.dataDir}/reports`);
    if (!values.once && (await unlessStopping(applyAlertsSchedule(client, config, taskQueue)))) out(`alerts:    ${config.alerts.rules.length} rule(s) evaluated on "${config.alerts.schedule}" (UTC)`);
    for (const { source, ids } of demo?.initialInbox ?? []) await unlessStopping(addToInbox(services.warehouse.client, source, ids));
    checkStopping();
    out(`first sync of ${config.sources.length} source(s)…`);
    const outcomes = await syncOnce(client, config, taskQueue);
    checkStopping();
    if (values.once && values.json) {
      outJson(outcomes);
      return outcomes.every((o) => o.ok) ? 0 : 1;
    }
    out(formatOutcomes(outcomes));
    out('');
    out(await unlessStopping(warehouseSummary(services.warehouse.client)));
    if (demo) {
      const week = weekOf(Date.now());
      const path = join(ctx.dataDir, 'reports', `demo-${week.label}.html`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, (await unlessStopping(generateReport(services.warehouse.client, { week, sources: [], format: 'html' }))).body);
      out(`\nthis week's reliability report: ${path}`);
      if (http) out(`live dashboard: ${http.url}/dashboard`);
    }
    if (values.once) return outcomes.every((o) => o.ok) ? 0 : 1;
    checkStopping();
    // From here on a signal is the ordinary way to stop the service: exit 0 once stopped.
    setSignalExitCode(() => 0);
    // Syncs the schedules started are cancelled on stop (recorded as cancelled), then the worker drains.
    beforeStopping(() => cancelSyncs(syncHandles()));
    showProgress(client, sourceNames, { minAgeMs: 10_000 });
    out('');
    out(`syncing on schedule (${schedules.length} schedule(s)); Ctrl-C to stop`);
    // The lifecycle ends the process on SIGINT/SIGTERM after stopping everything in order.
    return await new Promise<number>(() => undefined);
  },
};
