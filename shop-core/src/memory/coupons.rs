//! [`CouponStore`] for [`MemoryStore`], and the coupon checks `place_order`
//! repeats inside its step.

use std::cmp::Reverse;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, conflict, MemoryStore, State};
use crate::coupon::{Coupon, CouponDraft, CouponRejection, CouponStore};
use crate::error::{Entity, Error, Result};
use crate::ids::{CouponId, UserId};

impl State {
    /// Check 5: `user` holds `coupon` on an order that is pending, or paid
    /// (or later) and not fully refunded.
    pub(super) fn coupon_held_by(&self, coupon: CouponId, user: UserId) -> bool {
        self.orders
            .values()
            .any(|o| o.user_id == user && o.coupon_id == Some(coupon) && o.state.holds_coupon())
    }

    /// The checks `place_order` repeats atomically: the coupon exists, is
    /// enabled, has a copy left, is valid at `at`, and `user` does not hold it.
    /// (The minimum amount was checked by the service that priced the order.)
    pub(super) fn recheck_coupon(
        &self,
        id: CouponId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let coupon = self
            .coupons
            .get(&id)
            .ok_or_else(|| Error::not_found(Entity::Coupon, id))?;
        let rejection = coupon.unusable_at(at).or_else(|| {
            self.coupon_held_by(id, user)
                .then_some(CouponRejection::AlreadyUsed)
        });
        match rejection {
            Some(reason) => Err(Error::CouponRejected(reason)),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl CouponStore for MemoryStore {
    async fn create_coupon(&self, coupon: &Coupon) -> Result<()> {
        let mut state = self.state();
        if state.coupons.contains_key(&coupon.id) {
            return Err(already_exists(Entity::Coupon, coupon.id));
        }
        if state.coupons.values().any(|c| c.code == coupon.code) {
            return Err(already_exists(Entity::Coupon, &coupon.code));
        }
        state.coupons.insert(coupon.id, coupon.clone());
        Ok(())
    }

    async fn update_coupon(&self, id: CouponId, draft: &CouponDraft) -> Result<()> {
        let mut state = self.state();
        let coupon = state
            .coupons
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Coupon, id))?;
        coupon.draft = draft.clone();
        Ok(())
    }

    async fn delete_coupon(&self, id: CouponId) -> Result<()> {
        let mut state = self.state();
        if !state.coupons.contains_key(&id) {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        if state.orders.values().any(|o| o.coupon_id == Some(id)) {
            return Err(conflict(Entity::Coupon, id));
        }
        state.coupons.remove(&id);
        Ok(())
    }

    async fn get_coupon(&self, id: CouponId) -> Result<Option<Coupon>> {
        Ok(self.state().coupons.get(&id).cloned())
    }

    async fn get_coupon_by_code(&self, code: &str) -> Result<Option<Coupon>> {
        Ok(self
            .state()
            .coupons
            .values()
            .find(|c| c.code == code)
            .cloned())
    }

    async fn list_coupons(&self) -> Result<Vec<Coupon>> {
        let mut coupons: Vec<Coupon> = self.state().coupons.values().cloned().collect();
        coupons.sort_by_key(|c| Reverse((c.created_at, c.id)));
        Ok(coupons)
    }

    async fn coupon_held_by(&self, coupon: CouponId, user: UserId) -> Result<bool> {
        Ok(self.state().coupon_held_by(coupon, user))
    }
}
