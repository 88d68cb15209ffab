//! Stable error codes: what the C ABI and the Python wheel return for every error of the
//! family, so that a till or a notebook can branch on a number or a string that never
//! changes meaning.
//!
//! Every public error enum of every crate implements [`ErrorCode`]: each variant has a
//! numeric code, unique across the family and never reused, in its crate's range
//! ([`CodeRange`]), and a stable string id (`crate.snake_case_name`). Each crate lists its
//! codes in one `ERROR_CODES` table, which its tests check against every variant; the
//! repository's `ERRORS.md` is the table of all of them.

/// A stable code and id for an error value.
pub trait ErrorCode {
    /// The numeric code: unique across the family, within its crate's [`CodeRange`].
    fn code(&self) -> u32;
    /// The string id, `crate.snake_case_name` (for example `core.ndc_ambiguous`).
    fn id(&self) -> &'static str;
}

/// One row of a crate's table of error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodeInfo {
    /// The numeric code.
    pub code: u32,
    /// The string id.
    pub id: &'static str,
    /// What the error means, in one line.
    pub summary: &'static str,
}

/// The range of codes each crate (and the bindings) may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRange {
    /// The crate.
    pub owner: &'static str,
    /// First code of the range.
    pub first: u32,
    /// Last code of the range.
    pub last: u32,
}

/// The ranges: `1..=999` the bindings' own results (null pointer, invalid UTF-8, panic,
/// buffer too small...), then one thousand per crate.
pub const CODE_RANGES: [CodeRange; 5] = [
    CodeRange {
        owner: "ffi",
        first: 1,
        last: 999,
    },
    CodeRange {
        owner: "core",
        first: 1000,
        last: 1999,
    },
    CodeRange {
        owner: "subst",
        first: 2000,
        last: 2999,
    },
    CodeRange {
        owner: "sync",
        first: 3000,
        last: 3999,
    },
    CodeRange {
        owner: "shard",
        first: 4000,
        last: 4999,
    },
];

/// Checks a crate's table: every code inside the owner's range, ids prefixed with the
/// owner and unique, codes unique. Returns the first problem found.
pub fn check_table(owner: &str, table: &[ErrorCodeInfo]) -> Result<(), String> {
    let range = CODE_RANGES
        .iter()
        .find(|r| r.owner == owner)
        .ok_or_else(|| format!("no code range for {owner:?}"))?;
    let prefix = format!("{owner}.");
    for (i, row) in table.iter().enumerate() {
        if !(range.first..=range.last).contains(&row.code) {
            return Err(format!(
                "{} ({}) is outside {owner}'s range",
                row.code, row.id
            ));
        }
        let name = row.id.strip_prefix(&prefix).unwrap_or("");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!("{:?} is not {prefix}snake_case", row.id));
        }
        if let Some(other) = table[..i]
            .iter()
            .find(|o| o.code == row.code || o.id == row.id)
        {
            return Err(format!(
                "{} ({}) repeats {} ({})",
                row.code, row.id, other.code, other.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn row(code: u32, id: &'static str) -> ErrorCodeInfo {
        ErrorCodeInfo {
            code,
            id,
            summary: "",
        }
    }

    #[test]
    fn ranges_do_not_overlap() {
        for pair in CODE_RANGES.windows(2) {
            assert!(pair[0].last < pair[1].first, "{pair:?}");
        }
    }

    #[test]
    fn a_table_is_refused_for_each_kind_of_mistake() {
        assert_eq!(
            check_table("core", &[row(1000, "core.a"), row(1001, "core.b_2")]),
            Ok(())
        );
        for bad in [
            vec![row(999, "core.a")],
            vec![row(2000, "core.a")],
            vec![row(1000, "subst.a")],
            vec![row(1000, "core.")],
            vec![row(1000, "core.Bad")],
            vec![row(1000, "core.a"), row(1000, "core.b")],
            vec![row(1000, "core.a"), row(1001, "core.a")],
        ] {
            assert!(check_table("core", &bad).is_err(), "{bad:?}");
        }
        assert!(check_table("nobody", &[]).is_err());
    }
}
