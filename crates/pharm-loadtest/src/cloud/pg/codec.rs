//! [`TxnRow`]s as the adapter's values and back: each column of a batch as one PostgreSQL
//! array literal (bound as text, cast and `unnest`ed in SQL), digests as hex, and the
//! unsigned 64-bit incarnation and sequence number stored bit for bit in `bigint`.

use std::fmt::Write as _;

use pharm_shard::scatter::ParamValue;

use crate::cloud::table::{RowKey, TxnRow};

/// The table, created on every primary at start.
pub(super) const CREATE: &str = "CREATE TABLE IF NOT EXISTS loadtest_txn (\
     pharmacy bigint NOT NULL, terminal integer NOT NULL, incarnation bigint NOT NULL, \
     seq bigint NOT NULL, digest bytea NOT NULL, units bigint NOT NULL, \
     PRIMARY KEY (pharmacy, terminal, incarnation, seq))";

/// One multi-row insert of a batch (`$1`..`$6`: the [`columns`] of its rows); rows whose
/// key is already held are skipped.
pub(super) const INSERT: &str = "INSERT INTO loadtest_txn \
     (pharmacy, terminal, incarnation, seq, digest, units) \
     SELECT p, t, i, s, decode(d, 'hex'), u FROM unnest($1::text::bigint[], \
     $2::text::integer[], $3::text::bigint[], $4::text::bigint[], $5::text::text[], \
     $6::text::bigint[]) AS r(p, t, i, s, d, u) \
     ON CONFLICT DO NOTHING";

/// The digests held under a batch's keys (`$1`..`$4`: the key [`columns`]).
pub(super) const HELD: &str = "SELECT x.pharmacy, x.terminal, x.incarnation, x.seq, \
     encode(x.digest, 'hex') FROM loadtest_txn x JOIN unnest($1::text::bigint[], \
     $2::text::integer[], $3::text::bigint[], $4::text::bigint[]) AS k(p, t, i, s) \
     ON (x.pharmacy, x.terminal, x.incarnation, x.seq) = (k.p, k.t, k.i, k.s)";

/// Every row of one pharmacy (`$1`).
pub(super) const PHARMACY_ROWS: &str = "SELECT pharmacy, terminal, incarnation, seq, \
     encode(digest, 'hex'), units FROM loadtest_txn WHERE pharmacy = $1";

/// The six columns of `rows` as array literals: pharmacy, terminal, incarnation, seq,
/// digest (hex), units. [`HELD`] takes the first four.
pub(super) fn columns(rows: &[&TxnRow]) -> [ParamValue; 6] {
    let array = |f: &dyn Fn(&TxnRow, &mut String)| {
        let mut s = String::from("{");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            f(row, &mut s);
        }
        s.push('}');
        ParamValue::Text(s)
    };
    // Writing to a `String` cannot fail.
    [
        array(&|r, s| {
            let _ = write!(s, "{}", r.pharmacy);
        }),
        array(&|r, s| {
            let _ = write!(s, "{}", r.terminal);
        }),
        array(&|r, s| {
            let _ = write!(s, "{}", r.incarnation.cast_signed());
        }),
        array(&|r, s| {
            let _ = write!(s, "{}", r.seq.cast_signed());
        }),
        array(&|r, s| s.push_str(&hex(&r.digest))),
        array(&|r, s| {
            let _ = write!(s, "{}", r.units);
        }),
    ]
}

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn int(value: Option<&ParamValue>) -> Result<i64, String> {
    match value {
        Some(ParamValue::Int(v)) => Ok(*v),
        other => Err(format!("expected an integer column, got {other:?}")),
    }
}

fn text(value: Option<&ParamValue>) -> Result<&str, String> {
    match value {
        Some(ParamValue::Text(v)) => Ok(v),
        other => Err(format!("expected a text column, got {other:?}")),
    }
}

/// The key of a row read back (pharmacy, terminal, incarnation, seq columns first).
pub(super) fn key(row: &[ParamValue]) -> Result<RowKey, String> {
    let pharmacy = int(row.first())?;
    let terminal = int(row.get(1))?;
    Ok((
        u32::try_from(pharmacy).map_err(|_| format!("pharmacy {pharmacy} out of range"))?,
        u16::try_from(terminal).map_err(|_| format!("terminal {terminal} out of range"))?,
        int(row.get(2))?.cast_unsigned(),
        int(row.get(3))?.cast_unsigned(),
    ))
}

/// The held digest (hex) of a [`HELD`] row.
pub(super) fn held_digest(row: &[ParamValue]) -> Result<&str, String> {
    text(row.get(4))
}

/// A [`PHARMACY_ROWS`] row.
pub(super) fn txn_row(row: &[ParamValue]) -> Result<TxnRow, String> {
    let (pharmacy, terminal, incarnation, seq) = key(row)?;
    let hex_digest = text(row.get(4))?;
    let mut digest = [0u8; 16];
    if hex_digest.len() != 32 {
        return Err(format!("digest {hex_digest:?} is not 16 bytes of hex"));
    }
    for (i, byte) in digest.iter_mut().enumerate() {
        let pair = hex_digest.get(2 * i..2 * i + 2).unwrap_or("");
        *byte = u8::from_str_radix(pair, 16)
            .map_err(|_| format!("digest {hex_digest:?} is not hex"))?;
    }
    Ok(TxnRow {
        pharmacy,
        terminal,
        incarnation,
        seq,
        digest,
        units: int(row.get(5))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_values() {
        let row = TxnRow {
            pharmacy: 7,
            terminal: 2,
            incarnation: u64::MAX,
            seq: 1 << 63,
            digest: [0xAB; 16],
            units: -3,
        };
        let cols = columns(&[&row, &row]);
        assert_eq!(cols[0], ParamValue::Text("{7,7}".into()));
        assert_eq!(cols[2], ParamValue::Text("{-1,-1}".into()));
        let back = [
            ParamValue::Int(7),
            ParamValue::Int(2),
            ParamValue::Int(-1),
            ParamValue::Int(i64::MIN),
            ParamValue::Text(hex(&row.digest)),
            ParamValue::Int(-3),
        ];
        assert_eq!(txn_row(&back), Ok(row));
        assert!(txn_row(&back[..4]).is_err());
        let mut bad = back.clone();
        bad[4] = ParamValue::Text("zz".repeat(16));
        assert!(txn_row(&bad).is_err());
    }
}
