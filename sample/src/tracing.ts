// Loaded before the app with `node --import`, so instrumentation is in place
// before anything else runs. The application, not the library, owns the SDK.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace';

// OTLP/HTTP to Jaeger, Tempo or a Collector when an endpoint is configured; the console otherwise.
const traceExporter = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? new OTLPTraceExporter() : new ConsoleSpanExporter();

// NodeSDK registers the W3C trace-context and baggage propagators and an AsyncLocalStorage context manager.
export const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'email-service',
  traceExporter,
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();
