export const ORDERS_QUEUE = 'orders';
export const ORDER_FLOWS = 'order-flows';

export interface OrderStepJob {
  orderId: string;
}
