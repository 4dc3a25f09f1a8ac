import type { ReceivedSpan } from './otlp-receiver.js';

/** One trace as an indented tree, children in start order, with the task fields that matter. */
export function formatTraceTree(spans: ReceivedSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const childrenOf = new Map<string | undefined, ReceivedSpan[]>();
  for (const span of [...spans].sort((a, b) => a.startMs - b.startMs)) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, prefix: string, last: boolean, root: boolean) => {
    lines.push(`${root ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${describe(span)}`);
    const children = childrenOf.get(span.spanId) ?? [];
    const childPrefix = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    children.forEach((child, index) => walk(child, childPrefix, index === children.length - 1, false));
  };
  for (const root of childrenOf.get(undefined) ?? []) walk(root, '', true, true);
  return lines.join('\n');
}

/** The span fields worth a glance in a terminal: the task's own, never its payload. */
export const SHOWN_FIELDS = ['task_id', 'attempt', 'queue', 'payload_size'];

function describe(span: ReceivedSpan): string {
  const target =
    span.kind === 'SERVER'
      ? ` ${span.attributes['url.path'] ?? span.attributes['http.target'] ?? ''}`
      : span.name === 'task'
        ? ` [${span.attributes['messaging.destination.name']}]`
        : '';
  const fields = SHOWN_FIELDS.filter((key) => span.attributes[key] !== undefined).map(
    (key) => `${key}=${span.attributes[key]}`,
  );
  // Every task attempt says how it ended; other spans only when they failed.
  const status = span.status.code === 'ERROR' ? `ERROR: ${span.status.message}` : span.name === 'task' ? 'ok' : '';
  // A run of a scheduler (or a `link` job) starts its own trace; the link leads back to its creator.
  const links = span.links.map((link) => `linked to ${link.traceId}/${link.spanId}`);
  return [`${span.name}${target}`, span.kind, `${span.durationMs.toFixed(1)} ms`, ...fields, status, ...links].join(' ').trimEnd();
}
