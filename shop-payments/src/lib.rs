//! # shop-payments
//!
//! Payment gateways: Alipay, WeChat Pay v3, Stripe and a local sandbox (issue #5).
//!
//! **Not built yet.** This crate is reserved in the workspace and holds no
//! code today; see the feature table in the repository README.
