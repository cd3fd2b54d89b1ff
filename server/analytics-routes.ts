/**
 * Routes of the analytics features: `/` is the SQL endpoint when a query is
 * sent (`?query=` or a POST body, as ClickHouse's HTTP interface) and the
 * dashboard otherwise; `/dashboard` is always the dashboard; `/ping` answers "Ok.".
 */
import type { Route } from './app.js';
import { handleSql, isSqlRequest, pingRoute } from './sql-endpoint.js';
import { handleDashboard } from './dashboard.js';

export function analyticsRoutes(): Route[] {
  return [
    {
      method: '*',
      path: '/',
      handle: async (ctx) => ((await isSqlRequest(ctx)) ? handleSql(ctx) : handleDashboard(ctx)),
    },
    { method: 'GET', path: '/dashboard', handle: handleDashboard },
    pingRoute,
  ];
}
