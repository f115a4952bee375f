//! Use cases: coupon administration and the storefront's coupon check.

use super::Shop;
use crate::coupon::{generate_coupon_code, Coupon, CouponDraft};
use crate::error::{Entity, Error, Result, StoreError};
use crate::ids::{CouponId, UserId};
use crate::money::Money;

impl Shop {
    /// Creates a coupon. Without `code` a random 16-character code is
    /// generated (regenerated on the rare collision); a given code must be
    /// 4–32 uppercase letters and digits.
    pub async fn create_coupon(
        &self,
        mut draft: CouponDraft,
        code: Option<String>,
    ) -> Result<Coupon> {
        draft.validate()?;
        draft.value = draft.canonical_value();
        if draft.min_amount.currency() != self.inner.config.currency {
            return Err(Error::validation(
                "min_amount",
                format!("must be in {}", self.inner.config.currency),
            ));
        }
        if let Some(code) = &code {
            crate::coupon::check_code(code)?;
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            let coupon = Coupon {
                id: CouponId(self.next_id()),
                code: code.clone().unwrap_or_else(generate_coupon_code),
                draft: draft.clone(),
                used: 0,
                created_at: self.now(),
            };
            match self.inner.stores.coupons.create_coupon(&coupon).await {
                Ok(()) => return Ok(coupon),
                Err(Error::Store(StoreError::AlreadyExists { .. }))
                    if code.is_none() && attempts < 3 => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Changes a coupon's settings (its use count is untouched). `code` is
    /// the code the caller names, if any: a coupon's code never changes
    /// (`Refused { field: "code" }` when it differs).
    pub async fn update_coupon(
        &self,
        id: CouponId,
        code: Option<&str>,
        mut draft: CouponDraft,
    ) -> Result<Coupon> {
        draft.validate()?;
        draft.value = draft.canonical_value();
        let mut coupon = self.coupon(id).await?;
        if code.is_some_and(|code| code != coupon.code) {
            return Err(Error::refused("code", "a coupon's code cannot change"));
        }
        if draft.min_amount.currency() != coupon.draft.min_amount.currency() {
            return Err(Error::validation(
                "min_amount",
                "the currency cannot change",
            ));
        }
        self.inner.stores.coupons.update_coupon(id, &draft).await?;
        coupon.draft = draft;
        Ok(coupon)
    }

    /// Deletes a coupon no order refers to.
    pub async fn delete_coupon(&self, id: CouponId) -> Result<()> {
        self.coupon(id).await?;
        self.inner.stores.coupons.delete_coupon(id).await
    }

    /// Loads a coupon by id.
    pub async fn coupon(&self, id: CouponId) -> Result<Coupon> {
        self.inner
            .stores
            .coupons
            .get_coupon(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Coupon, id))
    }

    /// Loads a coupon by its code (`NotFound` when unknown, `Validation`
    /// when `code` is not a key: empty, too long, control characters).
    pub async fn coupon_by_code(&self, code: &str) -> Result<Coupon> {
        crate::text::check_key("coupon_code", code)?;
        self.inner
            .stores
            .coupons
            .get_coupon_by_code(code)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Coupon, code))
    }

    /// All coupons, newest first.
    pub async fn coupons(&self) -> Result<Vec<Coupon>> {
        self.inner.stores.coupons.list_coupons().await
    }

    /// The storefront's "apply coupon" check: runs the five checks for
    /// `user` and `amount` and returns the coupon with the discounted total.
    pub async fn check_coupon(
        &self,
        user: UserId,
        code: &str,
        amount: Money,
    ) -> Result<(Coupon, Money)> {
        let coupon = self.coupon_by_code(code.trim()).await?;
        let held = self
            .inner
            .stores
            .coupons
            .coupon_held_by(coupon.id, user)
            .await?;
        coupon.check(self.now(), amount, held)?;
        let total = coupon.apply(amount)?;
        Ok((coupon, total))
    }
}
