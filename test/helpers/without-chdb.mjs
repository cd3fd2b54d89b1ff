// Loaded with `node --import` in a child process: makes `chdb` and `@chdb/*` unresolvable, as in
// the production image (which leaves the optional embedded engine out).
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (/^(chdb|@chdb\\/)/.test(specifier)) {
    const e = new Error("Cannot find package '" + specifier + "' (left out, as in the production image)");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hook));
