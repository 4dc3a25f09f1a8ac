import { type Meter, type MeterProvider, metrics } from '@opentelemetry/api';
import { DEFAULT_TRACER_NAME } from '../job-tracing.constants.js';

/**
 * Instruments made from the global MeterProvider, and made again when the
 * application registers another one. The metrics API, unlike the trace API,
 * has no proxy: a meter taken before the application registers its provider
 * would stay a no-op for good.
 */
export class MeterInstruments<T> {
  private provider?: MeterProvider;
  private instruments?: T;

  constructor(private readonly create: (meter: Meter) => T) {}

  /** One global lookup and one comparison per call. */
  get(): T {
    const provider = metrics.getMeterProvider();
    if (provider !== this.provider || this.instruments === undefined) {
      this.instruments = this.create(provider.getMeter(DEFAULT_TRACER_NAME));
      this.provider = provider;
    }
    return this.instruments;
  }
}
