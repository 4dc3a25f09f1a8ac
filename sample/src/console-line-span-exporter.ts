import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { SHOWN_FIELDS } from './trace-tree.js';

/** One line per finished span, to read in a terminal; backends get OTLP instead. */
export class ConsoleLineSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) process.stdout.write(`${formatSpan(span)}\n`);
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

function formatSpan(span: ReadableSpan): string {
  const { traceId, spanId } = span.spanContext();
  const fields = SHOWN_FIELDS.filter((key) => span.attributes[key] !== undefined).map(
    (key) => `${key}=${span.attributes[key]}`,
  );
  const status = span.status.code === SpanStatusCode.ERROR ? ` ERROR: ${span.status.message}` : '';
  return [
    `span ${span.name} ${SpanKind[span.kind]} ${hrTimeToMilliseconds(span.duration).toFixed(1)} ms`,
    ...fields,
    `trace_id=${traceId} span_id=${spanId} parent=${span.parentSpanContext?.spanId ?? '-'}${status}`,
  ].join(' ');
}
