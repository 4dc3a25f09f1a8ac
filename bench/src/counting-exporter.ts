import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** Counts what it is given, as a real exporter would receive it, and sends nothing. */
export class CountingExporter implements SpanExporter {
  count = 0;

  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.count += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}
