//! The catalog's rules as pure functions: text limits, the search text and
//! keyword match, ratings, stock adjustments, SKU checks and prices.

use rust_decimal::Decimal;

use super::{Product, ProductKind, Sku, SkuDraft};
use crate::error::{Error, Result};
use crate::ids::SkuId;
use crate::money::{Currency, Money};
use crate::text::{check_multiline, required_line};

/// Longest product, long or SKU title, and category name, in characters.
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest product or SKU description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// Longest search keyword, in characters.
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Longest image URL, in characters.
pub const MAX_URL_CHARS: usize = 2_048;
/// Most properties of a product.
pub const MAX_PROPERTIES: usize = 50;
/// Longest property name or value, in characters.
pub const MAX_PROPERTY_CHARS: usize = 255;
/// Deepest category level (roots are level 0), so a category's path fits
/// every backend's column.
pub const MAX_CATEGORY_LEVEL: u32 = 9;

/// What a keyword search looks in: the title, long title and description,
/// lower-cased (Unicode), one per line. A keyword is a line, so it matches
/// within one field, never across two. Stores keep this text beside each
/// product (and index it) so every backend matches alike.
pub fn search_text(title: &str, long_title: &str, description: &str) -> String {
    format!("{title}\n{long_title}\n{description}").to_lowercase()
}

/// The keyword rule: `product` matches when its [`search_text`] holds the
/// lower-cased keyword.
pub fn matches_keyword(product: &Product, keyword: &str) -> bool {
    search_text(&product.title, &product.long_title, &product.description)
        .contains(&keyword.to_lowercase())
}

/// Decimals of a product's rating.
pub const RATING_DECIMALS: u32 = 2;

/// The rating rule: the mean of the reviewed lines' stars (`sum` over
/// `count` reviews), half-up to [`RATING_DECIMALS`] decimals; `0.00` when
/// there is no review.
pub fn mean_rating(sum: u64, count: u64) -> Decimal {
    if count == 0 {
        return canonical_rating(Decimal::ZERO);
    }
    canonical_rating(Decimal::from(sum) / Decimal::from(count))
}

/// A rating as every backend returns it: half-up to [`RATING_DECIMALS`]
/// decimals, with exactly that many (`4.00`, whatever the column gave).
pub fn canonical_rating(rating: Decimal) -> Decimal {
    let rounded = rating.round_dp_with_strategy(
        RATING_DECIMALS,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    crate::money::with_scale(rounded, RATING_DECIMALS)
}

/// Most units a SKU's stock may hold (every backend's column fits it).
pub const MAX_STOCK: u32 = 1_000_000_000;

/// The stock rule for [`CatalogStore::adjust_stock`](super::CatalogStore::adjust_stock): `delta` is at most
/// [`MAX_STOCK`] either way (`Validation { field: "delta" }`), which also
/// keeps `stock + delta` from overflowing in any backend.
pub fn check_stock_delta(delta: i64) -> Result<()> {
    if delta.unsigned_abs() > u64::from(MAX_STOCK) {
        return Err(Error::validation(
            "delta",
            format!("must be between -{MAX_STOCK} and {MAX_STOCK}"),
        ));
    }
    Ok(())
}

/// The stock after adding `delta` to `current`: never below zero
/// (`OutOfStock`), and an addition never past [`MAX_STOCK`]
/// (`Validation { field: "delta" }`). Removals are always allowed down to
/// zero, even from a stock above the maximum (orders that close give their
/// units back without a cap).
pub fn adjusted_stock(sku: SkuId, current: u32, delta: i64) -> Result<u32> {
    check_stock_delta(delta)?;
    let result = i64::from(current) + delta;
    let fits = result >= 0 && (delta <= 0 || result <= i64::from(MAX_STOCK));
    if fits {
        return u32::try_from(result).map_err(|_| stock_refusal(sku, current, delta));
    }
    Err(stock_refusal(sku, current, delta))
}

/// Why adding `delta` to a stock of `current` was refused: a removal ran
/// out of stock, an addition passed [`MAX_STOCK`]. For stores whose
/// conditional write changed nothing.
pub fn stock_refusal(sku: SkuId, current: u32, delta: i64) -> Error {
    if delta > 0 {
        Error::refused("delta", format!("the stock would exceed {MAX_STOCK}"))
    } else {
        Error::OutOfStock {
            sku,
            requested: u32::try_from(delta.unsigned_abs()).unwrap_or(u32::MAX),
            available: current,
        }
    }
}

/// Checks one SKU draft: non-empty title, positive price in whole minor
/// units up to [`MAX_AMOUNT`](crate::money::MAX_AMOUNT), stock at most
/// [`MAX_STOCK`].
pub fn validate_sku(draft: &SkuDraft) -> Result<()> {
    required_line("sku.title", &draft.title, MAX_TITLE_CHARS)?;
    check_multiline("sku.description", &draft.description, MAX_DESCRIPTION_CHARS)?;
    if draft.stock > MAX_STOCK {
        return Err(Error::validation(
            "sku.stock",
            format!("must be at most {MAX_STOCK}"),
        ));
    }
    if !draft.price.is_positive()
        || !draft.price.is_whole_minor_units()
        || draft.price.amount() > crate::money::MAX_AMOUNT
    {
        return Err(Error::validation(
            "sku.price",
            format!(
                "must be positive, in whole minor units and at most {}",
                crate::money::MAX_AMOUNT
            ),
        ));
    }
    Ok(())
}

/// The product price rule: the cheapest SKU's price. All SKUs must share one
/// currency; a product needs at least one SKU.
pub fn cheapest_price<'a>(prices: impl IntoIterator<Item = &'a Money>) -> Result<Money> {
    let mut cheapest: Option<Money> = None;
    for price in prices {
        cheapest = Some(match cheapest {
            None => *price,
            Some(c) if price.checked_cmp(&c)?.is_lt() => *price,
            Some(c) => c,
        });
    }
    cheapest.ok_or_else(|| Error::validation("skus", "a product needs at least one sku"))
}

/// The currency all amounts of a list of SKUs share.
pub fn common_currency<'a>(skus: impl IntoIterator<Item = &'a Sku>) -> Result<Option<Currency>> {
    let mut currency = None;
    for sku in skus {
        match currency {
            None => currency = Some(sku.price.currency()),
            Some(c) if c != sku.price.currency() => {
                return Err(crate::money::MoneyError::CurrencyMismatch {
                    left: c,
                    right: sku.price.currency(),
                }
                .into())
            }
            Some(_) => {}
        }
    }
    Ok(currency)
}

impl Product {
    /// Whether the product is sold through the cart and the checkout: on
    /// sale, and a normal product (crowdfunding and flash-sale products have
    /// their own checkout); `Refused { field }` otherwise. The cart and the
    /// checkout ask the same rule.
    pub fn check_sellable(&self, field: &'static str) -> Result<()> {
        if !self.on_sale {
            return Err(Error::refused(field, "the product is not on sale"));
        }
        if self.kind != ProductKind::Normal {
            return Err(Error::refused(
                field,
                "crowdfunding and flash-sale products have their own checkout",
            ));
        }
        Ok(())
    }
}

impl Sku {
    /// Whether the SKU has `quantity` units in stock (`OutOfStock`).
    pub fn check_stock(&self, quantity: u32) -> Result<()> {
        if self.stock < quantity {
            return Err(Error::OutOfStock {
                sku: self.id,
                requested: quantity,
                available: self.stock,
            });
        }
        Ok(())
    }
}
