//! Stable codes (range 2000-2999) and ids (`subst.*`) of every public error of the crate,
//! the numbers the C ABI and the Python wheel return. A wrapping variant reports its own
//! code; the wrapped error, reachable through the field and `source()`, has its own.

use pharm_core::error_code::{ErrorCode, ErrorCodeInfo};

use crate::approval::ApprovalDateError;
use crate::binding_input::BindingInputError;
use crate::catalog::DuplicateKey;
use crate::product_map::ProductMapError;
use crate::products::{ProductsError, RowError, RowErrorKind};
use crate::query::UnknownProduct;
use crate::record::{ApplicationError, ProductKeyError};
use crate::service::ExplainError;
use crate::strength::StrengthError;
use crate::te::TeError;

/// Implements [`ErrorCode`] for each type from its table of patterns, and collects every
/// row into [`ERROR_CODES`].
macro_rules! error_codes {
    ($( $ty:ty { $( $pat:pat => ($code:literal, $id:literal, $summary:literal) ),* $(,)? } )*) => {
        $(
            impl ErrorCode for $ty {
                fn code(&self) -> u32 {
                    match self { $( $pat => $code ),* }
                }
                fn id(&self) -> &'static str {
                    match self { $( $pat => $id ),* }
                }
            }
        )*
        /// Every error code of the crate: code, id and a one-line summary.
        pub const ERROR_CODES: &[ErrorCodeInfo] = &[
            $( $( ErrorCodeInfo { code: $code, id: $id, summary: $summary } ),* ),*
        ];
    };
}

error_codes! {
    ProductsError {
        ProductsError::TooLarge { .. } => (2001, "subst.input_too_large", "the file is larger than the parse limit"),
        ProductsError::MissingHeader { .. } => (2002, "subst.missing_header", "no header line naming the expected columns"),
        ProductsError::HeaderTooLong { .. } => (2003, "subst.header_too_long", "the header line is longer than the line limit"),
        ProductsError::HeaderNotUtf8 { .. } => (2004, "subst.header_not_utf8", "the header line is not valid UTF-8"),
        ProductsError::DuplicateColumn { .. } => (2005, "subst.duplicate_column", "a column appears twice in the header"),
        ProductsError::MissingColumn { .. } => (2006, "subst.missing_column", "a required column is missing from the header"),
        ProductsError::Row(_) => (2007, "subst.bad_row", "a row was rejected in strict mode (the row error has its own code)"),
    }
    RowErrorKind {
        RowErrorKind::FieldCount { .. } => (2020, "subst.field_count", "a row does not have as many fields as the header"),
        RowErrorKind::LineTooLong { .. } => (2021, "subst.line_too_long", "a line is longer than the line limit"),
        RowErrorKind::NotUtf8 { .. } => (2022, "subst.line_not_utf8", "a line is not valid UTF-8"),
        RowErrorKind::Empty => (2023, "subst.empty_field", "a required field is empty"),
        RowErrorKind::Invalid { .. } => (2024, "subst.invalid_field", "a field has a value of the wrong shape"),
        RowErrorKind::TeCode(_) => (2025, "subst.bad_te_code_field", "the TE_Code field is bad (the TE error has its own code)"),
        RowErrorKind::Strength(_) => (2026, "subst.bad_strength_field", "the Strength field is bad (the strength error has its own code)"),
        RowErrorKind::Date(_) => (2027, "subst.bad_date_field", "a date field is bad (the date error has its own code)"),
        RowErrorKind::DuplicateKey { .. } => (2028, "subst.duplicate_row_key", "a product key already appeared on an earlier row"),
    }
    TeError {
        TeError::Unknown { .. } => (2040, "subst.te_code_unknown", "a token is not a known TE code"),
        TeError::EmptyToken { .. } => (2041, "subst.te_code_empty", "a TE code list has an empty token"),
        TeError::Duplicate { .. } => (2042, "subst.te_code_repeated", "a TE code appears twice in one field"),
    }
    StrengthError {
        StrengthError::Empty { .. } => (2050, "subst.strength_empty", "the strength is empty once its footnote is removed"),
        StrengthError::TooLong { .. } => (2051, "subst.strength_too_long", "the strength is longer than its limit"),
    }
    ApprovalDateError {
        ApprovalDateError::Syntax { .. } => (2060, "subst.date_syntax", "the text is not an Orange Book date"),
        ApprovalDateError::NotADate { .. } => (2061, "subst.date_not_calendar", "the date is not a calendar date"),
    }
    ProductKeyError {
        ProductKeyError { .. } => (2070, "subst.product_key_invalid", "the text is not an Orange Book product key"),
    }
    ApplicationError {
        ApplicationError { .. } => (2071, "subst.application_invalid", "the text is not an NDA or ANDA application"),
    }
    DuplicateKey {
        DuplicateKey(_) => (2100, "subst.catalog_duplicate_key", "two catalog products have the same key"),
    }
    UnknownProduct {
        UnknownProduct(_) => (2200, "subst.unknown_product", "the product is not in the loaded release"),
    }
    ExplainError {
        ExplainError::UnknownProduct(_) => (2210, "subst.explain_unknown_product", "a product to explain is not in the loaded release"),
        ExplainError::NoCatalog => (2211, "subst.no_catalog", "no Orange Book release is loaded"),
    }
    ProductMapError {
        ProductMapError::DuplicateSku { .. } => (2300, "subst.map_duplicate_sku", "two product map rows share a sku"),
        ProductMapError::DuplicateNdc { .. } => (2301, "subst.map_duplicate_ndc", "two product map rows share an NDC"),
        ProductMapError::UnmappedNdc { .. } => (2302, "subst.map_unmapped_ndc", "an NDC is not tied to a product of the release"),
        ProductMapError::UnknownSku(_) => (2303, "subst.map_unknown_sku", "no product map row has the sku"),
        ProductMapError::UnknownNdc(_) => (2304, "subst.map_unknown_ndc", "no product map row has the NDC"),
        ProductMapError::UnknownProduct(_) => (2305, "subst.map_unknown_product", "the product is not stocked under any sku"),
        ProductMapError::AmbiguousProduct { .. } => (2306, "subst.map_ambiguous_product", "the product is stocked under several skus"),
    }
    BindingInputError {
        BindingInputError::JsonSyntax { .. } => (2400, "subst.json_syntax", "a JSON query or document given to a binding is not well-formed JSON"),
        BindingInputError::JsonInvalid { .. } => (2401, "subst.json_invalid", "a JSON query or document given to a binding does not have the expected shape (unknown, missing or repeated field, wrong type or value)"),
        BindingInputError::FileUnreadable { .. } => (2402, "subst.file_unreadable", "a release file given to a binding by path could not be opened or read"),
    }
}

/// A rejected row reports the code of its kind.
impl ErrorCode for RowError {
    fn code(&self) -> u32 {
        self.kind.code()
    }
    fn id(&self) -> &'static str {
        self.kind.id()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use pharm_core::error_code::check_table;

    use super::*;
    use crate::record::ProductKey;
    use crate::te::TeCode;

    #[test]
    fn table_is_valid() {
        check_table("subst", ERROR_CODES).unwrap();
    }

    #[test]
    fn every_variant_is_in_the_table() {
        let key: ProductKey = "N020702-001".parse().unwrap();
        let ndc = "0071-0155-23".parse().unwrap();
        let code: TeCode = "AB".parse().unwrap();
        let te = TeError::Unknown { token: "ZZ".into() };
        let strength = StrengthError::Empty { raw: String::new() };
        let date = ApprovalDateError::Syntax { input: "x".into() };
        let kinds = [
            RowErrorKind::FieldCount {
                expected: 14,
                found: 3,
            },
            RowErrorKind::LineTooLong { len: 9, max: 1 },
            RowErrorKind::NotUtf8 { offset: 0 },
            RowErrorKind::Empty,
            RowErrorKind::Invalid {
                value: "x".into(),
                expected: "a number",
            },
            RowErrorKind::TeCode(te.clone()),
            RowErrorKind::Strength(strength.clone()),
            RowErrorKind::Date(date.clone()),
            RowErrorKind::DuplicateKey { key, first_line: 2 },
        ];
        let row = RowError {
            line: 3,
            column: None,
            kind: RowErrorKind::Empty,
            text: String::new(),
        };
        let mut seen: Vec<(u32, &'static str)> = Vec::new();
        let mut add = |e: &dyn ErrorCode| seen.push((e.code(), e.id()));
        for e in [
            ProductsError::TooLarge { len: 2, max: 1 },
            ProductsError::MissingHeader {
                first_line: String::new(),
            },
            ProductsError::HeaderTooLong {
                line: 1,
                len: 2,
                max: 1,
            },
            ProductsError::HeaderNotUtf8 { line: 1 },
            ProductsError::DuplicateColumn { name: "RS".into() },
            ProductsError::MissingColumn { name: "RS" },
            ProductsError::Row(row.clone()),
        ] {
            add(&e);
        }
        for e in &kinds {
            add(e);
        }
        add(&row);
        for e in [
            te,
            TeError::EmptyToken {
                field: "AB,".into(),
            },
            TeError::Duplicate {
                code,
                field: "AB,AB".into(),
            },
        ] {
            add(&e);
        }
        for e in [strength, StrengthError::TooLong { len: 2, max: 1 }] {
            add(&e);
        }
        for e in [date, ApprovalDateError::NotADate { input: "x".into() }] {
            add(&e);
        }
        add(&ProductKeyError { input: "x".into() });
        add(&ApplicationError { input: "x".into() });
        add(&DuplicateKey(key));
        add(&UnknownProduct(key));
        for e in [
            ExplainError::UnknownProduct(UnknownProduct(key)),
            ExplainError::NoCatalog,
        ] {
            add(&e);
        }
        for e in [
            ProductMapError::DuplicateSku {
                sku: 1,
                first: ndc,
                second: ndc,
            },
            ProductMapError::DuplicateNdc {
                ndc,
                first: 1,
                second: 2,
            },
            ProductMapError::UnmappedNdc { sku: 1, ndc },
            ProductMapError::UnknownSku(1),
            ProductMapError::UnknownNdc(ndc),
            ProductMapError::UnknownProduct(key),
            ProductMapError::AmbiguousProduct {
                product: key,
                skus: vec![1, 2],
            },
        ] {
            add(&e);
        }
        for e in [
            BindingInputError::JsonSyntax {
                document: "query",
                line: 1,
                column: 1,
                reason: String::new(),
            },
            BindingInputError::JsonInvalid {
                document: "query",
                line: 1,
                column: 1,
                reason: String::new(),
            },
            BindingInputError::FileUnreadable {
                path: String::new(),
                reason: String::new(),
            },
        ] {
            add(&e);
        }
        let table: BTreeSet<(u32, &str)> = ERROR_CODES.iter().map(|r| (r.code, r.id)).collect();
        for pair in &seen {
            assert!(table.contains(pair), "{pair:?} is not in ERROR_CODES");
        }
        let covered: BTreeSet<(u32, &str)> = seen.into_iter().collect();
        assert_eq!(covered, table, "every row is some variant's code");
        // A nested error keeps its own code, reachable through the field.
        let wrapped = ProductsError::Row(RowError {
            kind: RowErrorKind::TeCode(TeError::Unknown { token: "ZZ".into() }),
            ..row
        });
        assert_eq!(wrapped.code(), 2007);
        let ProductsError::Row(inner) = &wrapped else {
            unreachable!()
        };
        assert_eq!(inner.code(), 2025);
        let explain = ExplainError::from(UnknownProduct(key));
        let source = std::error::Error::source(&explain).unwrap();
        assert_eq!(source.to_string(), UnknownProduct(key).to_string());
    }
}
