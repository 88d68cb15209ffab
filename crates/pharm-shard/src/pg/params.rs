//! [`ParamValue`] as a PostgreSQL query parameter, and result rows as [`ParamValue`]s:
//! the adapter's statements exchange the crate's own values, not the driver's types.

use std::error::Error;

use tokio_postgres::Row;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::error::{Node, PgError};
use crate::scatter::{ParamValue, ShardTarget};

/// `BytesMut` as the `ToSql` trait names it (postgres-types re-exports the `bytes` type it
/// uses for exactly this purpose; `to_sql_checked!` refers to the same path).
type Buf = tokio_postgres::types::private::BytesMut;

type BoxError = Box<dyn Error + Sync + Send>;

/// A [`ParamValue`] bound to a parameter of whatever type the server inferred.
///
/// Integers go to `int2`/`int4`/`int8` parameters (range-checked), booleans to `bool`, text
/// to text-like parameters only (for another type, cast in SQL: `$1::text::date`); `NULL`
/// fits any type.
#[derive(Debug)]
pub(crate) struct SqlParam<'a>(pub(crate) &'a ParamValue);

impl ToSql for SqlParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut Buf) -> Result<IsNull, BoxError> {
        match self.0 {
            ParamValue::Null => Ok(IsNull::Yes),
            ParamValue::Bool(value) => {
                if <bool as ToSql>::accepts(ty) {
                    value.to_sql(ty, out)
                } else {
                    Err(mismatch("a boolean", ty))
                }
            }
            ParamValue::Int(value) => match *ty {
                Type::INT8 => value.to_sql(ty, out),
                Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*value)?.to_sql(ty, out),
                _ => Err(mismatch("an integer", ty)),
            },
            ParamValue::Text(value) => {
                if <&str as ToSql>::accepts(ty) {
                    value.as_str().to_sql(ty, out)
                } else {
                    Err(mismatch("a text", ty))
                }
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which knows which variant it holds.
        true
    }

    to_sql_checked!();
}

fn mismatch(what: &str, ty: &Type) -> BoxError {
    format!("{what} parameter cannot be sent as `{ty}`; cast the parameter in SQL").into()
}

/// The parameters of one statement, ready to bind.
pub(crate) fn sql_params(values: &[ParamValue]) -> Vec<SqlParam<'_>> {
    values.iter().map(SqlParam).collect()
}

/// `params` as the driver takes them.
pub(crate) fn as_sql<'a>(params: &'a [SqlParam<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param as &(dyn ToSql + Sync))
        .collect()
}

/// A result row as values: `bigint`/`integer`/`smallint` → [`ParamValue::Int`], text-like
/// columns → [`ParamValue::Text`], `boolean` → [`ParamValue::Bool`], SQL `NULL` →
/// [`ParamValue::Null`].
///
/// # Errors
///
/// [`PgError::BadResult`] for a column of another type (cast it in SQL, e.g.
/// `amount::bigint` or `sold_on::text`).
pub(crate) fn decode_row(node: ShardTarget, row: &Row) -> Result<Vec<ParamValue>, PgError> {
    let bad = |message: String| PgError::BadResult {
        node: Node(node),
        message,
    };
    (0..row.len())
        .map(|i| {
            let column = &row.columns()[i];
            let decoded = match *column.type_() {
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)
                    .map(|v| v.map(ParamValue::Int)),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|v| ParamValue::Int(v.into()))),
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)
                    .map(|v| v.map(|v| ParamValue::Int(v.into()))),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(i)
                    .map(|v| v.map(ParamValue::Bool)),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                    .try_get::<_, Option<String>>(i)
                    .map(|v| v.map(ParamValue::Text)),
                ref other => {
                    return Err(bad(format!(
                        "column {:?} has type {other}; cast it to bigint, text or boolean",
                        column.name()
                    )));
                }
            };
            decoded
                .map(|v| v.unwrap_or(ParamValue::Null))
                .map_err(|e| bad(format!("column {:?}: {e}", column.name())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &ParamValue, ty: &Type) -> Result<Vec<u8>, BoxError> {
        let mut out = Buf::new();
        SqlParam(value).to_sql_checked(ty, &mut out)?;
        Ok(out.to_vec())
    }

    #[test]
    fn integers_fit_the_inferred_width() {
        assert_eq!(
            encode(&ParamValue::Int(7), &Type::INT8).ok(),
            Some(vec![0, 0, 0, 0, 0, 0, 0, 7])
        );
        assert_eq!(
            encode(&ParamValue::Int(7), &Type::INT4).ok(),
            Some(vec![0, 0, 0, 7])
        );
        assert_eq!(
            encode(&ParamValue::Int(-1), &Type::INT2).ok(),
            Some(vec![0xFF, 0xFF])
        );
        assert!(encode(&ParamValue::Int(1 << 40), &Type::INT4).is_err());
        assert!(encode(&ParamValue::Int(1), &Type::TEXT).is_err());
    }

    #[test]
    fn text_bool_and_null() {
        assert_eq!(
            encode(&ParamValue::Text("ab".into()), &Type::TEXT).ok(),
            Some(b"ab".to_vec())
        );
        assert!(encode(&ParamValue::Text("2024-01-01".into()), &Type::DATE).is_err());
        assert_eq!(
            encode(&ParamValue::Bool(true), &Type::BOOL).ok(),
            Some(vec![1])
        );
        assert!(encode(&ParamValue::Bool(true), &Type::INT8).is_err());
        assert_eq!(encode(&ParamValue::Null, &Type::DATE).ok(), Some(vec![]));
    }
}
