import { NestFactory } from '@nestjs/core';
import { TaskLogger } from 'nestjs-job-tracing';
import { AppModule } from './app.module.js';
import { sdk } from './tracing.js';

const app = await NestFactory.create(AppModule, { bufferLogs: true });
app.useLogger(new TaskLogger());
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');

// Close the workers first, then flush the spans they ended.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await app.close();
    await sdk.shutdown();
    process.exit(0);
  });
}
