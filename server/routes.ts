import type { Route } from './app.js';
import { analyticsRoutes } from './analytics-routes.js';
import { inboxRoutes } from './inbox.js';

/** The routes the running service serves; each feature adds its own module here. */
export function serviceRoutes(): Route[] {
  return [...analyticsRoutes(), ...inboxRoutes()];
}
