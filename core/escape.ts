/**
 * Control characters made visible, so that text from outside (run ids, URLs, error
 * messages, SQL) cannot forge a log line (`\n`), hide one (`\r`), or make a log binary (NUL).
 * `\n`, `\r`, `\t` become those escapes; other C0/C1 controls, DEL and the Unicode line and
 * paragraph separators become `\xNN` / `\uNNNN`; a backslash stays as it is.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** True when the text holds a character {@link escapeControl} would escape. */
export function hasControl(text: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text);
}
