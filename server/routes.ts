import type { Route } from './app.js';

/** The routes the running service serves; each feature adds its own module here. */
export function serviceRoutes(): Route[] {
  return [];
}
