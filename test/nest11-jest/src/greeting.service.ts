import { Injectable } from '@nestjs/common';
import { InjectTracedQueue, TracedQueue } from 'nestjs-job-tracing';
import { GREETINGS } from './greeting.processor';

@Injectable()
export class GreetingService {
  constructor(@InjectTracedQueue(GREETINGS) private readonly greetings: TracedQueue<{ name: string }, string>) {}

  greet(name: string) {
    return this.greetings.add('greet', { name });
  }
}
