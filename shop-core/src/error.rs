//! Typed errors.
//!
//! Domain errors (what the shop's rules refused) are separate from backend
//! errors ([`StoreError`]: what the storage could not do). An HTTP layer maps
//! each [`Error`] variant to exactly one status code via [`Error::kind`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::SkuId;
use crate::money::{Money, MoneyError};
use crate::state::{OrderAction, OrderState};

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of entity an error talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// A product.
    Product,
    /// A stock keeping unit.
    Sku,
    /// A category.
    Category,
    /// A shipping address.
    Address,
    /// A cart line.
    CartItem,
    /// An order.
    Order,
    /// An order line.
    OrderItem,
    /// A coupon.
    Coupon,
    /// A review.
    Review,
    /// A refund.
    Refund,
    /// A checkout submit token.
    SubmitToken,
    /// A payment gateway.
    PaymentGateway,
    /// A login account.
    Account,
    /// An e-mail verification token.
    VerificationToken,
    /// A password reset token.
    PasswordResetToken,
    /// A login session.
    Session,
    /// An outbox listener's progress.
    EventListener,
    /// A scheduled job.
    Job,
    /// A flash sale.
    FlashSale,
    /// A crowdfunding campaign.
    Crowdfunding,
    /// An installment plan.
    InstallmentPlan,
    /// One period of an installment plan.
    InstallmentPeriod,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Entity::Product => "product",
            Entity::Sku => "sku",
            Entity::Category => "category",
            Entity::Address => "address",
            Entity::CartItem => "cart item",
            Entity::Order => "order",
            Entity::OrderItem => "order item",
            Entity::Coupon => "coupon",
            Entity::Review => "review",
            Entity::Refund => "refund",
            Entity::SubmitToken => "submit token",
            Entity::PaymentGateway => "payment gateway",
            Entity::Account => "account",
            Entity::VerificationToken => "verification token",
            Entity::PasswordResetToken => "password reset token",
            Entity::Session => "session",
            Entity::EventListener => "event listener",
            Entity::Job => "job",
            Entity::FlashSale => "flash sale",
            Entity::Crowdfunding => "crowdfunding campaign",
            Entity::InstallmentPlan => "installment plan",
            Entity::InstallmentPeriod => "installment period",
        };
        f.write_str(name)
    }
}

/// Everything a shop operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A SKU has less stock than asked for.
    #[error("sku {sku} is out of stock: requested {requested}, available {available}")]
    OutOfStock {
        /// The SKU.
        sku: SkuId,
        /// Quantity asked for.
        requested: u32,
        /// Stock at the time of the check.
        available: u32,
    },
    /// A coupon may not be used; the reason says which check failed.
    #[error("coupon rejected: {0}")]
    CouponRejected(CouponRejection),
    /// A flash-sale purchase was refused; the reason says why.
    #[error("flash sale: {0}")]
    FlashSale(crate::seckill::FlashSaleRefusal),
    /// A crowdfunding order or shipment was refused; the reason says why.
    #[error("crowdfunding: {0}")]
    Crowdfunding(crate::crowdfunding::CrowdfundingRefusal),
    /// The order's state does not allow this action.
    #[error("cannot {action} an order in state {from}")]
    InvalidTransition {
        /// The state the order was in.
        from: OrderState,
        /// What was attempted.
        action: OrderAction,
    },
    /// The resource belongs to somebody else.
    #[error("forbidden: the {entity} belongs to another user")]
    Forbidden {
        /// What was touched.
        entity: Entity,
    },
    /// An input failed validation.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The input field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A well-formed request that the current state of the shop refuses:
    /// the product is off sale, the parent category is not a directory, the
    /// stock or a cart line would pass its maximum, the lines do not match
    /// the order. The same request may succeed once the state changes.
    #[error("refused {field}: {reason}")]
    Refused {
        /// The input field the refusal is about.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such entity.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// The id or key looked for.
        id: String,
    },
    /// A submit token that already placed an order came back with a
    /// different request (the same request gets its order back).
    #[error("this submit token already placed order {order} for a different request")]
    SubmitTokenReused {
        /// The order the token placed.
        order: crate::ids::OrderId,
    },
    /// Another submission with the same submit token is placing its order
    /// right now (submit tokens kept apart from the orders, see
    /// [`Stores::with_submit_tokens`](crate::service::Stores::with_submit_tokens)):
    /// the same request sent again shortly gets that order, as with
    /// Stripe's `idempotency_key_in_use`.
    #[error("another submission with this submit token is placing order {order}; send the same request again shortly")]
    SubmitTokenInUse {
        /// The order the other submission is placing.
        order: crate::ids::OrderId,
    },
    /// The e-mail address and password do not match an account (also when
    /// there is no such account: the answer does not tell which).
    #[error("wrong e-mail address or password")]
    InvalidCredentials,
    /// The session token is unknown, ended or expired.
    #[error("not logged in, or the session has ended")]
    Unauthenticated,
    /// The account has not verified its e-mail address yet.
    #[error("verify your e-mail address first")]
    EmailNotVerified,
    /// An administrator deactivated the account.
    #[error("this account is deactivated")]
    AccountDeactivated,
    /// A resource of the server (the password hasher) is saturated; the
    /// call may succeed after `retry_after_secs`.
    #[error("the server is busy, try again in {retry_after_secs} s")]
    Busy {
        /// When to try again, in seconds.
        retry_after_secs: u32,
    },
    /// Money arithmetic failed (e.g. mixing currencies).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// A payment notification or gateway call was refused.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// The storage backend failed or detected a concurrent change.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// Shorthand for [`Error::Validation`].
    pub fn validation(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Validation {
            field,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Refused`].
    pub fn refused(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Refused {
            field,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: Entity, id: impl fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// The broad class of the error, for mapping to a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::OutOfStock { .. }
            | Error::InvalidTransition { .. }
            | Error::SubmitTokenReused { .. }
            | Error::SubmitTokenInUse { .. }
            | Error::FlashSale(_)
            | Error::Crowdfunding(_)
            | Error::Refused { .. } => ErrorKind::Conflict,
            Error::CouponRejected(_) => ErrorKind::Unprocessable,
            Error::Forbidden { .. } | Error::EmailNotVerified | Error::AccountDeactivated => {
                ErrorKind::Forbidden
            }
            Error::InvalidCredentials | Error::Unauthenticated => ErrorKind::Unauthenticated,
            Error::Busy { .. } => ErrorKind::Unavailable,
            Error::Validation { .. } | Error::Money(_) => ErrorKind::Invalid,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Payment(p) => p.kind(),
            Error::Store(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                ErrorKind::Conflict
            }
            Error::Store(StoreError::NotSupported { .. }) => ErrorKind::Internal,
            Error::Store(StoreError::Unavailable { .. }) => ErrorKind::Unavailable,
            Error::Store(StoreError::Backend { .. }) => ErrorKind::Internal,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Store(s) if s.is_retryable())
    }
}

/// Broad classes of errors; each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input (400).
    Invalid,
    /// Not logged in, or wrong credentials (401).
    Unauthenticated,
    /// Not the caller's resource (403).
    Forbidden,
    /// Unknown id (404).
    NotFound,
    /// The state changed or does not allow it (409).
    Conflict,
    /// Well-formed but refused by a business rule (422).
    Unprocessable,
    /// A backend is temporarily down (503).
    Unavailable,
    /// A bug or a permanent backend failure (500).
    Internal,
}

/// A boxed error source from a backend driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a storage backend can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-set lost: another actor changed the entity first.
    #[error("conflict: {entity} {id} was changed concurrently")]
    Conflict {
        /// What was written.
        entity: Entity,
        /// Its id.
        id: String,
    },
    /// A unique key is already taken.
    #[error("{entity} with key {key} already exists")]
    AlreadyExists {
        /// What was inserted.
        entity: Entity,
        /// The taken key.
        key: String,
    },
    /// The backend cannot do this operation.
    #[error("operation {operation} is not supported by this backend")]
    NotSupported {
        /// The operation's name.
        operation: &'static str,
    },
    /// The backend is temporarily unreachable (retryable).
    #[error("backend unavailable: {source}")]
    Unavailable {
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// Any other backend failure (not retryable).
    #[error("backend error: {source}")]
    Backend {
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// Why a coupon may not be used, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CouponRejection {
    /// Check 1: the coupon is switched off.
    Disabled,
    /// Check 2: every copy has been used.
    Exhausted,
    /// Check 3: `now` is before `not_before`.
    NotYetValid,
    /// Check 3: `now` is after `not_after`.
    Expired,
    /// Check 4: the order amount is below the coupon's minimum.
    BelowMinimum,
    /// Check 5: the user already holds it on a live order.
    AlreadyUsed,
}

impl fmt::Display for CouponRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CouponRejection::Disabled => "the coupon is disabled",
            CouponRejection::Exhausted => "the coupon has been used up",
            CouponRejection::NotYetValid => "the coupon is not valid yet",
            CouponRejection::Expired => "the coupon has expired",
            CouponRejection::BelowMinimum => "the order amount is below the coupon's minimum",
            CouponRejection::AlreadyUsed => "you have already used this coupon",
        })
    }
}

/// Why a payment call or notification was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// No gateway is registered under this name.
    #[error("unknown payment gateway {0}")]
    UnknownGateway(String),
    /// The signature does not verify (forged or tampered).
    #[error("invalid signature")]
    InvalidSignature,
    /// The notification is outside its timestamp window (replayed).
    #[error("notification timestamp outside the allowed window")]
    Replayed,
    /// The notification could not be parsed.
    #[error("malformed notification: {0}")]
    Malformed(String),
    /// The notification is for another merchant.
    #[error("notification for merchant {got}, expected {expected}")]
    MerchantMismatch {
        /// Our merchant id.
        expected: String,
        /// The notification's.
        got: String,
    },
    /// The amount paid is not the order's payable amount.
    #[error("amount {got} does not match the order's {expected}")]
    AmountMismatch {
        /// The order's amount.
        expected: Money,
        /// The notification's.
        got: Money,
    },
    /// No order has this number.
    #[error("no order numbered {0}")]
    UnknownOrder(String),
    /// The gateway could not be reached or answered an error.
    #[error("gateway error: {source}")]
    Gateway {
        /// The transport's or provider's error.
        #[source]
        source: BoxError,
    },
}

impl PaymentError {
    /// The error's class, for status codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PaymentError::UnknownGateway(_) | PaymentError::UnknownOrder(_) => ErrorKind::NotFound,
            PaymentError::InvalidSignature
            | PaymentError::Replayed
            | PaymentError::Malformed(_) => ErrorKind::Invalid,
            PaymentError::MerchantMismatch { .. } | PaymentError::AmountMismatch { .. } => {
                ErrorKind::Unprocessable
            }
            PaymentError::Gateway { .. } => ErrorKind::Unavailable,
        }
    }
}
