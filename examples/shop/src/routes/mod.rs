//! The HTTP routes: storefront, accounts, payments and admin.

pub mod addresses;
pub mod admin;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod crowdfunding;
pub mod installments;
pub mod orders;
pub mod payments;
pub mod seckill;
pub mod stripe;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::error::AppError;
use crate::state::AppState;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

async fn no_route() -> AppError {
    AppError::no_route()
}

async fn wrong_method() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this method",
    )
}

/// Every route, with the body limit and JSON fallbacks.
pub fn router(state: AppState) -> Router {
    let storefront = Router::new()
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/verify", post(auth::verify))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route(
            "/api/me/history",
            get(catalog::history).post(catalog::record_view),
        )
        .route("/api/me/password", post(auth::change_password))
        .route(
            "/api/auth/password-reset",
            post(auth::request_password_reset),
        )
        .route(
            "/api/auth/password-reset/confirm",
            post(auth::confirm_password_reset),
        )
        .route("/api/categories", get(catalog::categories))
        .route("/api/products", get(catalog::products))
        .route("/api/products/{id}", get(catalog::product))
        .route("/api/products/{id}/similar", get(catalog::similar))
        .route("/api/search", get(catalog::search))
        .route(
            "/api/products/{id}/favorite",
            post(catalog::add_favorite).delete(catalog::remove_favorite),
        )
        .route("/api/favorites", get(catalog::favorites))
        .route(
            "/api/addresses",
            get(addresses::list).post(addresses::create),
        )
        .route(
            "/api/addresses/{id}",
            get(addresses::get)
                .put(addresses::update)
                .delete(addresses::delete),
        )
        .route("/api/cart", get(cart::get).post(cart::add))
        .route(
            "/api/cart/{sku_id}",
            delete(cart::remove).patch(cart::update),
        )
        .route("/api/flash-sales", get(seckill::list))
        .route("/api/flash-sales/{id}", get(seckill::get))
        .route("/api/seckill/{sku}/orders", post(seckill::order))
        .route("/api/crowdfundings", get(crowdfunding::list))
        .route("/api/crowdfundings/{id}", get(crowdfunding::get))
        .route(
            "/api/products/{id}/crowdfunding",
            get(crowdfunding::of_product),
        )
        .route("/api/crowdfunding/{sku}/orders", post(crowdfunding::order))
        .route("/api/checkout/token", get(orders::checkout_token))
        .route("/api/orders", get(orders::list).post(orders::place))
        .route("/api/orders/{id}", get(orders::get))
        .route("/api/orders/{id}/pay", post(orders::pay))
        .route("/api/orders/{id}/received", post(orders::received))
        .route("/api/orders/{id}/review", post(orders::review))
        .route("/api/orders/{id}/refund", post(orders::apply_refund))
        .route(
            "/api/orders/{id}/installments",
            get(installments::get).post(installments::create),
        )
        .route(
            "/api/orders/{id}/installments/options",
            get(installments::options),
        )
        .route(
            "/api/orders/{id}/installments/{index}/pay",
            post(installments::pay),
        )
        .route("/stripe/checkout", get(stripe::checkout_page))
        .route("/stripe/done", get(stripe::done_page))
        .route("/api/payments/{gateway}/notify", post(payments::notify))
        .route(
            "/openapi.json",
            get(crate::openapi::serve(crate::openapi::document(&state))),
        );
    let admin = Router::new()
        .route("/api/admin/products", post(admin::create_product))
        .route("/api/admin/products/{id}", put(admin::update_product))
        .route("/api/admin/products/{id}/off-sale", post(admin::off_sale))
        .route("/api/admin/products/{id}/skus", post(admin::add_sku))
        .route("/api/admin/skus/{id}", put(admin::update_sku))
        .route("/api/admin/skus/{id}/stock", post(admin::adjust_stock))
        .route("/api/admin/categories", post(admin::create_category))
        .route("/api/admin/flash-sales", post(admin::create_flash_sale))
        .route("/api/admin/crowdfundings", post(admin::create_crowdfunding))
        .route("/api/admin/orders", get(admin::orders))
        .route("/api/admin/orders/{id}", get(admin::order))
        .route("/api/admin/orders/{id}/ship", post(admin::ship))
        .route(
            "/api/admin/orders/{id}/refund/approve",
            post(admin::approve_refund),
        )
        .route(
            "/api/admin/orders/{id}/refund/refuse",
            post(admin::refuse_refund),
        )
        .route(
            "/api/admin/coupons",
            get(admin::coupons).post(admin::create_coupon),
        )
        .route(
            "/api/admin/coupons/{id}",
            put(admin::update_coupon).delete(admin::delete_coupon),
        )
        .route("/api/admin/users", get(admin::users))
        .route("/api/admin/jobs", get(admin::jobs))
        .route(
            "/api/admin/users/{id}/deactivate",
            post(admin::deactivate_user),
        )
        .route(
            "/api/admin/users/{id}/reactivate",
            post(admin::reactivate_user),
        );
    let storefront = if state.sandbox.is_some() {
        storefront.route("/sandbox/pay", get(payments::pay_page).post(payments::pay))
    } else {
        storefront
    };
    storefront
        .merge(admin)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(crate::serve::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.catalog_cache.clone(),
            crate::cache::middleware,
        ))
        .with_state(state)
}
