import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** Time and identity sources, injectable so tests and later features can control them. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

@Injectable()
export class IdGenerator {
  uuid(): string {
    return randomUUID();
  }
}
