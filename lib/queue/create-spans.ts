import { type Attributes, type Context, type Link, type Span, type SpanContext, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import type { JobsOptions } from 'bullmq';
import { keepsOwnTelemetry, serializeContext } from '../context/stored-trace-context.js';
import { explicitParent } from '../context/tracing-context.js';
import { MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import type { JobTracingOptions } from './traced-job-options.js';

type MessageOptions = (JobTracingOptions & Pick<JobsOptions, 'telemetry'>) | undefined;

/** Where each message of a batch gets the creation context it stores. */
export interface MessageCreation {
  /**
   * The metadata to store on the next message of the batch, in the batch's order;
   * undefined when the message keeps a context of its own (`tracingContext`, or a
   * `telemetry` the caller set), which `toStoredOptions` then applies.
   */
  metadataFor(queueName: string, opts: MessageOptions, queueDefaults?: JobsOptions): string | undefined;
}

/** `createSpans: false`: every message stores one context, the batch's send span, or the caller's context when there is no span. */
export class SharedCreation implements MessageCreation {
  private metadata?: string | null;

  constructor(private readonly ctx: Context) {}

  metadataFor(): string | undefined {
    if (this.metadata === undefined) this.metadata = serializeContext(this.ctx) ?? null;
    return this.metadata ?? undefined;
  }
}

/**
 * Messaging conventions v1.44, batch publishing with "Create" spans: one PRODUCER
 * `create <queue>` span per message, a child of the caller's context, whose context
 * that message stores. The CLIENT `send` span links to every creation context, a
 * caller's own included, with the message id on the link once BullMQ assigned it.
 * A message that keeps a context of its own gets no create span (the conventions:
 * a custom creation context is neither modified nor wrapped).
 */
export class CreateSpans implements MessageCreation {
  /** One entry per message, in the batch's order: its create span, or the custom context to link, or nothing. */
  private readonly created: Array<Span | SpanContext | undefined> = [];

  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly server: Attributes,
  ) {}

  metadataFor(queueName: string, opts: MessageOptions, queueDefaults?: JobsOptions): string | undefined {
    if (opts?.tracingContext) {
      this.created.push(trace.getSpanContext(explicitParent(opts.tracingContext)));
      return undefined;
    }
    if (keepsOwnTelemetry(opts, queueDefaults)) {
      this.created.push(undefined);
      return undefined;
    }
    const span = this.tracer.startSpan(
      `create ${queueName}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'create',
          'messaging.operation.name': 'create',
          'messaging.destination.name': queueName,
          ...this.server,
        },
      },
      this.parent,
    );
    this.created.push(span);
    return serializeContext(trace.setSpan(this.parent, span));
  }

  /**
   * Ends the create spans, each with its message's id (`ids` in the batch's order;
   * none when the send failed), and links the send span to every creation context.
   * Links are added now, not at the send's start, so that they carry the ids.
   */
  end(send: Span, ids: ReadonlyArray<string | undefined>): void {
    const links: Link[] = [];
    this.created.forEach((created, index) => {
      if (!created) return;
      const id = ids[index];
      const isSpan = 'spanContext' in created;
      if (isSpan && id !== undefined) created.setAttribute('messaging.message.id', id);
      if (isSpan) created.end();
      const context = isSpan ? created.spanContext() : created;
      links.push(id === undefined ? { context } : { context, attributes: { 'messaging.message.id': id } });
    });
    if (links.length) send.addLinks(links);
  }
}
