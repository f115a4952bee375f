//! # shop-payments
//!
//! Payment gateways for `shop-core`: implementations of
//! [`shop_core::payment::PaymentGateway`] that create payments, verify
//! notifications over the raw bytes received and refund. The business
//! decisions — the merchant, the order and the amount must match; a
//! duplicate changes nothing; concurrent duplicates pay once; a refund
//! settles once per refund number — stay in `shop-core`
//! (`Shop::handle_payment_notification`, `Shop::approve_refund`); a gateway
//! only says what a genuine notification means.
//!
//! ## What is built
//!
//! | gateway | name | status |
//! | --- | --- | --- |
//! | [`SandboxGateway`] | `"sandbox"` | built: local, signed with its own secret; the default of the example shop and the tests |
//! | [`StripeGateway`] | `"stripe"` | built: PaymentIntents, `Stripe-Signature` webhooks (published SDK test vector in `tests/fixtures/stripe`), refunds |
//! | [`AlipayGateway`] | `"alipay"` | built: OpenAPI with RSA2 in public-key or certificate mode; page pay, precreate (QR), refund, query; notification and return-URL verification (published SDK vectors in `tests/fixtures/alipay`) |
//! | [`WechatPayGateway`] | `"wechat"` | built: API v3 Native (QR) and H5 orders, `WECHATPAY2-SHA256-RSA2048` request signing, `Wechatpay-*` response and notification verification (platform certificates or public keys), AEAD_AES_256_GCM resources, refunds and refund notifications (published SDK test vectors in `tests/fixtures/wechat`) |
//! | [`qr_svg`] | — | built: SVG QR codes for WeChat Pay Native `code_url`s and Alipay precreate `qr_code`s, checked by decoding them |
//!
//! Shared foundations, one module each:
//!
//! * [`transport`]: the [`Transport`] trait (method, URL, headers, body bytes
//!   in; status, headers, body bytes out) and [`ReqwestTransport`] (reqwest
//!   with rustls, no OpenSSL).
//! * [`amount`]: exact [`shop_core::Money`] conversions to and from Alipay
//!   yuan strings, WeChat fen and Stripe minor units; amounts that are not
//!   whole minor units or out of the provider's range are refused, never
//!   rounded.
//! * [`qr`]: [`qr_svg`] renders a Native `code_url` or an Alipay precreate
//!   `qr_code` as an SVG QR code.
//! * [`clock`]: every timestamp window is checked against an injected
//!   [`shop_core::clock::Clock`].
//! * Cryptography comes from one constant-time provider, `aws-lc-rs` — the
//!   one rustls already uses through reqwest's `rustls` feature — with
//!   HMAC-SHA256 compared in constant time, RSA PKCS#1 v1.5 SHA-256 signing
//!   and verification, AES-256-GCM. PEM comes through `rustls-pki-types`
//!   and X.509 through `x509-cert`. The `rsa` crate is never used. (Alipay's
//!   certificate serial numbers are MD5 names, computed with the small
//!   `md-5` crate because `aws-lc-rs` has no MD5; they protect nothing.)
//!
//! Errors are [`shop_core::payment::PaymentError`]: forged or tampered
//! notifications are `InvalidSignature`, ones outside their timestamp window
//! `Replayed`, unreadable ones `Malformed`; a failed provider call is
//! `Gateway` whose source is a [`ProviderError`]; a provider answer whose
//! signature does not verify (Alipay signs its answers) is
//! `InvalidSignature` too.
//!
//! ## Example
//!
//! A purchase paid through the sandbox, on the in-memory backend:
//!
//! ```
//! use std::sync::Arc;
//! use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
//! use shop_core::ids::UserId;
//! use shop_core::memory::MemoryStore;
//! use shop_core::order::OrderStatus;
//! use shop_core::payment::PaymentAction;
//! use shop_core::service::{NotificationOutcome, OrderLineRequest, PlaceOrderRequest};
//! use shop_core::user::AddressDraft;
//! use shop_core::{Currency, Error, Money, Shop, Stores};
//! use shop_payments::SandboxGateway;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let sandbox = Arc::new(SandboxGateway::new(
//!     b"a long random sandbox secret".to_vec(),
//!     "http://127.0.0.1:8080/sandbox/pay",
//! ));
//! let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new())))
//!     .gateway(sandbox.clone())
//!     .build();
//!
//! let (_, skus) = shop
//!     .create_product(
//!         ProductDraft {
//!             kind: ProductKind::Normal,
//!             title: "Tea cup".into(),
//!             long_title: "Hand-made tea cup".into(),
//!             description: "Porcelain.".into(),
//!             image: "https://example.com/cup.png".into(),
//!             on_sale: true,
//!             category_id: None,
//!             properties: vec![],
//!         },
//!         vec![SkuDraft {
//!             title: "White".into(),
//!             description: String::new(),
//!             price: Money::parse("19.90", Currency::Cny)?,
//!             stock: 5,
//!         }],
//!     )
//!     .await?;
//! let buyer = UserId(1);
//! let address = shop
//!     .create_address(
//!         buyer,
//!         AddressDraft {
//!             province: "Zhejiang".into(),
//!             city: "Hangzhou".into(),
//!             district: "Xihu".into(),
//!             street: "1 Lake Rd".into(),
//!             zip: "310000".into(),
//!             contact_name: "Wang Fang".into(),
//!             contact_phone: "13900000000".into(),
//!         },
//!     )
//!     .await?;
//! let order = shop
//!     .place_order(
//!         buyer,
//!         PlaceOrderRequest {
//!             address_id: address.id,
//!             items: vec![OrderLineRequest { sku_id: skus[0].id, quantity: 1 }],
//!             coupon_code: None,
//!             remark: String::new(),
//!             submit_token: None,
//!         },
//!     )
//!     .await?;
//!
//! // The buyer is sent to the sandbox's pay page…
//! let action = shop.start_payment(buyer, order.id, "sandbox", None).await?;
//! let PaymentAction::Redirect(url) = action else { unreachable!() };
//! assert!(url.contains(&format!("order_no={}", order.no)));
//! assert!(url.contains("amount=19.90"));
//!
//! // …whose "pay" button sends a signed notification, as a provider would.
//! let notification = sandbox.notify_paid(&order.no, order.total);
//! let outcome = shop.handle_payment_notification("sandbox", &notification).await?;
//! assert_eq!(outcome, NotificationOutcome::Paid(order.id));
//! assert_eq!(shop.order(buyer, order.id).await?.state.status, OrderStatus::Paid);
//!
//! // The same notification again is acknowledged and changes nothing.
//! let again = shop.handle_payment_notification("sandbox", &notification).await?;
//! assert_eq!(again, NotificationOutcome::AlreadyPaid(order.id));
//!
//! // A tampered one is refused.
//! let mut forged = sandbox.notify_paid(&order.no, Money::parse("0.01", Currency::Cny)?);
//! forged.body = notification.body.clone();
//! forged.body.extend_from_slice(b"&x=1");
//! let refused = shop.handle_payment_notification("sandbox", &forged).await;
//! assert!(matches!(
//!     refused,
//!     Err(shop_core::Error::Payment(shop_core::payment::PaymentError::InvalidSignature))
//! ));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alipay")]
pub mod alipay;
// Shared by the providers: with some left out, parts go unused.
#[cfg_attr(
    not(all(
        feature = "sandbox",
        feature = "stripe",
        feature = "alipay",
        feature = "wechat"
    )),
    allow(dead_code, unused_imports)
)]
pub mod amount;
#[cfg_attr(
    not(all(
        feature = "sandbox",
        feature = "stripe",
        feature = "alipay",
        feature = "wechat"
    )),
    allow(dead_code, unused_imports)
)]
pub mod clock;
#[cfg_attr(
    not(all(
        feature = "sandbox",
        feature = "stripe",
        feature = "alipay",
        feature = "wechat"
    )),
    allow(dead_code, unused_imports)
)]
mod crypto;
pub mod error;
#[cfg(any(feature = "alipay", feature = "wechat"))]
pub mod qr;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "stripe")]
pub mod stripe;
pub mod transport;
#[cfg(feature = "wechat")]
pub mod wechat;

#[cfg(feature = "alipay")]
pub use alipay::{AlipayConfig, AlipayGateway};
pub use error::ProviderError;
#[cfg(any(feature = "alipay", feature = "wechat"))]
pub use qr::qr_svg;
#[cfg(feature = "http")]
pub use reqwest;
#[cfg(feature = "sandbox")]
pub use sandbox::{SandboxEvent, SandboxGateway};
#[cfg(feature = "stripe")]
pub use stripe::{StripeConfig, StripeGateway};
#[cfg(feature = "http")]
pub use transport::ReqwestTransport;
pub use transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
#[cfg(feature = "wechat")]
pub use wechat::{WechatPayConfig, WechatPayGateway};

/// The shop-core crate this one implements ports of, for matching
/// versions.
pub use shop_core;
pub use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification, VerifiedPayment,
};
pub use shop_core::{Currency, Money};
