// Loaded before the app with `node --import`, so instrumentation is in place
// before anything else runs. The application, not the library, owns the SDK.
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ConsoleLineSpanExporter } from './console-line-span-exporter.js';

// OTLP/HTTP to Jaeger, Tempo or a Collector when an endpoint is configured;
// otherwise one line per span on the console, printed as each span ends.
const spanProcessor = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })
  : new SimpleSpanProcessor({ exporter: new ConsoleLineSpanExporter() });

// NodeSDK also installs an AsyncLocalStorage context manager, which the job spans rely on.
export const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'email-service',
  spanProcessors: [spanProcessor],
  // Prometheus scrapes http://localhost:9464/metrics (METRICS_PORT changes it): the
  // job metrics arrive there with nestjs-otel's own, through the global MeterProvider.
  metricReaders: [new PrometheusExporter({ port: Number(process.env.METRICS_PORT ?? 9464) })],
  textMapPropagator: new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  }),
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();
