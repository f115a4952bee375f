//! A statement and its arguments, written once for every database: SQL
//! text with `?` placeholders (each dialect renders its own) and typed
//! arguments (each dialect binds them in its own encoding).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shop_core::Money;

/// One bound value. `None` is a typed SQL `NULL`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// An integer (ids, counts, quantities).
    Int(Option<i64>),
    /// Text.
    Text(Option<String>),
    /// A boolean.
    Bool(bool),
    /// An exact decimal (amounts without their currency, ratings).
    Dec(Option<Decimal>),
    /// A UTC time.
    Time(Option<DateTime<Utc>>),
}

macro_rules! arg_from {
    ($($ty:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl From<$ty> for Arg {
            fn from(v: $ty) -> Arg {
                Arg::$variant($conv(v))
            }
        }
    )*};
}

arg_from! {
    i64 => Int(Some),
    u32 => Int(|v| Some(i64::from(v))),
    Option<i64> => Int(|v| v),
    bool => Bool(|v| v),
    String => Text(Some),
    &str => Text(|v: &str| Some(v.to_owned())),
    &String => Text(|v: &String| Some(v.clone())),
    Option<&str> => Text(|v: Option<&str>| v.map(str::to_owned)),
    Decimal => Dec(Some),
    Money => Dec(|v: Money| Some(v.amount())),
    DateTime<Utc> => Time(Some),
    Option<DateTime<Utc>> => Time(|v| v),
}

/// SQL text with `?` placeholders and the arguments they stand for, in
/// order. The text never holds a `?` other than a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    /// A statement without arguments yet.
    pub(crate) fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds the argument of the next placeholder.
    pub(crate) fn bind(mut self, arg: impl Into<Arg>) -> Sql {
        self.args.push(arg.into());
        self
    }

    /// Appends text (with placeholders of its own, bound next).
    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder and its argument.
    pub(crate) fn push_bind(&mut self, arg: impl Into<Arg>) -> &mut Sql {
        self.text.push('?');
        self.args.push(arg.into());
        self
    }

    /// Appends `(?, ?, …)` with one bound integer each; `(NULL)` (which
    /// matches nothing) when there are none.
    pub(crate) fn push_list(&mut self, ids: impl IntoIterator<Item = i64>) -> &mut Sql {
        self.text.push('(');
        let mut first = true;
        for id in ids {
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.push_bind(id);
        }
        if first {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// The text with each `?` numbered as PostgreSQL wants it (`$1`, `$2`,
    /// …).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn numbered(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 2 * self.args.len());
        let mut n = 0;
        for c in self.text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_numbering() {
        let mut sql = Sql::new("SELECT 1 FROM t WHERE a = ?").bind(1i64);
        sql.push(" AND id IN ").push_list([2, 3]);
        assert_eq!(sql.text, "SELECT 1 FROM t WHERE a = ? AND id IN (?, ?)");
        assert_eq!(
            sql.numbered(),
            "SELECT 1 FROM t WHERE a = $1 AND id IN ($2, $3)"
        );
        assert_eq!(sql.args.len(), 3);
        let mut empty = Sql::new("x IN ");
        empty.push_list([]);
        assert_eq!(empty.text, "x IN (NULL)");
    }
}
