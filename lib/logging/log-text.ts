/**
 * Job ids, queue names and error messages are chosen by users. Written raw,
 * a newline or carriage return in one of them starts a line of its own that
 * can pass for a `task{…}` line or a warning; bidi controls can reorder what
 * a terminal shows. These helpers keep such a value on its line, visibly.
 */

// C0 and C1 controls, DEL, Unicode line and paragraph separators, bidi marks and overrides.
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNSAFE_CHARACTER = new RegExp(UNSAFE_CHARACTERS.source);
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every control character written as an escape (`\n`, `\u001b`). */
export function escapeLogText(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, escapeCharacter);
}

/** A value inside a library message, quoted as a JSON string would be: `"email"`, `"a\nb"`. */
export function quoteLogValue(value: unknown): string {
  return `"${escapeLogText(String(value).replace(/["\\]/g, '\\$&'))}"`;
}

/**
 * A `key=value` field value: bare when plain, quoted and escaped when it holds
 * anything that could end the field or the line (`task_id="a b"`).
 */
export function formatFieldValue(value: string): string {
  return value !== '' && !/[\s"\\={}]/.test(value) && !HAS_UNSAFE_CHARACTER.test(value) ? value : quoteLogValue(value);
}

/** String(value), or a placeholder when the value refuses to become one. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable value]';
  }
}

function escapeCharacter(character: string): string {
  return SHORT_ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
