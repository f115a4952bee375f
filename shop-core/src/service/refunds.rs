//! Use cases: refund applications, approval through the gateway, refusal.

use std::sync::Arc;

use super::{NotificationOutcome, Shop, StopSignal};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::DomainEvent;
use crate::ids::{OrderId, RefundId, UserId};
use crate::order::{Order, OrderAction, OrderPatch, PaymentInfo};
use crate::payment::{GatewayRefund, GatewayRefundStatus, PaymentGateway};
use crate::refund::{
    refund_amount, refunded_amount, remaining_lines, FinishRefund, NewRefund, Refund, RefundLine,
    RefundRecordStatus,
};
use crate::text::check_multiline;

/// Longest refund reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What one run of [`Shop::retry_pending_refunds`] did, by refund number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundRetryReport {
    /// Re-sent; the gateway reported them finished and this run settled
    /// them (succeeded or failed).
    pub settled: Vec<String>,
    /// Re-sent; the gateway still reports them in progress.
    pub still_pending: Vec<String>,
    /// Not re-sent or not settled this time (the gateway could not be
    /// reached or refused, or the store failed), with why; the next run
    /// tries again.
    pub failed: Vec<(String, String)>,
    /// Older than the retry window: not re-sent, for a person to check at
    /// the provider.
    pub too_old: Vec<String>,
}

/// A refund reason (the buyer's or the refusal's): 1–[`MAX_REASON_CHARS`]
/// characters after trimming, multi-line.
fn check_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::validation("reason", "must not be empty"));
    }
    check_multiline("reason", reason, MAX_REASON_CHARS)?;
    Ok(reason.to_owned())
}

/// Refunding an order paid in installments (each period through its own
/// gateway) is not built yet: `Refused { field: "order_id" }`.
fn refundable(order: &Order) -> Result<()> {
    if order
        .payment
        .as_ref()
        .is_some_and(|p| p.method == super::INSTALLMENT_METHOD)
    {
        return Err(Error::refused(
            "order_id",
            "refunding an order paid in installments is not supported yet",
        ));
    }
    Ok(())
}

impl Shop {
    /// The buyer applies for a refund of a paid order, with a reason.
    /// Crowdfunding orders are refunded only by their campaign; orders paid
    /// in installments cannot be refunded yet.
    pub async fn apply_refund(&self, user: UserId, id: OrderId, reason: &str) -> Result<Order> {
        let reason = check_reason(reason)?;
        let order = self.order(user, id).await?;
        refundable(&order)?;
        let patch = OrderPatch {
            refund_reason: Some(reason),
            ..OrderPatch::default()
        };
        self.move_order(&order, OrderAction::ApplyRefund, patch)
            .await
    }

    /// An administrator refuses a refund application; the reason is kept and
    /// the order returns to "no refund".
    pub async fn refuse_refund(&self, id: OrderId, reason: &str) -> Result<Order> {
        let reason = check_reason(reason)?;
        let order = self.any_order(id).await?;
        let patch = OrderPatch {
            refund_refusal: Some(reason),
            ..OrderPatch::default()
        };
        self.move_order(&order, OrderAction::RefuseRefund, patch)
            .await
    }

    /// An administrator approves a refund application: `lines` (or, when
    /// `None`, every unit not yet refunded) are refunded through the gateway
    /// that took the payment, under a new refund number. Never more than was
    /// paid in total: the store checks the sum atomically.
    ///
    /// A gateway that answers at once finishes the refund here; an
    /// asynchronous one leaves it processing until its refund notification
    /// ([`Shop::handle_payment_notification`]). When the gateway cannot be
    /// reached the refund stays processing and the error is returned; the
    /// refund number is the gateway's idempotency key, so the provider's
    /// notification or a later query settles it.
    pub async fn approve_refund(
        &self,
        id: OrderId,
        lines: Option<Vec<RefundLine>>,
    ) -> Result<Refund> {
        // The refunds are read before the order: a refund another approver
        // creates in between has already moved the order's state, so this
        // approval then fails as a conflict (`InvalidTransition` or the
        // store's compare-and-set), never as "nothing left to refund".
        let refunds = self.inner.stores.refunds.list_refunds(id).await?;
        let order = self.any_order(id).await?;
        let reason = order.refund_reason.clone().unwrap_or_default();
        self.refund_order(&order, &refunds, OrderAction::ApproveRefund, lines, reason)
            .await
    }

    /// Refunds `lines` of `order` (every unit not yet refunded when `None`)
    /// through its gateway under a new refund number, moving the order by
    /// `action` (a compare-and-set against the state read: of two
    /// concurrent refunds of one order one is recorded, the other is a
    /// conflict). `refunds` are the order's refunds, read before it.
    pub(super) async fn refund_order(
        &self,
        order: &Order,
        refunds: &[Refund],
        action: OrderAction,
        lines: Option<Vec<RefundLine>>,
        reason: String,
    ) -> Result<Refund> {
        let id = order.id;
        refundable(order)?;
        let next = order.next_state(action)?;
        // An unpaid order or an unknown gateway fails here, before anything
        // is written.
        self.refund_gateway(order)?;
        let lines = lines.unwrap_or_else(|| remaining_lines(order, refunds));
        let amount = refund_amount(order, refunds, &lines)?;
        let refund_id = RefundId(self.next_id());
        let refund = Refund {
            id: refund_id,
            refund_no: format!("RF{refund_id}"),
            order_id: id,
            amount,
            lines,
            reason,
            status: RefundRecordStatus::Pending,
            created_at: self.now(),
            finished_at: None,
        };
        self.inner
            .stores
            .refunds
            .create_refund(
                &NewRefund {
                    refund: refund.clone(),
                    expected: order.state,
                    next,
                },
                &self.records(vec![DomainEvent::RefundApproved {
                    order_id: id,
                    refund_no: refund.refund_no.clone(),
                    amount,
                }]),
            )
            .await?;
        match self.send_refund(order, &refund).await? {
            GatewayRefundStatus::Pending => {}
            GatewayRefundStatus::Succeeded => {
                self.finish_gateway_refund(&refund.refund_no, true).await?;
            }
            GatewayRefundStatus::Failed => {
                self.finish_gateway_refund(&refund.refund_no, false).await?;
            }
        }
        self.inner
            .stores
            .refunds
            .get_refund(&refund.refund_no)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Refund, &refund.refund_no))
    }

    /// Settles a pending refund exactly once: on success the order is
    /// refunded (everything paid went back) or returns to "no refund"
    /// (partial), recording `RefundSucceeded`; on failure the order's refund
    /// is failed (`RefundFailed`) and the buyer may apply again.
    pub(super) async fn finish_gateway_refund(
        &self,
        refund_no: &str,
        succeeded: bool,
    ) -> Result<NotificationOutcome> {
        crate::text::check_key("refund_no", refund_no)?;
        let refunds_store = &self.inner.stores.refunds;
        let refund = refunds_store
            .get_refund(refund_no)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Refund, refund_no))?;
        let already = NotificationOutcome::RefundAlreadyFinished(refund_no.to_owned());
        if refund.status != RefundRecordStatus::Pending {
            return Ok(already);
        }
        let order = self.any_order(refund.order_id).await?;
        let (outcome, action) = if succeeded {
            let refunds = refunds_store.list_refunds(order.id).await?;
            let full = refunded_amount(&order, &refunds)? == order.total;
            let action = if full {
                OrderAction::CompleteRefund
            } else {
                OrderAction::CompletePartialRefund
            };
            (RefundRecordStatus::Succeeded, action)
        } else {
            (RefundRecordStatus::Failed, OrderAction::FailRefund)
        };
        let cmd = FinishRefund {
            refund_no: refund_no.to_owned(),
            outcome,
            expected: order.state,
            next: order.next_state(action)?,
            at: self.now(),
        };
        let (order_id, amount) = (order.id, refund.amount);
        let event = if succeeded {
            DomainEvent::RefundSucceeded {
                order_id,
                refund_no: refund_no.to_owned(),
                amount,
            }
        } else {
            DomainEvent::RefundFailed {
                order_id,
                refund_no: refund_no.to_owned(),
                amount,
            }
        };
        match refunds_store
            .finish_refund(&cmd, &self.records(vec![event]))
            .await
        {
            Ok(()) => {}
            Err(Error::Store(StoreError::Conflict { .. })) => return Ok(already),
            Err(e) => return Err(e),
        }
        Ok(NotificationOutcome::RefundFinished(refund_no.to_owned()))
    }

    /// Re-sends every refund still pending `min_age` after its creation (its
    /// gateway could not be reached when it was approved) to its gateway
    /// under the same refund number, the gateways' idempotency key, and
    /// settles those the gateway reports finished. Settling is
    /// compare-and-set, so several workers may run this at once and each
    /// refund settles (and fires `RefundSucceeded`) once. Each refund is read
    /// again just before it is re-sent, and skipped unless still pending, so
    /// a refund a notification settled meanwhile is not sent again.
    ///
    /// A re-sent request tells the current state where the provider answers
    /// a repeated refund number with it (Alipay, WeChat Pay); Stripe replays
    /// its first answer for 24 hours, so a Stripe refund whose webhook got
    /// lost stays pending here until `max_age`.
    ///
    /// Refunds pending for longer than `max_age` are not re-sent but
    /// reported: providers forget idempotency keys (Stripe after 24 hours),
    /// after which a re-sent request could refund twice. Keep `max_age`
    /// below the shortest such window of the gateways in use.
    /// `Validation` when `min_age` is negative or `max_age <= min_age`.
    pub async fn retry_pending_refunds(
        &self,
        min_age: chrono::Duration,
        max_age: chrono::Duration,
    ) -> Result<RefundRetryReport> {
        self.retry_pending_refunds_until(min_age, max_age, &StopSignal::new())
            .await
    }

    /// [`Shop::retry_pending_refunds`], stopping at the first chunk
    /// boundary after `stop` is raised.
    pub async fn retry_pending_refunds_until(
        &self,
        min_age: chrono::Duration,
        max_age: chrono::Duration,
        stop: &StopSignal,
    ) -> Result<RefundRetryReport> {
        if min_age < chrono::Duration::zero() {
            return Err(Error::validation("min_age", "must not be negative"));
        }
        if max_age <= min_age {
            return Err(Error::validation("max_age", "must be longer than min_age"));
        }
        let now = self.now();
        let refunds_store = &self.inner.stores.refunds;
        let mut report = RefundRetryReport::default();
        let mut after = None;
        loop {
            if stop.is_raised() {
                return Ok(report);
            }
            let chunk = refunds_store
                .list_pending_refunds(now - min_age, after, self.inner.config.close_batch_size)
                .await?;
            let Some(last) = chunk.last() else {
                return Ok(report);
            };
            after = Some(last.id);
            for refund in chunk {
                if refund.created_at < now - max_age {
                    report.too_old.push(refund.refund_no);
                    continue;
                }
                let no = refund.refund_no.clone();
                match self.resend_refund(&refund).await {
                    Ok(None) => {}
                    Ok(Some(GatewayRefundStatus::Pending)) => report.still_pending.push(no),
                    Ok(Some(status)) => {
                        let succeeded = status == GatewayRefundStatus::Succeeded;
                        match self.finish_gateway_refund(&no, succeeded).await {
                            Ok(NotificationOutcome::RefundFinished(_)) => report.settled.push(no),
                            Ok(_) => {}
                            Err(e) => report.failed.push((no, e.to_string())),
                        }
                    }
                    Err(e) => report.failed.push((no, e.to_string())),
                }
            }
        }
    }

    /// Re-sends `refund` if it is still pending (`None` when it is not).
    async fn resend_refund(&self, refund: &Refund) -> Result<Option<GatewayRefundStatus>> {
        let current = self
            .inner
            .stores
            .refunds
            .get_refund(&refund.refund_no)
            .await?;
        if current.is_none_or(|r| r.status != RefundRecordStatus::Pending) {
            return Ok(None);
        }
        let order = self.any_order(refund.order_id).await?;
        self.send_refund(&order, refund).await.map(Some)
    }

    /// The payment of `order` and the gateway that took it (`InvalidTransition`
    /// for an unpaid order, `NotFound` for a gateway no longer registered).
    fn refund_gateway(&self, order: &Order) -> Result<(PaymentInfo, Arc<dyn PaymentGateway>)> {
        let payment = order.payment.clone().ok_or(Error::InvalidTransition {
            from: order.state,
            action: OrderAction::ApproveRefund,
        })?;
        let gateway = self.gateway(&payment.method)?.clone();
        Ok((payment, gateway))
    }

    /// Sends a refund of `order` to the gateway that took its payment.
    async fn send_refund(&self, order: &Order, refund: &Refund) -> Result<GatewayRefundStatus> {
        let (payment, gateway) = self.refund_gateway(order)?;
        let request = GatewayRefund {
            order_no: order.no.clone(),
            transaction_no: payment.transaction_no,
            refund_no: refund.refund_no.clone(),
            amount: refund.amount,
            paid_total: order.total,
            reason: refund.reason.clone(),
        };
        Ok(gateway.refund(&request).await?)
    }

    /// An order's refunds, oldest first (the buyer's own, or any for
    /// administrators via [`Shop::any_order`] first).
    pub async fn refunds(&self, user: UserId, id: OrderId) -> Result<Vec<Refund>> {
        self.order(user, id).await?;
        self.inner.stores.refunds.list_refunds(id).await
    }
}
