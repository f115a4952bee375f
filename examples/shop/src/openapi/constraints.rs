//! The rules of shop-core written into the API description's schemas:
//! lengths, patterns and ranges come from shop-core's constants and
//! patterns, so a client (or a fuzzer) that follows the description never
//! sends input the shop refuses as malformed, and the two never drift.

use serde_json::{json, Value};
use shop_core::account::{MAX_EMAIL_BYTES, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use shop_core::cart::MAX_LINE_QUANTITY;
use shop_core::catalog::{
    MAX_DESCRIPTION_CHARS, MAX_KEYWORD_CHARS, MAX_PROPERTIES, MAX_PROPERTY_CHARS, MAX_STOCK,
    MAX_TITLE_CHARS, MAX_URL_CHARS,
};
use shop_core::coupon::{CODE_PATTERN, MAX_COUPON_TOTAL, PERCENT_PATTERN};
use shop_core::money::amount_pattern;
use shop_core::order::ORDER_NO_PATTERN;
use shop_core::page::MAX_PER_PAGE;
use shop_core::seckill::MAX_FLASH_SALE_QUANTITY;
use shop_core::service::{
    MAX_ORDER_LINES, MAX_REASON_CHARS, MAX_REMARK_CHARS, MAX_REVIEW_CHARS, MAX_SHIPMENT_CHARS,
};
use shop_core::text::{
    LINE_PATTERN, MAX_KEY_CHARS, MULTILINE_PATTERN, REQUIRED_LINE_PATTERN,
    REQUIRED_MULTILINE_PATTERN,
};
use shop_core::user::PHONE_PATTERN;
use shop_core::Currency;

/// A required line of 1..=`max` characters.
fn required_line(max: usize) -> Value {
    json!({"minLength": 1, "maxLength": max, "pattern": REQUIRED_LINE_PATTERN})
}

/// A line of at most `max` characters.
fn line(max: usize) -> Value {
    json!({"maxLength": max, "pattern": LINE_PATTERN})
}

/// Multi-line text of at most `max` characters.
fn multiline(max: usize) -> Value {
    json!({"maxLength": max, "pattern": MULTILINE_PATTERN})
}

/// An integer range.
fn range(min: i64, max: i64) -> Value {
    json!({"minimum": min, "maximum": max})
}

/// Merges `rules` into the schema of `schema.property` (nullable
/// properties keep their `null` alternative).
fn constrain(doc: &mut Value, schema: &str, property: &str, rules: Value) {
    let direct = format!("/components/schemas/{schema}/properties/{property}");
    // A flattened body: the properties sit in an `allOf` part.
    let flattened = format!("/components/schemas/{schema}/allOf/1/properties/{property}");
    let pointer = if doc.pointer(&direct).is_some() {
        direct
    } else {
        flattened
    };
    let Some(target) = doc.pointer_mut(&pointer) else {
        panic!("the API description has no {schema}.{property}");
    };
    let Value::Object(rules) = rules else {
        return;
    };
    for (key, value) in rules {
        target[key] = value;
    }
}

/// Every request body's rules.
pub fn request_bodies(doc: &mut Value, currency: Currency) {
    let positive = amount_pattern(currency, true);
    let any_amount = amount_pattern(currency, false);
    let quantity = range(1, i64::from(MAX_LINE_QUANTITY));
    let key = json!({"minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": LINE_PATTERN});
    let password =
        json!({"minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS, "pattern": r"\S"});
    let email = json!({"format": "email", "maxLength": MAX_EMAIL_BYTES});
    let rules: Vec<(&str, &str, Value)> = vec![
        ("RegisterRequest", "name", required_line(MAX_NAME_CHARS)),
        ("RegisterRequest", "email", email.clone()),
        ("RegisterRequest", "password", password.clone()),
        ("ChangePasswordRequest", "new_password", password.clone()),
        ("ResetConfirmation", "password", password),
        ("ResetRequest", "email", email),
        ("AddressRequest", "province", required_line(255)),
        ("AddressRequest", "city", required_line(255)),
        ("AddressRequest", "district", line(255)),
        ("AddressRequest", "street", required_line(255)),
        ("AddressRequest", "zip", line(255)),
        ("AddressRequest", "contact_name", required_line(255)),
        (
            "AddressRequest",
            "contact_phone",
            json!({"minLength": 1, "maxLength": 255, "pattern": PHONE_PATTERN}),
        ),
        ("AddToCartRequest", "quantity", quantity.clone()),
        ("SetQuantityRequest", "quantity", quantity.clone()),
        ("OrderLineBody", "quantity", quantity),
        (
            "PlaceOrderBody",
            "items",
            json!({"minItems": 1, "maxItems": MAX_ORDER_LINES}),
        ),
        ("PlaceOrderBody", "coupon_code", line(MAX_KEY_CHARS)),
        ("PlaceOrderBody", "remark", multiline(MAX_REMARK_CHARS)),
        ("PlaceOrderBody", "submit_token", key),
        (
            "ReviewBody",
            "reviews",
            json!({"minItems": 1, "maxItems": MAX_ORDER_LINES}),
        ),
        ("LineReviewBody", "rating", range(1, 5)),
        ("LineReviewBody", "text", multiline(MAX_REVIEW_CHARS)),
        (
            "ReasonBody",
            "reason",
            json!({"minLength": 1, "maxLength": MAX_REASON_CHARS, "pattern": REQUIRED_MULTILINE_PATTERN}),
        ),
        ("ShipBody", "carrier", required_line(MAX_SHIPMENT_CHARS)),
        ("ShipBody", "tracking_no", required_line(MAX_SHIPMENT_CHARS)),
        ("ProductBody", "title", required_line(MAX_TITLE_CHARS)),
        ("ProductBody", "long_title", line(MAX_TITLE_CHARS)),
        (
            "ProductBody",
            "description",
            multiline(MAX_DESCRIPTION_CHARS),
        ),
        ("ProductBody", "image", line(MAX_URL_CHARS)),
        (
            "ProductBody",
            "kind",
            json!({"enum": ["normal", "crowdfunding", "seckill", null]}),
        ),
        (
            "ProductBody",
            "properties",
            json!({"maxItems": MAX_PROPERTIES}),
        ),
        ("PropertyBody", "name", required_line(MAX_PROPERTY_CHARS)),
        ("PropertyBody", "value", required_line(MAX_PROPERTY_CHARS)),
        ("CreateProductBody", "skus", json!({"minItems": 1})),
        ("SkuBody", "title", required_line(MAX_TITLE_CHARS)),
        ("SkuBody", "description", multiline(MAX_DESCRIPTION_CHARS)),
        ("SkuBody", "price", json!({"pattern": positive})),
        ("SkuBody", "stock", range(0, i64::from(MAX_STOCK))),
        (
            "StockBody",
            "delta",
            range(-i64::from(MAX_STOCK), i64::from(MAX_STOCK)),
        ),
        ("CategoryBody", "name", required_line(MAX_TITLE_CHARS)),
        (
            "PayForm",
            "order_no",
            json!({"minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": LINE_PATTERN}),
        ),
        ("CouponBody", "code", json!({"pattern": CODE_PATTERN})),
        ("CouponBody", "name", required_line(MAX_TITLE_CHARS)),
        ("CouponBody", "min_amount", json!({"pattern": any_amount})),
        ("CouponBody", "total", range(1, i64::from(MAX_COUPON_TOTAL))),
        ("CouponBody", "not_before", json!({"format": "date-time"})),
        ("CouponBody", "not_after", json!({"format": "date-time"})),
        ("FlashSaleBody", "price", json!({"pattern": positive})),
        (
            "FlashSaleBody",
            "quantity",
            range(1, i64::from(MAX_FLASH_SALE_QUANTITY)),
        ),
        ("FlashSaleBody", "starts_at", json!({"format": "date-time"})),
        ("FlashSaleBody", "ends_at", json!({"format": "date-time"})),
        ("CrowdfundingBody", "target", json!({"pattern": positive})),
        (
            "CrowdfundingBody",
            "ends_at",
            json!({"format": "date-time"}),
        ),
        (
            "CrowdfundingOrderBody",
            "quantity",
            range(1, i64::from(MAX_LINE_QUANTITY)),
        ),
        (
            "CrowdfundingOrderBody",
            "remark",
            multiline(MAX_REMARK_CHARS),
        ),
    ];
    for (schema, property, rule) in rules {
        constrain(doc, schema, property, rule);
    }
    coupon_kinds(doc, &positive);
}

/// A coupon's value depends on its kind: an amount off (fixed) or a
/// percentage (0, 100]. The body is one of the two shapes.
fn coupon_kinds(doc: &mut Value, positive: &str) {
    let Some(body) = doc.pointer_mut("/components/schemas/CouponBody") else {
        panic!("the API description has no CouponBody");
    };
    body["properties"]["kind"]["enum"] = json!(["fixed", "percent"]);
    body["properties"]["value"]["pattern"] = json!(format!("{positive}|{PERCENT_PATTERN}"));
    body["oneOf"] = json!([
        {"properties": {"kind": {"const": "fixed"}, "value": {"pattern": positive}}},
        {"properties": {"kind": {"const": "percent"}, "value": {"pattern": PERCENT_PATTERN}}},
    ]);
}

/// Query and path parameters that mean the same everywhere.
pub fn parameters(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut() {
            let Some(params) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for param in params {
                let rule = match (param["in"].as_str(), param["name"].as_str()) {
                    (Some("path"), Some("id" | "sku_id" | "sku"))
                    | (Some("query"), Some("category_id")) => {
                        json!({"type": "integer", "format": "int64"})
                    }
                    (Some("query"), Some("page")) => {
                        json!({"type": "integer", "minimum": 1, "maximum": u32::MAX})
                    }
                    (Some("query"), Some("per_page")) => {
                        json!({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE})
                    }
                    (Some("query"), Some("min_price" | "max_price")) => {
                        json!({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"})
                    }
                    (Some("query"), Some("properties")) => {
                        json!({"type": "string", "maxLength": 2000, "pattern": crate::routes::catalog::PROPERTIES_PATTERN})
                    }
                    (Some("query"), Some("limit")) => {
                        json!({"type": "integer", "minimum": 1, "maximum": 100})
                    }
                    (Some("query"), Some("keyword")) => {
                        json!({"type": "string", "maxLength": MAX_KEYWORD_CHARS, "pattern": LINE_PATTERN})
                    }
                    // The payment pages' parameters: what a gateway's
                    // redirect carries.
                    (Some("query"), Some("order_no")) => {
                        json!({"type": "string", "pattern": ORDER_NO_PATTERN})
                    }
                    (Some("query"), Some("amount" | "currency" | "subject")) => {
                        json!({"type": "string", "maxLength": MAX_KEY_CHARS, "pattern": LINE_PATTERN})
                    }
                    (Some("query"), Some("redirect_status")) => {
                        json!({"type": "string", "maxLength": 64, "pattern": LINE_PATTERN})
                    }
                    (Some("query"), Some("payment_intent")) => {
                        json!({"type": "string", "pattern": "^pi_[A-Za-z0-9]{1,255}$"})
                    }
                    (Some("query"), Some("client_secret")) => json!({
                        "type": "string",
                        "pattern": "^pi_[A-Za-z0-9]{1,255}_secret_[A-Za-z0-9]{1,255}$"
                    }),
                    _ => continue,
                };
                param["schema"] = rule;
            }
        }
    }
}

/// The shop prices in one currency: every amount's currency is it.
pub fn currency(doc: &mut Value, currency: Currency) {
    if let Some(schema) = doc.pointer_mut("/components/schemas/Currency") {
        schema["enum"] = json!([currency.code()]);
    }
}
