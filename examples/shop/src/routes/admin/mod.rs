//! The admin API (role `admin`, else 403): products, categories, orders,
//! shipping, refunds, coupons, flash sales, crowdfunding campaigns and
//! users.

pub mod catalog;
pub mod coupons;
pub mod crowdfunding;
pub mod orders;
pub mod seckill;

pub use catalog::*;
pub use coupons::*;
pub use crowdfunding::*;
pub use orders::*;
pub use seckill::*;
