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

function describe(span: ReceivedSpan): string {
  const fields = ['task_id', 'attempt', 'queue', 'payload_size']
    .filter((key) => span.attributes[key] !== undefined)
    .map((key) => `${key}=${span.attributes[key]}`);
  const queue = span.name === 'task' ? ` [${span.attributes['messaging.destination.name']}]` : '';
  const status = span.status.code === 'ERROR' ? `  ERROR: ${span.status.message}` : '';
  return `${span.name}${queue} ${span.kind} ${span.durationMs.toFixed(1)} ms ${fields.join(' ')}${status}`.replace(/ +/g, ' ');
}
