//! Typed column access (one implementation per dialect) and turning rows
//! into domain values. No business rule lives here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shop_core::account::{Account, Role, Session};
use shop_core::cart::CartItem;
use shop_core::catalog::{Category, Product, ProductKind, Property, Sku};
use shop_core::coupon::{Coupon, CouponDraft, CouponKind};
use shop_core::ids::{
    AddressId, CategoryId, CouponId, OrderId, OrderItemId, ProductId, RefundId, SkuId, UserId,
};
use shop_core::notify::Locale;
use shop_core::order::{
    LineReview, Order, OrderItem, OrderState, OrderStatus, PaymentInfo, ProductReview,
    RefundStatus, ShipmentInfo,
};
use shop_core::refund::{Refund, RefundLine, RefundRecordStatus};
use shop_core::user::{Address, AddressDraft, AddressSnapshot};
use shop_core::{Currency, Money, Result};

use crate::error::corrupt;

/// Typed access to a column, implemented per dialect.
pub trait Cols {
    /// An integer column of any width.
    fn int(&self, col: &str) -> Result<i64>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    /// A text column.
    fn text(&self, col: &str) -> Result<String>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    /// A boolean column.
    fn flag(&self, col: &str) -> Result<bool>;
    /// An exact decimal column.
    fn decimal(&self, col: &str) -> Result<Decimal>;
    /// A UTC time column.
    fn time(&self, col: &str) -> Result<DateTime<Utc>>;
    /// A nullable UTC time column.
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>>;

    /// A non-negative integer that fits `u32`.
    fn count(&self, col: &str) -> Result<u32> {
        let v = self.int(col)?;
        u32::try_from(v).map_err(|_| corrupt(col, &v.to_string()))
    }

    /// The row's currency.
    fn currency(&self) -> Result<Currency> {
        let code = self.text("currency")?;
        code.trim().parse().map_err(|_| corrupt("currency", &code))
    }

    /// An amount in the row's currency, at the currency's scale.
    fn money(&self, col: &str) -> Result<Money> {
        let currency = self.currency()?;
        let mut amount = self.decimal(col)?;
        if amount.scale() > currency.minor_digits()
            && amount == amount.round_dp(currency.minor_digits())
        {
            amount.rescale(currency.minor_digits());
        }
        Ok(Money::new(amount, currency))
    }
}

fn parse<T>(what: &str, value: String, f: impl Fn(&str) -> Option<T>) -> Result<T> {
    f(&value).ok_or_else(|| corrupt(what, &value))
}

/// Properties are stored as a JSON array of `{name, value}`.
pub(crate) fn properties_json(props: &[Property]) -> String {
    serde_json::to_string(props).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn category_from(r: &impl Cols) -> Result<Category> {
    Ok(Category {
        id: CategoryId(r.int("id")?),
        name: r.text("name")?,
        parent_id: r.opt_int("parent_id")?.map(CategoryId),
        is_directory: r.flag("is_directory")?,
        level: r.count("level")?,
        path: r.text("path")?,
    })
}

pub(crate) fn product_from(r: &impl Cols) -> Result<Product> {
    let props = r.text("properties")?;
    Ok(Product {
        id: ProductId(r.int("id")?),
        kind: parse("product kind", r.text("kind")?, ProductKind::parse)?,
        title: r.text("title")?,
        long_title: r.text("long_title")?,
        description: r.text("description")?,
        image: r.text("image")?,
        on_sale: r.flag("on_sale")?,
        category_id: r.opt_int("category_id")?.map(CategoryId),
        properties: serde_json::from_str(&props).map_err(|_| corrupt("properties", &props))?,
        rating: shop_core::catalog::canonical_rating(r.decimal("rating")?),
        sold_count: r.int("sold_count")?.max(0) as u64,
        review_count: r.int("review_count")?.max(0) as u64,
        price: r.money("price")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub(crate) fn sku_from(r: &impl Cols) -> Result<Sku> {
    Ok(Sku {
        id: SkuId(r.int("id")?),
        product_id: ProductId(r.int("product_id")?),
        title: r.text("title")?,
        description: r.text("description")?,
        price: r.money("price")?,
        stock: r.count("stock")?,
    })
}

pub(crate) fn address_from(r: &impl Cols) -> Result<Address> {
    Ok(Address {
        id: AddressId(r.int("id")?),
        user_id: UserId(r.int("user_id")?),
        fields: AddressDraft {
            province: r.text("province")?,
            city: r.text("city")?,
            district: r.text("district")?,
            street: r.text("street")?,
            zip: r.text("zip")?,
            contact_name: r.text("contact_name")?,
            contact_phone: r.text("contact_phone")?,
        },
        last_used_at: r.opt_time("last_used_at")?,
    })
}

pub(crate) fn cart_item_from(r: &impl Cols) -> Result<CartItem> {
    Ok(CartItem {
        user_id: UserId(r.int("user_id")?),
        sku_id: SkuId(r.int("sku_id")?),
        quantity: r.count("quantity")?,
        added_at: r.time("added_at")?,
    })
}

pub(crate) fn coupon_from(r: &impl Cols) -> Result<Coupon> {
    let mut draft = CouponDraft {
        name: r.text("name")?,
        kind: parse("coupon kind", r.text("kind")?, CouponKind::parse)?,
        value: r.decimal("value")?,
        min_amount: r.money("min_amount")?,
        total: r.count("total")?,
        not_before: r.opt_time("not_before")?,
        not_after: r.opt_time("not_after")?,
        enabled: r.flag("enabled")?,
    };
    draft.value = draft.canonical_value();
    Ok(Coupon {
        id: CouponId(r.int("id")?),
        code: r.text("code")?,
        draft,
        used: r.count("used")?,
        created_at: r.time("created_at")?,
    })
}

pub(crate) fn account_from(r: &impl Cols) -> Result<Account> {
    Ok(Account {
        id: UserId(r.int("id")?),
        email: r.text("email")?,
        name: r.text("name")?,
        password_hash: r.text("password_hash")?,
        role: parse("role", r.text("role")?, Role::parse)?,
        email_verified_at: r.opt_time("email_verified_at")?,
        created_at: r.time("created_at")?,
        deactivated_at: r.opt_time("deactivated_at")?,
        locale: parse("locale", r.text("locale")?, |t: &str| Locale::from_tag(t))?,
    })
}

pub(crate) fn session_from(r: &impl Cols) -> Result<Session> {
    Ok(Session {
        token_hash: r.text("token_hash")?,
        user_id: UserId(r.int("user_id")?),
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

/// The payment of a row with `payment_method`, `payment_no` and `paid_at`
/// columns (an order, an installment period), when it has one.
pub(crate) fn payment_from(r: &impl Cols) -> Result<Option<PaymentInfo>> {
    Ok(
        match (
            r.opt_text("payment_method")?,
            r.opt_text("payment_no")?,
            r.opt_time("paid_at")?,
        ) {
            (Some(method), Some(transaction_no), Some(paid_at)) => Some(PaymentInfo {
                method,
                transaction_no,
                paid_at,
            }),
            _ => None,
        },
    )
}

/// An order row without its lines.
pub(crate) fn order_from(r: &impl Cols) -> Result<Order> {
    let payment = payment_from(r)?;
    let shipment = match (
        r.opt_text("ship_carrier")?,
        r.opt_text("ship_tracking")?,
        r.opt_time("shipped_at")?,
    ) {
        (Some(carrier), Some(tracking_no), Some(shipped_at)) => Some(ShipmentInfo {
            carrier,
            tracking_no,
            shipped_at,
        }),
        _ => None,
    };
    Ok(Order {
        id: OrderId(r.int("id")?),
        no: r.text("no")?,
        user_id: UserId(r.int("user_id")?),
        kind: parse("order kind", r.text("kind")?, ProductKind::parse)?,
        address: AddressSnapshot {
            address: r.text("address")?,
            zip: r.text("zip")?,
            contact_name: r.text("contact_name")?,
            contact_phone: r.text("contact_phone")?,
        },
        items: Vec::new(),
        items_total: r.money("items_total")?,
        total: r.money("total")?,
        coupon_id: r.opt_int("coupon_id")?.map(CouponId),
        remark: r.text("remark")?,
        state: OrderState {
            status: parse("order status", r.text("status")?, OrderStatus::parse)?,
            refund: parse(
                "refund status",
                r.text("refund_status")?,
                RefundStatus::parse,
            )?,
        },
        payment,
        shipment,
        refund_reason: r.opt_text("refund_reason")?,
        refund_refusal: r.opt_text("refund_refusal")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        closed_at: r.opt_time("closed_at")?,
    })
}

/// An order line; the row also carries its order's `order_id` and
/// `currency`.
pub(crate) fn order_item_from(r: &impl Cols) -> Result<(OrderId, OrderItem)> {
    let review = line_review(r)?;
    Ok((
        OrderId(r.int("order_id")?),
        OrderItem {
            id: OrderItemId(r.int("id")?),
            product_id: ProductId(r.int("product_id")?),
            sku_id: SkuId(r.int("sku_id")?),
            quantity: r.count("quantity")?,
            unit_price: r.money("unit_price")?,
            review,
        },
    ))
}

/// Groups `(owner, line)` pairs by owner, keeping their order (the rows
/// come in `line_no` order).
pub(crate) fn group_lines<K: std::hash::Hash + Eq, V>(pairs: Vec<(K, V)>) -> HashMap<K, Vec<V>> {
    let mut by_owner: HashMap<K, Vec<V>> = HashMap::new();
    for (owner, line) in pairs {
        by_owner.entry(owner).or_default().push(line);
    }
    by_owner
}

/// A refund row without its lines.
pub(crate) fn refund_from(r: &impl Cols) -> Result<Refund> {
    Ok(Refund {
        id: RefundId(r.int("id")?),
        refund_no: r.text("refund_no")?,
        order_id: OrderId(r.int("order_id")?),
        amount: r.money("amount")?,
        lines: Vec::new(),
        reason: r.text("reason")?,
        status: parse(
            "refund status",
            r.text("status")?,
            RefundRecordStatus::parse,
        )?,
        created_at: r.time("created_at")?,
        finished_at: r.opt_time("finished_at")?,
    })
}

/// A refund line; the row also carries `refund_id`.
pub(crate) fn refund_line_from(r: &impl Cols) -> Result<(RefundId, RefundLine)> {
    Ok((
        RefundId(r.int("refund_id")?),
        RefundLine {
            item_id: OrderItemId(r.int("item_id")?),
            quantity: r.count("quantity")?,
        },
    ))
}

/// The review of an order line, when it has one.
fn line_review(r: &impl Cols) -> Result<Option<LineReview>> {
    Ok(
        match (
            r.opt_int("rating")?,
            r.opt_text("review")?,
            r.opt_time("reviewed_at")?,
        ) {
            (Some(rating), Some(text), Some(reviewed_at)) => Some(LineReview {
                rating: u8::try_from(rating).map_err(|_| corrupt("rating", &rating.to_string()))?,
                text,
                reviewed_at,
            }),
            _ => None,
        },
    )
}

/// A published review: the row carries `user_id`, `sku_id` and the line's
/// review columns.
pub(crate) fn product_review_from(r: &impl Cols) -> Result<ProductReview> {
    Ok(ProductReview {
        user_id: UserId(r.int("user_id")?),
        sku_id: SkuId(r.int("sku_id")?),
        review: line_review(r)?.ok_or_else(|| corrupt("review", "missing"))?,
    })
}

/// `%keyword%` for `LIKE`, with `\`, `%` and `_` escaped by `\`.
pub(crate) fn like_pattern(keyword: &str) -> String {
    let mut p = String::with_capacity(keyword.len() + 2);
    p.push('%');
    for c in keyword.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
