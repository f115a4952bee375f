//! Refunds for [`MemoryStore`](super::MemoryStore): `create_refund`,
//! `finish_refund` and listing.

use super::{already_exists, conflict, State};
use crate::error::{Entity, Error, Result};
use crate::ids::OrderId;
use crate::refund::{check_refund_fits, FinishRefund, NewRefund, Refund, RefundRecordStatus};

impl State {
    /// An order's refunds, oldest first.
    pub(super) fn refunds_of(&self, order: OrderId) -> Vec<Refund> {
        let mut found: Vec<Refund> = self
            .refunds
            .values()
            .filter(|r| r.order_id == order)
            .cloned()
            .collect();
        found.sort_by_key(|r| (r.created_at, r.id));
        found
    }

    pub(super) fn create_refund(&mut self, cmd: &NewRefund) -> Result<()> {
        let refund = &cmd.refund;
        let order = self
            .orders
            .get(&refund.order_id)
            .ok_or_else(|| Error::not_found(Entity::Order, refund.order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order.id));
        }
        if self.refund_nos.contains_key(&refund.refund_no) {
            return Err(already_exists(Entity::Refund, &refund.refund_no));
        }
        if self.refunds.contains_key(&refund.id) {
            return Err(already_exists(Entity::Refund, refund.id));
        }
        let existing = self.refunds_of(order.id);
        check_refund_fits(order, &existing, refund)?;

        let order_id = order.id;
        self.refund_nos.insert(refund.refund_no.clone(), refund.id);
        self.refunds.insert(refund.id, refund.clone());
        if let Some(order) = self.orders.get_mut(&order_id) {
            order.state = cmd.next;
        }
        Ok(())
    }

    pub(super) fn finish_refund(&mut self, cmd: &FinishRefund) -> Result<()> {
        let id = *self
            .refund_nos
            .get(&cmd.refund_no)
            .ok_or_else(|| Error::not_found(Entity::Refund, &cmd.refund_no))?;
        let refund = self
            .refunds
            .get(&id)
            .ok_or_else(|| Error::not_found(Entity::Refund, &cmd.refund_no))?;
        if refund.status != RefundRecordStatus::Pending {
            return Err(conflict(Entity::Refund, &cmd.refund_no));
        }
        if cmd.outcome == RefundRecordStatus::Pending {
            return Err(Error::validation(
                "outcome",
                "a refund finishes as succeeded or failed",
            ));
        }
        let order_id = refund.order_id;
        let order = self
            .orders
            .get_mut(&order_id)
            .ok_or_else(|| Error::not_found(Entity::Order, order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order_id));
        }
        order.state = cmd.next;
        if let Some(refund) = self.refunds.get_mut(&id) {
            refund.status = cmd.outcome;
            refund.finished_at = Some(cmd.at);
        }
        Ok(())
    }
}
