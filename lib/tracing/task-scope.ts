import { type Attributes, type Context, createContextKey } from '@opentelemetry/api';

/** The task a piece of code runs in, kept in the OpenTelemetry context for log correlation. */
export interface TaskScope {
  readonly spanName: string;
  readonly fields: Attributes;
}

const TASK_SCOPE_KEY = createContextKey('nestjs-job-tracing task scope');

export function withTaskScope(ctx: Context, scope: TaskScope): Context {
  return ctx.setValue(TASK_SCOPE_KEY, scope);
}

export function getTaskScope(ctx: Context): TaskScope | undefined {
  return ctx.getValue(TASK_SCOPE_KEY) as TaskScope | undefined;
}
