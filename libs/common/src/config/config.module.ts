import { type DynamicModule, Global, Module } from '@nestjs/common';

/** Makes a service's validated configuration injectable everywhere under its token. */
@Global()
@Module({})
export class ConfigModule {
  static register(token: symbol, config: unknown): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: token, useValue: config }],
      exports: [token],
    };
  }
}
