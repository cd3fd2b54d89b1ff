/**
 * Matches a request path against a route pattern like `/v1/runs/:id`, where `:name` takes
 * one segment, read by `decode` (which returns null, or throws, to refuse it). Returns the
 * named segments, or null when the path is another route's.
 */
export function matchRoute(pattern: string, path: string, decode: (segment: string) => string | null): Record<string, string> | null {
  const ps = pattern.split('/');
  const segs = path.split('/');
  if (ps.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (!ps[i].startsWith(':')) {
      if (ps[i] !== segs[i]) return null;
      continue;
    }
    const value = decode(segs[i]);
    if (value === null) return null;
    params[ps[i].slice(1)] = value;
  }
  return params;
}
