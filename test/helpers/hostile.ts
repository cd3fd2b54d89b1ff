/**
 * Hostile answers built as text: a JSON document JSON.stringify cannot make (a record
 * nested 10 000 levels deep would overflow the test's own stack) or would not make
 * (a non-object item in a list of records).
 */

/** `{"a":{"a":…1…}}`, `depth` levels, built without recursion. */
export function nestedText(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/**
 * The page `json` with its `itemsKey` array rewritten: `edit` receives each item's JSON
 * text and returns the texts to serve (add, drop, replace).
 */
export function rewriteItems(json: unknown, itemsKey: string, edit: (items: string[]) => string[]): string {
  const page = json as Record<string, unknown>;
  const items = page[itemsKey];
  if (!Array.isArray(items)) throw new Error(`page has no array "${itemsKey}"`);
  const marker = `__items_${Math.random().toString(36).slice(2)}__`;
  const text = JSON.stringify({ ...page, [itemsKey]: marker });
  return text.replace(JSON.stringify(marker), '[' + edit(items.map((i) => JSON.stringify(i))).join(',') + ']');
}

/** An item's text with one more field whose value is `valueText` (inserted as text). */
export function withField(itemText: string, field: string, valueText: string): string {
  if (!itemText.endsWith('}')) throw new Error('not an object');
  return itemText.slice(0, -1) + `,${JSON.stringify(field)}:${valueText}}`;
}
