import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

export interface MetricsHarness {
  provider: MeterProvider;
  /** Collects now and returns what the library's meter exported. */
  collect(): Promise<MetricData[]>;
}

/** A real SDK MeterProvider, registered globally as an application would, exporting into memory on demand. */
export function setupMetrics(): MetricsHarness {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when a test collects.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  return {
    provider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      return exporter
        .getMetrics()
        .flatMap((resourceMetrics) => resourceMetrics.scopeMetrics)
        .filter((scopeMetrics) => scopeMetrics.scope.name === 'nestjs-job-tracing')
        .flatMap((scopeMetrics) => scopeMetrics.metrics);
    },
  };
}

export function metricNamed(collected: MetricData[], name: string): MetricData | undefined {
  return collected.find((metric) => metric.descriptor.name === name);
}

/** The data points of one metric for one queue. */
export function pointsFor<T = unknown>(collected: MetricData[], name: string, queueName: string): DataPoint<T>[] {
  const points = (metricNamed(collected, name)?.dataPoints ?? []) as DataPoint<T>[];
  return points.filter((point) => point.attributes['messaging.destination.name'] === queueName);
}
