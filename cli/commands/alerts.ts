import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import type { alerts, AlertsResult } from '../../workflows/alerts.js';

export const alertsCommand: Command = {
  name: 'alerts',
  summary: 'evaluate the alert rules now: print what fires or resolves (--dry-run), or record and deliver it through Temporal',
  options: [{ flags: '--dry-run', description: 'print what would fire or resolve; record and deliver nothing' }],
  async run({ values }) {
    const { openReader } = await import('../../warehouse/reader.js');
    const { startServices } = await import('../../runtime/services.js');
    const { transitions } = await import('../../alerts/state.js');
    const ctx = cliContext(values);
    if (ctx.config.alerts.rules.length === 0) {
      out('no alert rules configured: add them under "alerts" in runsync.config.json (see docs/metrics.md for what they measure)');
      return 2;
    }
    if (values.dryRun) {
      const wh = await openReader(ctx.dataDir);
      try {
        const events = await transitions(wh.client, ctx.config, Date.now());
        if (!events.length) out('nothing would fire or resolve');
        for (const e of events) out(`would ${e.state === 'firing' ? 'fire    ' : 'resolve '} ${e.alert} ${e.key}: ${e.message}`);
        return 0;
      } finally {
        await wh.close();
      }
    }
    const services = await startServices({ config: ctx.config, dataDir: ctx.dataDir });
    try {
      const r = (await services.client.workflow.execute('alerts' as unknown as typeof alerts, {
        taskQueue: services.temporal.taskQueue,
        workflowId: `runsync-alerts-manual-${Date.now()}`,
        args: [{}],
      })) as AlertsResult;
      out(`alerts: ${r.events} event(s) to deliver, ${r.delivered} delivered, ${r.failed} not delivered (see alert_events)`);
      return r.failed ? 1 : 0;
    } finally {
      await services.close();
    }
  },
};
