//! Coupons: kinds, the five checks in order, the discount rule, the store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngExt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::error::CouponRejection;
use crate::error::{Error, Result};
use crate::ids::{CouponId, UserId};
use crate::money::{Money, MAX_AMOUNT};

/// How a coupon discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CouponKind {
    /// `value` off the amount.
    Fixed,
    /// `value` percent off the amount.
    Percent,
}

impl CouponKind {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            CouponKind::Fixed => "fixed",
            CouponKind::Percent => "percent",
        }
    }

    /// Parses [`CouponKind::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fixed" => Some(CouponKind::Fixed),
            "percent" => Some(CouponKind::Percent),
            _ => None,
        }
    }
}

/// The fields an administrator sets on a coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CouponDraft {
    /// Display name.
    pub name: String,
    /// Fixed or percent.
    pub kind: CouponKind,
    /// Amount off (fixed, in `min_amount`'s currency) or percent off (0–100).
    pub value: Decimal,
    /// The least order amount it applies to; also fixes the coupon's currency.
    pub min_amount: Money,
    /// How many orders may use it in all.
    pub total: u32,
    /// Valid from (inclusive), if limited.
    pub not_before: Option<DateTime<Utc>>,
    /// Valid until (inclusive), if limited.
    pub not_after: Option<DateTime<Utc>>,
    /// Whether it may be used.
    pub enabled: bool,
}

/// The most orders one coupon may serve (every backend's column holds it).
pub const MAX_COUPON_TOTAL: u32 = 1_000_000_000;
/// A JSON-Schema pattern of a percent coupon's value: more than 0, at most
/// 100, at most [`PERCENT_DECIMALS`] decimals.
pub const PERCENT_PATTERN: &str =
    r"^(100(\.00?)?|[1-9][0-9]?(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$";
/// A JSON-Schema pattern of a code an administrator chooses (4–32 uppercase
/// letters and digits; generated codes have 16).
pub const CODE_PATTERN: &str = "^[A-Z0-9]{4,32}$";

/// The rule for a code an administrator chooses ([`CODE_PATTERN`]): 4–32
/// uppercase ASCII letters and digits (`Validation { field: "code" }`).
pub fn check_code(code: &str) -> Result<()> {
    let ok = (4..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "code",
            "must be 4–32 uppercase letters and digits",
        ))
    }
}

/// Decimals of a percent coupon's value (`12.50` %).
pub const PERCENT_DECIMALS: u32 = 2;

impl CouponDraft {
    /// The value in canonical form, as every backend returns it: a fixed
    /// value with its currency's minor digits, a percentage with
    /// [`PERCENT_DECIMALS`] (`10` becomes `10.00`).
    pub fn canonical_value(&self) -> Decimal {
        let scale = match self.kind {
            CouponKind::Fixed => self.min_amount.currency().minor_digits(),
            CouponKind::Percent => PERCENT_DECIMALS,
        };
        crate::money::with_scale(self.value, scale)
    }

    /// Checks value ranges and the validity window.
    pub fn validate(&self) -> Result<()> {
        crate::text::required_line("name", &self.name, crate::catalog::MAX_TITLE_CHARS)?;
        match self.kind {
            CouponKind::Fixed => {
                let v = Money::new(self.value, self.min_amount.currency());
                if !v.is_positive() || !v.is_whole_minor_units() || v.amount() > MAX_AMOUNT {
                    return Err(Error::validation(
                        "value",
                        format!("must be positive, in whole minor units and at most {MAX_AMOUNT}"),
                    ));
                }
            }
            CouponKind::Percent => {
                if self.value <= Decimal::ZERO
                    || self.value > Decimal::ONE_HUNDRED
                    || self.value.normalize().scale() > PERCENT_DECIMALS
                {
                    return Err(Error::validation(
                        "value",
                        "a percentage must be in (0, 100], with at most 2 decimals",
                    ));
                }
            }
        }
        if self.min_amount.amount() < Decimal::ZERO
            || !self.min_amount.is_whole_minor_units()
            || self.min_amount.amount() > MAX_AMOUNT
        {
            return Err(Error::validation(
                "min_amount",
                format!("must be 0 to {MAX_AMOUNT} in whole minor units"),
            ));
        }
        if !(1..=MAX_COUPON_TOTAL).contains(&self.total) {
            return Err(Error::validation(
                "total",
                format!("must be 1 to {MAX_COUPON_TOTAL}"),
            ));
        }
        if let (Some(a), Some(b)) = (self.not_before, self.not_after) {
            if a > b {
                return Err(Error::validation(
                    "not_after",
                    "must not be before not_before",
                ));
            }
        }
        Ok(())
    }
}

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coupon {
    /// Id.
    pub id: CouponId,
    /// The code a buyer types: 16 uppercase letters and digits, unique.
    pub code: String,
    /// The administrator's fields.
    #[serde(flatten)]
    pub draft: CouponDraft,
    /// Orders that hold it now (closing an order gives it back).
    pub used: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Coupon {
    /// Checks 1–4, in order: enabled; used < total; within the validity
    /// window; amount ≥ minimum. Check 5 (once per user) needs the orders and
    /// is passed in as `already_used_by_user`.
    pub fn check(
        &self,
        now: DateTime<Utc>,
        amount: Money,
        already_used_by_user: bool,
    ) -> Result<()> {
        let reject = |r| Err(Error::CouponRejected(r));
        let d = &self.draft;
        if let Some(reason) = self.unusable_at(now) {
            return reject(reason);
        }
        if amount.checked_cmp(&d.min_amount)?.is_lt() {
            return reject(CouponRejection::BelowMinimum);
        }
        if already_used_by_user {
            return reject(CouponRejection::AlreadyUsed);
        }
        Ok(())
    }

    /// Checks 1–3, the part a store repeats in the atomic write that takes
    /// one use (`enabled AND used < total AND not_before <= now AND
    /// not_after >= now`): the first one that fails, if any.
    pub fn unusable_at(&self, now: DateTime<Utc>) -> Option<CouponRejection> {
        let d = &self.draft;
        if !d.enabled {
            Some(CouponRejection::Disabled)
        } else if self.used >= d.total {
            Some(CouponRejection::Exhausted)
        } else if d.not_before.is_some_and(|t| now < t) {
            Some(CouponRejection::NotYetValid)
        } else if d.not_after.is_some_and(|t| now > t) {
            Some(CouponRejection::Expired)
        } else {
            None
        }
    }

    /// Why a store's conditional take of one use at `now` matched no row,
    /// judged on the coupon as read back afterwards: the first of checks
    /// 1–3 it fails, or `Exhausted` when it passes them again (a use was
    /// given back in between).
    pub fn take_refusal(&self, now: DateTime<Utc>) -> Error {
        Error::CouponRejected(self.unusable_at(now).unwrap_or(CouponRejection::Exhausted))
    }

    /// The amount to pay after the discount: never above `amount`, never
    /// below the minor unit (0.01), percent results rounded half-up.
    pub fn apply(&self, amount: Money) -> Result<Money> {
        let d = &self.draft;
        let discounted = match d.kind {
            CouponKind::Fixed => {
                amount.checked_sub(Money::new(d.value, d.min_amount.currency()))?
            }
            CouponKind::Percent => amount
                .checked_mul((Decimal::ONE_HUNDRED - d.value) / Decimal::ONE_HUNDRED)?
                .round(),
        };
        let floor = Money::new(amount.currency().minor_unit(), amount.currency());
        let discounted = if discounted.checked_cmp(&floor)?.is_lt() {
            floor
        } else {
            discounted
        };
        Ok(if discounted.checked_cmp(&amount)?.is_gt() {
            amount
        } else {
            discounted
        })
    }
}

/// A fresh coupon code: 16 random uppercase letters and digits.
pub fn generate_coupon_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Port: coupon storage. Using and releasing coupons happens inside
/// [`crate::order::OrderStore::place_order`] and `close_order`.
#[async_trait]
pub trait CouponStore: Send + Sync + 'static {
    /// Inserts a coupon (`AlreadyExists` when the code is taken).
    async fn create_coupon(&self, coupon: &Coupon) -> Result<()>;
    /// Overwrites the administrator's fields (never `used`).
    async fn update_coupon(&self, id: CouponId, draft: &CouponDraft) -> Result<()>;
    /// Deletes a coupon that no order references (`Conflict` otherwise).
    async fn delete_coupon(&self, id: CouponId) -> Result<()>;
    /// Loads a coupon by id.
    async fn get_coupon(&self, id: CouponId) -> Result<Option<Coupon>>;
    /// Loads a coupon by code (exact match).
    async fn get_coupon_by_code(&self, code: &str) -> Result<Option<Coupon>>;
    /// All coupons, newest first.
    async fn list_coupons(&self) -> Result<Vec<Coupon>>;
    /// Check 5: whether `user` holds `coupon` on an order that is pending, or
    /// paid (or later) and not fully refunded.
    async fn coupon_held_by(&self, coupon: CouponId, user: UserId) -> Result<bool>;
}
