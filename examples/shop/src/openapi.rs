//! `/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations and the `ToSchema` derives of the request types and of
//! shop-core's types (its `openapi` feature).

use utoipa::OpenApi;

use crate::extract::AppJson;
use crate::routes::{addresses, admin, auth, cart, catalog, orders, payments, stripe};

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
        catalog::categories,
        catalog::products,
        catalog::product,
        catalog::add_favorite,
        catalog::remove_favorite,
        catalog::favorites,
        addresses::list,
        addresses::create,
        addresses::get,
        addresses::update,
        addresses::delete,
        cart::get,
        cart::add,
        cart::update,
        cart::remove,
        orders::checkout_token,
        orders::place,
        orders::list,
        orders::get,
        orders::pay,
        orders::received,
        orders::review,
        orders::apply_refund,
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
    ),
    components(schemas(crate::error::ErrorResponse, crate::error::ErrorDetail))
)]
pub struct ApiDoc;

/// Serves the description.
pub async fn serve() -> AppJson<utoipa::openapi::OpenApi> {
    AppJson(ApiDoc::openapi())
}
