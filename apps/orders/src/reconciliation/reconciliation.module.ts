import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentsClientModule } from '../payments/payments-client.module.js';
import { PaymentReconciliation } from './payment-reconciliation.js';

@Module({
  imports: [OrdersModule, PaymentsClientModule],
  providers: [PaymentReconciliation],
})
export class ReconciliationModule {}
