import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<JobTracingModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras({}, (definition) => ({ ...definition, global: true }))
    .build();
