//! The JSON-Schema patterns shop-core publishes for API descriptions say no
//! more than its rules: every string a pattern describes passes the rule it
//! stands for (an HTTP API that publishes them never refuses input its own
//! description calls valid).

use proptest::prelude::*;
use proptest::string::string_regex;
use shop_core::coupon::{check_code, CouponDraft, CouponKind, CODE_PATTERN, PERCENT_PATTERN};
use shop_core::money::{amount_pattern, MAX_AMOUNT};
use shop_core::text::{
    check_line, check_multiline, required_line, LINE_PATTERN, MULTILINE_PATTERN,
    REQUIRED_LINE_PATTERN, REQUIRED_MULTILINE_PATTERN,
};
use shop_core::user::{AddressDraft, PHONE_PATTERN};
use shop_core::{Currency, Money};

/// A pattern's strings (proptest generates from the pattern without its
/// anchors; they are whole-string patterns).
fn strings(pattern: &str) -> impl Strategy<Value = String> {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .expect("an anchored pattern");
    string_regex(inner).expect("a pattern proptest understands")
}

fn coupon(kind: CouponKind, value: &str) -> CouponDraft {
    CouponDraft {
        name: "Coupon".to_owned(),
        kind,
        value: value.parse().expect("a decimal"),
        min_amount: Money::parse("0", Currency::Cny).expect("an amount"),
        total: 1,
        not_before: None,
        not_after: None,
        enabled: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn text_patterns_pass_their_rules(
        line in strings(LINE_PATTERN),
        required in strings(REQUIRED_LINE_PATTERN),
        multiline in strings(MULTILINE_PATTERN),
        required_multiline in strings(REQUIRED_MULTILINE_PATTERN),
    ) {
        prop_assert!(check_line("f", &line, usize::MAX).is_ok(), "{:?}", line);
        prop_assert!(required_line("f", &required, usize::MAX).is_ok(), "{:?}", required);
        prop_assert!(check_multiline("f", &multiline, usize::MAX).is_ok(), "{:?}", multiline);
        prop_assert!(check_multiline("f", &required_multiline, usize::MAX).is_ok());
        prop_assert!(!required_multiline.trim().is_empty(), "{:?}", required_multiline);
    }

    #[test]
    fn amount_patterns_pass_the_money_rules(
        any in strings(&amount_pattern(Currency::Cny, false)),
        positive in strings(&amount_pattern(Currency::Cny, true)),
        yen in strings(&amount_pattern(Currency::Jpy, true)),
    ) {
        for (text, currency, must_be_positive) in [
            (&any, Currency::Cny, false),
            (&positive, Currency::Cny, true),
            (&yen, Currency::Jpy, true),
        ] {
            let money = Money::parse(text, currency);
            prop_assert!(money.is_ok(), "{:?}", text);
            let money = money.unwrap_or_else(|_| Money::zero(currency));
            prop_assert!(money.is_whole_minor_units(), "{:?}", text);
            prop_assert!(money.amount() <= MAX_AMOUNT, "{:?}", text);
            prop_assert!(!must_be_positive || money.is_positive(), "{:?}", text);
        }
        prop_assert!(coupon(CouponKind::Fixed, &positive).validate().is_ok(), "{:?}", positive);
    }

    #[test]
    fn percent_phone_and_code_patterns_pass_their_rules(
        percent in strings(PERCENT_PATTERN),
        phone in strings(PHONE_PATTERN),
        code in strings(CODE_PATTERN),
    ) {
        prop_assert!(coupon(CouponKind::Percent, &percent).validate().is_ok(), "{:?}", percent);
        let address = AddressDraft {
            province: "Zhejiang".to_owned(),
            city: "Hangzhou".to_owned(),
            district: String::new(),
            street: "1 Lake Rd".to_owned(),
            zip: String::new(),
            contact_name: "Ann".to_owned(),
            contact_phone: phone.clone(),
        };
        prop_assert!(address.validate().is_ok(), "{:?}", phone);
        prop_assert!(check_code(&code).is_ok(), "{:?}", code);
    }
}
