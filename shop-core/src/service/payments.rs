//! Use cases: starting a payment and handling gateway notifications,
//! exactly once.

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::error::{Error, Result, StoreError};
use crate::ids::{OrderId, UserId};
use crate::order::{OrderAction, OrderPatch, OrderStatus, PaymentInfo};
use crate::payment::{GatewayEvent, PaymentAction, PaymentError, PaymentRequest, RawNotification};

/// What handling a notification did. Every variant means "acknowledge it to
/// the gateway"; refused notifications are errors instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum NotificationOutcome {
    /// This notification paid the order.
    Paid(OrderId),
    /// The order was already paid by this same transaction; nothing changed.
    AlreadyPaid(OrderId),
    /// A refund finished.
    RefundFinished(String),
    /// The refund was already finished; nothing changed.
    RefundAlreadyFinished(String),
    /// This notification paid period `index` of the order's installment
    /// plan.
    PeriodPaid(OrderId, u32),
    /// That period was already paid by this same transaction; nothing
    /// changed.
    PeriodAlreadyPaid(OrderId, u32),
    /// A genuine notification that changes nothing.
    Ignored,
}

impl Shop {
    /// Asks `gateway` how `user` pays their pending order.
    pub async fn start_payment(
        &self,
        user: UserId,
        order: OrderId,
        gateway: &str,
        return_url: Option<String>,
    ) -> Result<PaymentAction> {
        let gateway = self.gateway(gateway)?;
        let order = self.order(user, order).await?;
        if order.state.status != OrderStatus::Pending || self.now() >= order.expires_at {
            return Err(Error::InvalidTransition {
                from: order.state,
                action: OrderAction::Pay,
            });
        }
        let req = PaymentRequest {
            subject: format!("Order {}", order.no),
            order_no: order.no,
            amount: order.total,
            return_url,
        };
        Ok(gateway.create_payment(&req).await?)
    }

    /// Handles a notification from `gateway`, exactly once.
    ///
    /// The gateway verifies the signature over the raw bytes; then the
    /// merchant must be ours, the order must exist and the amount must equal
    /// the order's payable total. Paying is a compare-and-set pending → paid,
    /// so of many concurrent identical notifications one pays and fires
    /// `OrderPaid`, the others are acknowledged as duplicates. A payment for
    /// an order closed meanwhile is refused with `InvalidTransition` (the
    /// money must then be refunded at the gateway).
    pub async fn handle_payment_notification(
        &self,
        gateway: &str,
        notification: &RawNotification,
    ) -> Result<NotificationOutcome> {
        let gateway = self.gateway(gateway)?.clone();
        match gateway.verify_notification(notification).await? {
            GatewayEvent::Ignored => Ok(NotificationOutcome::Ignored),
            GatewayEvent::RefundFinished {
                refund_no,
                succeeded,
            } => self.finish_gateway_refund(&refund_no, succeeded).await,
            GatewayEvent::Paid(paid) => {
                if paid.merchant_id != gateway.merchant_id() {
                    return Err(PaymentError::MerchantMismatch {
                        expected: gateway.merchant_id().to_owned(),
                        got: paid.merchant_id,
                    }
                    .into());
                }
                crate::text::check_key("order_no", &paid.order_no)?;
                crate::text::check_key("transaction_no", &paid.transaction_no)?;
                let Some(order) = self
                    .inner
                    .stores
                    .orders
                    .get_order_by_no(&paid.order_no)
                    .await?
                else {
                    // Not an order's number: an installment period's?
                    return self.pay_installment_period(gateway.name(), paid).await;
                };
                if paid.amount != order.total {
                    return Err(PaymentError::AmountMismatch {
                        expected: order.total,
                        got: paid.amount,
                    }
                    .into());
                }
                let info = PaymentInfo {
                    method: gateway.name().to_owned(),
                    transaction_no: paid.transaction_no,
                    paid_at: paid.paid_at,
                };
                let duplicate = |order: &crate::order::Order| {
                    order.payment.as_ref().is_some_and(|p| {
                        p.method == info.method && p.transaction_no == info.transaction_no
                    })
                };
                if duplicate(&order) {
                    return Ok(NotificationOutcome::AlreadyPaid(order.id));
                }
                let next = order.next_state(OrderAction::Pay)?;
                let patch = OrderPatch {
                    payment: Some(info.clone()),
                    ..OrderPatch::default()
                };
                match self
                    .inner
                    .stores
                    .orders
                    .transition(
                        order.id,
                        order.state,
                        next,
                        &patch,
                        &self.records(order.transition_events(OrderAction::Pay, &patch)),
                    )
                    .await
                {
                    Ok(()) => Ok(NotificationOutcome::Paid(order.id)),
                    Err(Error::Store(StoreError::Conflict { .. })) => {
                        let now = self.any_order(order.id).await?;
                        if duplicate(&now) {
                            Ok(NotificationOutcome::AlreadyPaid(order.id))
                        } else {
                            Err(Error::InvalidTransition {
                                from: now.state,
                                action: OrderAction::Pay,
                            })
                        }
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}
