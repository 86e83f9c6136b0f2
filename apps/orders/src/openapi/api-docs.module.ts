import { Module } from '@nestjs/common';
import { ApiDocsController } from './api-docs.controller.js';

/** The OpenAPI document and its explorer; imported only when API_DOCS_ENABLED (see config). */
@Module({ controllers: [ApiDocsController] })
export class ApiDocsModule {}
