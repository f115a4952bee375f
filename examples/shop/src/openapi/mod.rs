//! `/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations and the `ToSchema` derives of the request types and of
//! shop-core's types (its `openapi` feature), then completed:
//! [`constraints`] writes shop-core's rules (lengths, patterns, ranges) into
//! the schemas, [`responses`] adds the answers every operation may give
//! (malformed input, no session, too large, too slow, backend down) and the
//! security schemes; routes this instance does not serve (the sandbox when
//! it is off) are left out.

pub mod constraints;
pub mod responses;

use serde_json::Value;
use utoipa::OpenApi;

use crate::state::AppState;

use crate::extract::AppJson;
use crate::routes::{
    addresses, admin, auth, cart, catalog, crowdfunding, installments, orders, payments, seckill,
    stripe,
};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shop example API",
        description = "Storefront and admin JSON API of the example shop. \
        Every error is `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    paths(
        auth::register,
        auth::verify,
        auth::login,
        auth::logout,
        auth::me,
        auth::change_password,
        auth::request_password_reset,
        auth::confirm_password_reset,
        catalog::categories,
        catalog::products,
        catalog::product,
        catalog::similar,
        catalog::search,
        catalog::add_favorite,
        catalog::remove_favorite,
        catalog::favorites,
        catalog::history,
        catalog::record_view,
        addresses::list,
        addresses::create,
        addresses::get,
        addresses::update,
        addresses::delete,
        cart::get,
        cart::add,
        cart::update,
        cart::remove,
        seckill::list,
        seckill::get,
        seckill::order,
        crowdfunding::list,
        crowdfunding::get,
        crowdfunding::of_product,
        crowdfunding::order,
        orders::checkout_token,
        orders::place,
        orders::list,
        orders::get,
        orders::pay,
        orders::received,
        orders::review,
        orders::apply_refund,
        installments::options,
        installments::create,
        installments::get,
        installments::pay,
        payments::pay_page,
        payments::pay,
        payments::notify,
        stripe::checkout_page,
        stripe::done_page,
        admin::create_product,
        admin::update_product,
        admin::off_sale,
        admin::add_sku,
        admin::update_sku,
        admin::adjust_stock,
        admin::create_category,
        admin::create_flash_sale,
        admin::create_crowdfunding,
        admin::orders,
        admin::order,
        admin::ship,
        admin::approve_refund,
        admin::refuse_refund,
        admin::coupons,
        admin::create_coupon,
        admin::update_coupon,
        admin::delete_coupon,
        admin::users,
        admin::deactivate_user,
        admin::reactivate_user,
        admin::jobs,
    ),
    components(schemas(
        crate::error::ErrorResponse,
        crate::error::ErrorDetail,
        shop_core::catalog::ProductSort,
        shop_core::order::OrderStatus
    ))
)]
pub struct ApiDoc;

/// The description of what this instance serves.
pub fn document(state: &AppState) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the description serializes");
    let currency = state.shop.config().currency;
    constraints::request_bodies(&mut doc, currency);
    constraints::parameters(&mut doc);
    constraints::currency(&mut doc, currency);
    responses::complete(&mut doc);
    if state.sandbox.is_none() {
        if let Some(paths) = doc["paths"].as_object_mut() {
            paths.remove("/sandbox/pay");
        }
    }
    doc
}

/// Serves `document`, built once.
pub fn serve(document: Value) -> impl Fn() -> std::future::Ready<AppJson<Value>> + Clone {
    let document = std::sync::Arc::new(document);
    move || std::future::ready(AppJson(Value::clone(&document)))
}
