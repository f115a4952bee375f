//! QR codes for payment URLs: WeChat Pay Native `code_url`s
//! (`weixin://wxpay/bizpayurl?pr=…`) and Alipay precreate `qr_code`s,
//! rendered as SVG for a checkout page to inline.
//!
//! The code has error correction level M, is drawn in black on white with
//! [`MODULE_PIXELS`] user units per module and a quiet zone of
//! [`QUIET_ZONE_MODULES`] modules on every side, and scales cleanly
//! (`shape-rendering="crispEdges"`, a `viewBox`). The same content always
//! gives the same SVG.

/// SVG user units per module.
pub const MODULE_PIXELS: u32 = 8;
/// Light modules around the code, on each side, as scanners need.
pub const QUIET_ZONE_MODULES: u32 = 4;

/// The content does not fit in a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes do not fit in a QR code")]
pub struct QrError {
    /// The content's length in bytes.
    pub len: usize,
}

/// `content` (its UTF-8 bytes) as an SVG QR code: a standalone SVG
/// document, [`MODULE_PIXELS`] × (modules + 2 × [`QUIET_ZONE_MODULES`])
/// units wide and high.
///
/// Content longer than a QR code holds at level M (2 331 bytes) is
/// refused; payment URLs are far shorter.
///
/// ```
/// let svg = shop_payments::qr_svg("weixin://wxpay/bizpayurl?pr=p4lpSuKzz").unwrap();
/// assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
/// ```
pub fn qr_svg(content: &str) -> Result<String, QrError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(content, qrcode::EcLevel::M)
        .map_err(|_| QrError { len: content.len() })?;
    Ok(code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(MODULE_PIXELS, MODULE_PIXELS)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}
