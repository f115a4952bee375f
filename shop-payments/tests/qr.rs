//! QR codes for payment URLs: the SVG is well-formed, deterministic, has
//! the module count of its version, and decodes (by an independent QR
//! reader, rqrr) back to the URL.

use shop_payments::qr::{QrError, MODULE_PIXELS, QUIET_ZONE_MODULES};
use shop_payments::qr_svg;

const URLS: [&str; 4] = [
    // WeChat Pay Native code_url, as in WeChat Pay's documentation.
    "weixin://wxpay/bizpayurl?pr=p4lpSuKzz",
    // An Alipay precreate qr_code.
    "https://qr.alipay.com/bax08431bqxnu7ogxxw4003c",
    // Longer, with UTF-8.
    "https://shop.invalid/pay?order=20260301120000000001&subject=茶杯&amount=19.90",
    "x",
];

/// Every tag of `svg` in order, checking that elements nest and close.
fn check_well_formed(svg: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg;
    let mut seen_root = false;
    while let Some(start) = rest.find('<') {
        assert!(
            rest[..start].trim().is_empty(),
            "text outside tags: {:?}",
            &rest[..start]
        );
        let end = rest[start..].find('>').expect("an unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "a tag inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if tag.starts_with('?') {
            assert!(
                tag.ends_with('?') && !seen_root,
                "misplaced declaration {tag}"
            );
        } else {
            let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
            if open.is_empty() {
                assert!(!seen_root, "a second root element {name}");
                assert_eq!(name, "svg");
                seen_root = true;
            }
            if !tag.ends_with('/') {
                open.push(name.to_owned());
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty() && open.is_empty() && seen_root);
}

fn attribute<'a>(svg: &'a str, tag: &str, name: &str) -> &'a str {
    let tag = &svg[svg.find(&format!("<{tag} ")).unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// The dark modules the SVG draws, as a grid of `size` × `size` modules
/// (quiet zone included).
fn modules(svg: &str) -> (usize, Vec<bool>) {
    let width: u32 = attribute(svg, "svg", "width").parse().unwrap();
    let height: u32 = attribute(svg, "svg", "height").parse().unwrap();
    assert_eq!(width, height);
    assert_eq!(
        attribute(svg, "svg", "viewBox"),
        format!("0 0 {width} {width}")
    );
    assert_eq!(width % MODULE_PIXELS, 0);
    let size = (width / MODULE_PIXELS) as usize;
    let mut grid = vec![false; size * size];
    let d = attribute(svg, "path", "d");
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        // "x y h w v h H x V y"
        let numbers: Vec<u32> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [x, y, w, h, x2, y2] = numbers[..] else {
            panic!("unexpected path segment {rect:?}");
        };
        assert_eq!((x2, y2), (x, y));
        assert!(x % MODULE_PIXELS == 0 && y % MODULE_PIXELS == 0);
        for my in y / MODULE_PIXELS..(y + h) / MODULE_PIXELS {
            for mx in x / MODULE_PIXELS..(x + w) / MODULE_PIXELS {
                grid[my as usize * size + mx as usize] = true;
            }
        }
    }
    (size, grid)
}

#[test]
fn the_svg_is_well_formed_deterministic_and_sized_by_its_version() {
    for url in URLS {
        let svg = qr_svg(url).unwrap();
        check_well_formed(&svg);
        assert_eq!(svg, qr_svg(url).unwrap(), "deterministic");
        let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).unwrap();
        let qrcode::Version::Normal(version) = code.version() else {
            panic!("a normal QR code");
        };
        let expected = 17 + 4 * version as usize;
        let (size, grid) = modules(&svg);
        assert_eq!(size, expected + 2 * QUIET_ZONE_MODULES as usize, "{url}");
        // Exactly the code's dark modules are drawn, the quiet zone stays light.
        let q = QUIET_ZONE_MODULES as usize;
        let colors = code.to_colors();
        for y in 0..size {
            for x in 0..size {
                let inside = (q..q + expected).contains(&x) && (q..q + expected).contains(&y);
                let dark = inside && colors[(y - q) * expected + (x - q)] == qrcode::Color::Dark;
                assert_eq!(grid[y * size + x], dark, "{url}: module ({x}, {y})");
            }
        }
    }
    assert_ne!(qr_svg(URLS[0]).unwrap(), qr_svg(URLS[1]).unwrap());
}

#[test]
fn the_svg_decodes_back_to_the_url() {
    for url in URLS {
        let (size, grid) = modules(&qr_svg(url).unwrap());
        // Rasterised at 4 pixels per module, as a camera might see it.
        let scale = 4;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(size * scale, size * scale, |x, y| {
                if grid[(y / scale) * size + x / scale] {
                    0
                } else {
                    255
                }
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "{url}");
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(content, url);
        assert_eq!(
            17 + 4 * meta.version.0,
            size - 2 * QUIET_ZONE_MODULES as usize
        );
    }
}

#[test]
fn content_too_long_for_a_qr_code_is_refused() {
    let long = "9".repeat(8000);
    assert_eq!(qr_svg(&long), Err(QrError { len: 8000 }));
    let bytes = "a".repeat(2331);
    assert!(qr_svg(&bytes).is_ok());
    assert_eq!(qr_svg(&"a".repeat(2332)), Err(QrError { len: 2332 }));
}
