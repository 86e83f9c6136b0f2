import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { configureHttp, httpAdapter } from '#common/http/server.js';
import { loadOrdersConfig, ORDERS_CONFIG } from '../config.js';
import { Authenticator } from './authenticator.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { Roles } from './roles.decorator.js';
import { RolesGuard } from './roles.guard.js';

@Controller('probe')
@UseGuards(JwtAuthGuard, RolesGuard)
class ProbeController {
  @Get('declared')
  @Roles('customer')
  declared() {
    return { ok: true };
  }

  // Forgotten: no @Roles.
  @Get('undeclared')
  undeclared() {
    return { ok: true };
  }
}

@Module({
  controllers: [ProbeController],
  providers: [
    Authenticator,
    {
      provide: ORDERS_CONFIG,
      useValue: loadOrdersConfig({ ORDERS_DATABASE_URL: 'postgres://x/y' }),
    },
  ],
})
class ProbeModule {}

describe(RolesGuard.name, () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(ProbeModule, httpAdapter(), {
      logger: false,
      bodyParser: false,
    });
    configureHttp(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  async function get(path: string) {
    const token = await new SignJWT({ roles: ['customer'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cus_1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(DEV_JWT_SECRET));
    return app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
  }

  it('lets a role the route declares through', async () => {
    expect((await get('/probe/declared')).statusCode).toBe(200);
  });

  it('answers 403 on a route that declares no roles (deny by default)', async () => {
    const response = await get('/probe/undeclared');
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ type: '/problems/forbidden', status: 403 });
  });
});
