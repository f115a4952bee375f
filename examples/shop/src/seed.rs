//! The demo catalog written on first start: a category tree, four products
//! with SKUs and properties, a coupon and an administrator.

use rust_decimal::Decimal;
use shop_core::account::Role;
use shop_core::catalog::{ProductDraft, ProductKind, Property, SkuDraft};
use shop_core::coupon::{CouponDraft, CouponKind};
use shop_core::ids::CategoryId;
use shop_core::{Currency, Entity, Error, Money, Shop, StoreError};

use crate::security::new_token;
use crate::BoxError;

/// The demo administrator's e-mail address.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The demo coupon's code.
pub const DEMO_COUPON: &str = "WELCOME10";

/// The administrator seeding created; the password exists only here.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    /// Login e-mail.
    pub email: String,
    /// The random password.
    pub password: String,
}

fn cny(amount: &str) -> Result<Money, BoxError> {
    Ok(Money::parse(amount, Currency::Cny)?)
}

fn props(pairs: &[(&str, &str)]) -> Vec<Property> {
    pairs
        .iter()
        .map(|(name, value)| Property {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect()
}

fn product(
    title: &str,
    long_title: &str,
    category: CategoryId,
    p: &[(&str, &str)],
) -> ProductDraft {
    ProductDraft {
        kind: ProductKind::Normal,
        title: title.to_owned(),
        long_title: long_title.to_owned(),
        description: format!("{long_title}. A demo product."),
        image: String::new(),
        on_sale: true,
        category_id: Some(category),
        properties: props(p),
    }
}

fn sku(title: &str, price: &str, stock: u32) -> Result<SkuDraft, BoxError> {
    Ok(SkuDraft {
        title: title.to_owned(),
        description: String::new(),
        price: cny(price)?,
        stock,
    })
}

/// Seeds the demo data on first start; returns the new administrator's
/// credentials, or `None` when the administrator existed before.
///
/// Each part is claimed by a unique key, so when several instances start on
/// one empty database at once exactly one of them writes it and the others
/// go on without: the demo coupon's code claims the catalog, the
/// administrator's e-mail address claims the account. The catalog comes
/// first, so an instance that dies half-way leaves at worst a shop whose
/// next start creates (and prints) the administrator.
pub async fn seed_if_empty(shop: &Shop) -> Result<Option<AdminCredentials>, BoxError> {
    if shop.category_tree().await?.is_empty() {
        seed_catalog(shop).await?;
    }
    if shop.account_by_email(ADMIN_EMAIL).await?.is_some() {
        return Ok(None);
    }
    let password = new_token()[..20].to_owned();
    let created = shop
        .create_verified_account("Administrator", ADMIN_EMAIL, password.clone(), Role::Admin)
        .await;
    match created {
        Ok(_) => Ok(Some(AdminCredentials {
            email: ADMIN_EMAIL.to_owned(),
            password,
        })),
        Err(Error::Store(StoreError::AlreadyExists {
            entity: Entity::Account,
            ..
        })) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The demo coupon, category tree and products. Creating the coupon is the
/// claim: when its code is taken, another instance seeds, and this one
/// writes nothing.
async fn seed_catalog(shop: &Shop) -> Result<(), BoxError> {
    let claimed = shop
        .create_coupon(
            CouponDraft {
                name: "10 off orders from 50".to_owned(),
                kind: CouponKind::Fixed,
                value: Decimal::TEN,
                min_amount: cny("50.00")?,
                total: 1000,
                not_before: None,
                not_after: None,
                enabled: true,
            },
            Some(DEMO_COUPON.to_owned()),
        )
        .await;
    match claimed {
        Ok(_) => {}
        Err(Error::Store(StoreError::AlreadyExists {
            entity: Entity::Coupon,
            ..
        })) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let home = shop.create_category("Home & Kitchen", true, None).await?;
    let cups = shop
        .create_category("Cups & Mugs", false, Some(home.id))
        .await?;
    let teapots = shop
        .create_category("Teapots", false, Some(home.id))
        .await?;
    let tech = shop.create_category("Electronics", true, None).await?;
    let audio = shop.create_category("Audio", false, Some(tech.id)).await?;

    shop.create_product(
        product(
            "Tea cup",
            "Hand-made porcelain tea cup",
            cups.id,
            &[("material", "porcelain"), ("color", "white")],
        ),
        vec![sku("White", "19.90", 100)?, sku("Celadon", "24.90", 50)?],
    )
    .await?;
    shop.create_product(
        product(
            "Travel mug",
            "Insulated steel travel mug",
            cups.id,
            &[("material", "steel"), ("capacity", "450 ml")],
        ),
        vec![sku("450 ml", "59.00", 80)?],
    )
    .await?;
    shop.create_product(
        product(
            "Clay teapot",
            "Yixing clay teapot",
            teapots.id,
            &[("material", "clay"), ("capacity", "300 ml")],
        ),
        vec![sku("300 ml", "268.00", 20)?, sku("500 ml", "358.00", 10)?],
    )
    .await?;
    shop.create_product(
        product(
            "Earbuds",
            "Wireless earbuds with charging case",
            audio.id,
            &[("color", "black"), ("bluetooth", "5.3")],
        ),
        vec![sku("Black", "399.00", 30)?, sku("White", "399.00", 30)?],
    )
    .await?;
    Ok(())
}

/// Gives the administrator `email` a new random password, ends every
/// session opened with the old one, and returns the new password
/// (`shop-example reset-admin-password`). Sessions kept in Redis are ended
/// by the same command pointed at Redis (`SHOP_REDIS_URL`).
pub async fn reset_admin_password(shop: &Shop, email: &str) -> Result<AdminCredentials, BoxError> {
    let account = shop
        .account_by_email(email)
        .await
        .map_err(|_| format!("{email:?} is not an e-mail address"))?
        .ok_or_else(|| {
            format!(
                "no account has the e-mail address {email} (the first start seeds {ADMIN_EMAIL})"
            )
        })?;
    if account.role != Role::Admin {
        return Err(format!("{} is not an administrator", account.email).into());
    }
    let password = new_token()[..20].to_owned();
    shop.set_password(account.id, password.clone()).await?;
    Ok(AdminCredentials {
        email: account.email,
        password,
    })
}
