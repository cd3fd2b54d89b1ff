/** Tiny fetch helpers for the simulator tests. */
export interface Got<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function get<T = any>(url: string, token?: string | null, headers: Record<string, string> = {}): Promise<Got<T>> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers: h });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text answer */
  }
  return { status: res.status, headers: res.headers, body, text };
}
