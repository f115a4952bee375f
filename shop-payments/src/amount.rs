//! Exact conversions between [`Money`] and each provider's amount format.
//!
//! | provider | format | range |
//! | --- | --- | --- |
//! | Alipay | yuan as a decimal string with two decimals, `"0.01"` | 0.01 ..= 100 000 000.00 CNY |
//! | WeChat Pay | fen as an integer, `1` | 1 ..= 2 147 483 647 fen (an `int32`) CNY |
//! | Stripe | minor units as an integer (cents; yen for JPY), `1` | 1 ..= 99 999 999 |
//! | sandbox | the currency's major unit as a decimal string, `"10.00"` | 1 minor unit ..= `i64::MAX` minor units |
//!
//! Nothing is rounded here: an amount with more decimals than its currency's
//! minor unit (`0.001 CNY`) is refused with [`AmountError::NotWholeMinorUnits`],
//! and an amount outside the provider's range (zero, negative, too large)
//! with [`AmountError::OutOfRange`]. Rounding is a business rule and happens
//! in `shop-core`, once, at a named step.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use shop_core::{Currency, Money};

/// Why an amount cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The amount has more decimals than its currency's minor unit.
    #[error("{amount} is not a whole number of minor units")]
    NotWholeMinorUnits {
        /// The amount refused.
        amount: Money,
    },
    /// The amount, in minor units, is outside what the provider accepts.
    #[error("{minor_units} minor units is outside {min}..={max}")]
    OutOfRange {
        /// The amount in minor units (saturated when it does not fit `i128`).
        minor_units: i128,
        /// Smallest accepted, in minor units.
        min: i64,
        /// Largest accepted, in minor units.
        max: i64,
    },
    /// The provider does not take this currency.
    #[error("{provider} does not take {currency}")]
    UnsupportedCurrency {
        /// The provider, e.g. `"alipay"`.
        provider: &'static str,
        /// The currency refused.
        currency: Currency,
    },
    /// A provider's amount string is not a plain decimal number.
    #[error("unparseable amount {0:?}")]
    Unparseable(String),
}

/// Inclusive range of minor units a provider accepts.
#[derive(Debug, Clone, Copy)]
struct Range {
    min: i64,
    max: i64,
}

const ALIPAY: Range = Range {
    min: 1,
    max: 10_000_000_000,
};
const WECHAT: Range = Range {
    min: 1,
    max: i32::MAX as i64,
};
const STRIPE: Range = Range {
    min: 1,
    max: 99_999_999,
};
const ANY_POSITIVE: Range = Range {
    min: 1,
    max: i64::MAX,
};

fn scale_factor(currency: Currency) -> Decimal {
    Decimal::from(10_i64.pow(currency.minor_digits()))
}

fn minor_units_in(money: Money, range: Range) -> Result<i64, AmountError> {
    if !money.is_whole_minor_units() {
        return Err(AmountError::NotWholeMinorUnits { amount: money });
    }
    let out_of_range = |minor_units: i128| AmountError::OutOfRange {
        minor_units,
        min: range.min,
        max: range.max,
    };
    let units = money
        .amount()
        .checked_mul(scale_factor(money.currency()))
        .ok_or_else(|| out_of_range(i128::MAX))?;
    let units = units.to_i128().unwrap_or(i128::MAX);
    if units < i128::from(range.min) || units > i128::from(range.max) {
        return Err(out_of_range(units));
    }
    i64::try_from(units).map_err(|_| out_of_range(units))
}

fn money_from_minor_units(
    units: i64,
    currency: Currency,
    range: Range,
) -> Result<Money, AmountError> {
    if units < range.min || units > range.max {
        return Err(AmountError::OutOfRange {
            minor_units: i128::from(units),
            min: range.min,
            max: range.max,
        });
    }
    Ok(Money::new(
        Decimal::new(units, currency.minor_digits()),
        currency,
    ))
}

/// Formats whole minor units with exactly the currency's decimals
/// (`"0.01"`, `"100"` for JPY).
fn format_units(units: i64, currency: Currency) -> String {
    let mut amount = Decimal::new(units, currency.minor_digits());
    amount.rescale(currency.minor_digits());
    amount.to_string()
}

/// Parses a plain decimal string: ASCII digits, no sign, no exponent, no
/// spaces, no leading zeros (but `"0.01"`), and at most the currency's
/// decimals.
fn parse_plain(s: &str, currency: Currency, range: Range) -> Result<Money, AmountError> {
    let unparseable = || AmountError::Unparseable(s.to_owned());
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
        return Err(unparseable());
    }
    if let Some(frac) = frac {
        if !all_digits(frac) {
            return Err(unparseable());
        }
    }
    let amount = Decimal::from_str_exact(s).map_err(|_| unparseable())?;
    let money = Money::new(amount, currency);
    minor_units_in(money, range)?;
    Ok(money)
}

fn require(provider: &'static str, money: Money, currency: Currency) -> Result<Money, AmountError> {
    if money.currency() == currency {
        Ok(money)
    } else {
        Err(AmountError::UnsupportedCurrency {
            provider,
            currency: money.currency(),
        })
    }
}

/// A CNY amount as Alipay's `total_amount`: yuan with two decimals, `"0.01"`.
pub fn to_alipay_yuan(money: Money) -> Result<String, AmountError> {
    let money = require("alipay", money, Currency::Cny)?;
    let units = minor_units_in(money, ALIPAY)?;
    Ok(format_units(units, Currency::Cny))
}

/// Reads Alipay's `total_amount` / `refund_fee` (`"88.88"`, `"1"`) as CNY.
pub fn from_alipay_yuan(s: &str) -> Result<Money, AmountError> {
    parse_plain(s, Currency::Cny, ALIPAY)
}

/// A CNY amount as WeChat Pay's `amount.total`: fen, `1` for 0.01 CNY.
pub fn to_wechat_fen(money: Money) -> Result<i64, AmountError> {
    let money = require("wechat", money, Currency::Cny)?;
    minor_units_in(money, WECHAT)
}

/// Reads WeChat Pay's fen (`amount.total`, `amount.payer_total`) as CNY.
pub fn from_wechat_fen(fen: i64) -> Result<Money, AmountError> {
    money_from_minor_units(fen, Currency::Cny, WECHAT)
}

/// An amount as Stripe's `amount`: the currency's smallest unit (cents;
/// yen for the zero-decimal JPY).
pub fn to_stripe_minor_units(money: Money) -> Result<i64, AmountError> {
    minor_units_in(money, STRIPE)
}

/// Reads Stripe's `amount` in `currency`'s smallest unit.
pub fn from_stripe_minor_units(units: i64, currency: Currency) -> Result<Money, AmountError> {
    money_from_minor_units(units, currency, STRIPE)
}

/// Stripe's currency code: the ISO code in lowercase, `"usd"`.
pub fn to_stripe_currency(currency: Currency) -> String {
    currency.code().to_ascii_lowercase()
}

/// Reads Stripe's lowercase currency code.
pub fn from_stripe_currency(code: &str) -> Result<Currency, AmountError> {
    code.parse()
        .map_err(|_| AmountError::Unparseable(code.to_owned()))
}

/// An amount in its currency's major unit with exactly its decimals
/// (`"10.00"` CNY, `"500"` JPY): the sandbox's format.
pub fn to_major_units(money: Money) -> Result<String, AmountError> {
    let units = minor_units_in(money, ANY_POSITIVE)?;
    Ok(format_units(units, money.currency()))
}

/// Reads a positive amount in `currency`'s major unit, as written by
/// [`to_major_units`].
pub fn from_major_units(s: &str, currency: Currency) -> Result<Money, AmountError> {
    parse_plain(s, currency, ANY_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn cny(d: Decimal) -> Money {
        Money::new(d, Currency::Cny)
    }

    #[test]
    fn alipay_yuan_strings_have_two_decimals_and_stay_in_range() {
        assert_eq!(to_alipay_yuan(cny(dec!(0.01))).unwrap(), "0.01");
        assert_eq!(to_alipay_yuan(cny(dec!(12.5))).unwrap(), "12.50");
        assert_eq!(to_alipay_yuan(cny(dec!(7))).unwrap(), "7.00");
        assert_eq!(to_alipay_yuan(cny(dec!(1.000))).unwrap(), "1.00");
        assert_eq!(
            to_alipay_yuan(cny(dec!(100000000.00))).unwrap(),
            "100000000.00"
        );
        assert!(matches!(
            to_alipay_yuan(cny(dec!(100000000.01))),
            Err(AmountError::OutOfRange {
                minor_units: 10_000_000_001,
                ..
            })
        ));
        assert!(matches!(
            to_alipay_yuan(cny(dec!(0))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_alipay_yuan(cny(dec!(-0.01))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_alipay_yuan(cny(dec!(0.001))),
            Err(AmountError::NotWholeMinorUnits { .. })
        ));
        assert!(matches!(
            to_alipay_yuan(Money::new(dec!(1), Currency::Usd)),
            Err(AmountError::UnsupportedCurrency {
                provider: "alipay",
                currency: Currency::Usd
            })
        ));
    }

    #[test]
    fn alipay_yuan_strings_parse_strictly() {
        assert_eq!(from_alipay_yuan("0.01").unwrap(), cny(dec!(0.01)));
        assert_eq!(from_alipay_yuan("88.8").unwrap(), cny(dec!(88.80)));
        assert_eq!(from_alipay_yuan("100").unwrap(), cny(dec!(100)));
        assert_eq!(
            from_alipay_yuan("100000000.00").unwrap(),
            cny(dec!(100000000))
        );
        for bad in [
            "", ".5", "1.", "+1.00", "-1.00", "1e2", " 1.00", "1.00 ", "01.00", "1,00", "0x10",
        ] {
            assert!(
                matches!(from_alipay_yuan(bad), Err(AmountError::Unparseable(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            from_alipay_yuan("0.001"),
            Err(AmountError::NotWholeMinorUnits { .. })
        ));
        assert!(matches!(
            from_alipay_yuan("0.00"),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            from_alipay_yuan("100000000.01"),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            from_alipay_yuan("99999999999999999999999999999999"),
            Err(AmountError::Unparseable(_) | AmountError::OutOfRange { .. })
        ));
    }

    #[test]
    fn wechat_fen_are_integers_within_int32() {
        assert_eq!(to_wechat_fen(cny(dec!(0.01))).unwrap(), 1);
        assert_eq!(to_wechat_fen(cny(dec!(1))).unwrap(), 100);
        assert_eq!(to_wechat_fen(cny(dec!(19.99))).unwrap(), 1999);
        assert_eq!(
            to_wechat_fen(cny(dec!(21474836.47))).unwrap(),
            2_147_483_647
        );
        assert!(matches!(
            to_wechat_fen(cny(dec!(21474836.48))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_wechat_fen(cny(dec!(0.015))),
            Err(AmountError::NotWholeMinorUnits { .. })
        ));
        assert!(matches!(
            to_wechat_fen(cny(dec!(0))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_wechat_fen(Money::new(dec!(1), Currency::Eur)),
            Err(AmountError::UnsupportedCurrency { .. })
        ));
        assert_eq!(from_wechat_fen(1).unwrap(), cny(dec!(0.01)));
        assert_eq!(from_wechat_fen(1999).unwrap(), cny(dec!(19.99)));
        assert_eq!(
            from_wechat_fen(2_147_483_647).unwrap(),
            cny(dec!(21474836.47))
        );
        assert!(from_wechat_fen(0).is_err());
        assert!(from_wechat_fen(-1).is_err());
        assert!(from_wechat_fen(2_147_483_648).is_err());
    }

    #[test]
    fn stripe_minor_units_follow_the_currency() {
        let usd = |d| Money::new(d, Currency::Usd);
        let jpy = |d| Money::new(d, Currency::Jpy);
        assert_eq!(to_stripe_minor_units(usd(dec!(0.01))).unwrap(), 1);
        assert_eq!(to_stripe_minor_units(usd(dec!(10.50))).unwrap(), 1050);
        assert_eq!(to_stripe_minor_units(jpy(dec!(500))).unwrap(), 500);
        assert_eq!(
            to_stripe_minor_units(usd(dec!(999999.99))).unwrap(),
            99_999_999
        );
        assert!(matches!(
            to_stripe_minor_units(usd(dec!(1000000.00))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_stripe_minor_units(jpy(dec!(0.5))),
            Err(AmountError::NotWholeMinorUnits { .. })
        ));
        assert!(matches!(
            to_stripe_minor_units(usd(dec!(-5))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(matches!(
            to_stripe_minor_units(usd(Decimal::MAX)),
            Err(AmountError::OutOfRange { .. })
        ));
        assert_eq!(
            from_stripe_minor_units(1050, Currency::Usd).unwrap(),
            usd(dec!(10.50))
        );
        assert_eq!(
            from_stripe_minor_units(500, Currency::Jpy).unwrap(),
            jpy(dec!(500))
        );
        assert!(from_stripe_minor_units(0, Currency::Usd).is_err());
        assert!(from_stripe_minor_units(100_000_000, Currency::Usd).is_err());
        assert_eq!(to_stripe_currency(Currency::Usd), "usd");
        assert_eq!(from_stripe_currency("cny").unwrap(), Currency::Cny);
        assert!(from_stripe_currency("xxx").is_err());
    }

    #[test]
    fn major_units_round_trip_every_boundary() {
        for (money, text) in [
            (cny(dec!(0.01)), "0.01"),
            (cny(dec!(10)), "10.00"),
            (Money::new(dec!(500), Currency::Jpy), "500"),
            (
                Money::new(Decimal::new(i64::MAX, 2), Currency::Cny),
                "92233720368547758.07",
            ),
        ] {
            assert_eq!(to_major_units(money).unwrap(), text);
            assert_eq!(from_major_units(text, money.currency()).unwrap(), money);
        }
        assert!(matches!(
            to_major_units(cny(dec!(92233720368547758.08))),
            Err(AmountError::OutOfRange { .. })
        ));
        assert!(from_major_units("1.5", Currency::Jpy).is_err());
        assert!(from_major_units("0", Currency::Cny).is_err());
    }
}
