//! The admin API (role `admin`, else 403): products, categories, orders,
//! shipping, refunds, coupons and users.

pub mod catalog;
pub mod coupons;
pub mod orders;

pub use catalog::*;
pub use coupons::*;
pub use orders::*;
