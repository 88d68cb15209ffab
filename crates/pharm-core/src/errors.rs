//! The stable code and id of every pharm-core error ([`ERROR_CODES`](crate::ERROR_CODES)),
//! and the [`ErrorCode`] impl of each public error type.
//!
//! Codes are grouped by module: identifiers 1000-1099, time 1100-1199, model 1200-1299,
//! rules 1300-1399, FEFO 1400-1499, forecast 1500-1599, contract 1600-1699. A code is never
//! reused: a removed variant keeps its row out of the table and its number unused.
//!
//! An error that wraps another ([`GtinError::Ndc`], [`Gs1Error::BadGtin`]) reports its own
//! code; the inner error's code is reachable through the field it holds.

use crate::contract::ContractError;
use crate::error_code::{ErrorCode, ErrorCodeInfo};
use crate::fefo::AllocationError;
use crate::forecast::ForecastError;
use crate::ids::{DeaError, Gs1Error, GtinError, NdcError, PharmacyIdError};
use crate::model::{DawCodeError, PriceError};
use crate::rules::UnknownRuleId;
use crate::time::DateError;

/// Builds [`ERROR_CODES`] and the [`ErrorCode`] impls from one list, so that a row and the
/// variant it names cannot drift apart (a variant without a row does not compile).
macro_rules! error_codes {
    (
        enums { $( $enum:ident { $( $variant:ident => $code:literal, $id:literal, $summary:literal; )+ } )+ }
        structs { $( $struct:ident => $scode:literal, $sid:literal, $ssummary:literal; )+ }
    ) => {
        /// Every pharm-core error code (range 1000-1999): code, id and a one-line summary.
        /// These are what the C ABI and the Python wheel return.
        pub const ERROR_CODES: &[ErrorCodeInfo] = &[
            $( $( ErrorCodeInfo { code: $code, id: $id, summary: $summary }, )+ )+
            $( ErrorCodeInfo { code: $scode, id: $sid, summary: $ssummary }, )+
        ];

        $(
            impl ErrorCode for $enum {
                fn code(&self) -> u32 {
                    match self {
                        $( $enum::$variant { .. } => $code, )+
                    }
                }
                fn id(&self) -> &'static str {
                    match self {
                        $( $enum::$variant { .. } => $id, )+
                    }
                }
            }
        )+

        $(
            impl ErrorCode for $struct {
                fn code(&self) -> u32 {
                    $scode
                }
                fn id(&self) -> &'static str {
                    $sid
                }
            }
        )+
    };
}

error_codes! {
    enums {
        NdcError {
            Syntax => 1000, "core.ndc_syntax", "the text is not an NDC in any accepted form";
            Ambiguous => 1001, "core.ndc_ambiguous", "unhyphenated 10 digits with several segmentations (NDC-AMBIG-01)";
            NotInMaster => 1002, "core.ndc_not_in_master", "no reading of unhyphenated 10 digits is in the product master";
            TooLong => 1003, "core.ndc_too_long", "the NDC input exceeds its size limit";
            OutOfRange => 1004, "core.ndc_out_of_range", "segment values do not fit the requested NDC layout";
        }
        GtinError {
            Syntax => 1010, "core.gtin_syntax", "the text is not a GTIN (not all digits)";
            Length => 1011, "core.gtin_length", "a GTIN has 12, 13 or 14 digits";
            BadCheckDigit => 1012, "core.gtin_bad_check_digit", "the GS1 mod-10 check digit does not match";
            NotAnNdc => 1013, "core.gtin_not_an_ndc", "the GTIN does not carry an NDC (no 03 prefix)";
            NoTenDigitForm => 1014, "core.gtin_no_ten_digit_form", "the NDC has no 10-digit form to put into a GTIN";
            BadIndicator => 1015, "core.gtin_bad_indicator", "the packaging indicator is not a digit 0-9";
            Ndc => 1016, "core.gtin_ndc", "the NDC inside the GTIN could not be resolved (inner NdcError in the field)";
        }
        Gs1Error {
            TooLong => 1020, "core.gs1_too_long", "GS1 data exceeds its size limit";
            UnsupportedSymbology => 1021, "core.gs1_unsupported_symbology", "the symbology identifier is not a GS1 symbol's";
            ExpectedAi => 1022, "core.gs1_expected_ai", "no application identifier where an element must start";
            UnknownAi => 1023, "core.gs1_unknown_ai", "an application identifier other than 01, 17, 10, 21";
            DuplicateAi => 1024, "core.gs1_duplicate_ai", "the same application identifier appears twice";
            BadField => 1025, "core.gs1_bad_field", "a fixed-length value is truncated or not digits, or a value is empty";
            FieldTooLong => 1026, "core.gs1_field_too_long", "a variable-length value is longer than its maximum";
            InvalidChar => 1027, "core.gs1_invalid_char", "a character outside the GS1 character set 82";
            BadGtin => 1028, "core.gs1_bad_gtin", "the AI 01 value is not a valid GTIN (inner GtinError in the field)";
            BadDate => 1029, "core.gs1_bad_date", "the AI 17 value is not a YYMMDD date";
            MissingGtin => 1030, "core.gs1_missing_gtin", "the GS1 data has no GTIN (AI 01)";
            HriSyntax => 1031, "core.gs1_hri_syntax", "the parenthesised human-readable text is malformed";
        }
        DeaError {
            Format => 1040, "core.dea_format", "the text is not a DEA number";
            CheckDigit => 1041, "core.dea_check_digit", "the DEA check digit does not match";
        }
        PharmacyIdError {
            Syntax => 1050, "core.pharmacy_id_syntax", "the text is not a pharmacy id (decimal 0..=4294967295)";
            OutOfRange => 1051, "core.pharmacy_id_out_of_range", "the database value is outside 0..=4294967295";
        }
        DateError {
            Syntax => 1100, "core.date_syntax", "the text is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS";
            OutOfRange => 1101, "core.date_out_of_range", "the fields are not a calendar date";
            BadTime => 1102, "core.date_bad_time", "the fields are not a time of day";
        }
        PriceError {
            Negative => 1200, "core.price_negative", "the price is below zero";
            Syntax => 1201, "core.price_syntax", "the price is not a plain decimal amount";
            TooPrecise => 1202, "core.price_too_precise", "the price has more than 28 significant digits";
        }
        AllocationError {
            ZeroQuantity => 1400, "core.allocation_zero_quantity", "zero quantity requested";
            Insufficient => 1401, "core.allocation_insufficient", "eligible lots hold less than the quantity";
            NoSingleLot => 1402, "core.allocation_no_single_lot", "no single lot covers the quantity and spill is not allowed";
        }
        ForecastError {
            ZeroWindow => 1500, "core.forecast_zero_window", "the forecast window is zero days";
        }
        ContractError {
            TooLarge => 1600, "core.contract_too_large", "the JSON document exceeds the size limit";
            Syntax => 1601, "core.contract_syntax", "the document is not well-formed JSON";
            Invalid => 1602, "core.contract_invalid", "the JSON does not match the contract (field, type, version or value)";
        }
    }
    structs {
        DawCodeError => 1210, "core.daw_code_unknown", "a DAW code outside 0-9";
        UnknownRuleId => 1300, "core.rule_id_unknown", "the text names no rule";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_code::check_table;
    use crate::ids::{Gs1Ai, NdcLayout};

    /// One value of every variant of every public error type.
    fn one_of_each() -> Vec<(u32, &'static str)> {
        let s = String::new;
        let codes = |e: &dyn ErrorCode| (e.code(), e.id());
        let ndc = NdcError::Syntax {
            input: s(),
            reason: s(),
        };
        let gtin = GtinError::Syntax {
            input: s(),
            reason: s(),
        };
        vec![
            codes(&ndc),
            codes(&NdcError::Ambiguous {
                input: s(),
                candidates: vec![],
            }),
            codes(&NdcError::NotInMaster {
                input: s(),
                candidates: vec![],
            }),
            codes(&NdcError::TooLong {
                input: s(),
                len: 0,
                max: 0,
            }),
            codes(&NdcError::OutOfRange {
                labeler: 0,
                product: 0,
                package: 0,
                layout: NdcLayout::L442,
            }),
            codes(&gtin),
            codes(&GtinError::Length { input: s(), len: 0 }),
            codes(&GtinError::BadCheckDigit {
                input: s(),
                expected: 0,
                found: 0,
            }),
            codes(&GtinError::NotAnNdc {
                gtin: s(),
                prefix: s(),
            }),
            codes(&GtinError::NoTenDigitForm {
                ndc: s(),
                layout: s(),
            }),
            codes(&GtinError::BadIndicator { indicator: 0 }),
            codes(&GtinError::Ndc(ndc)),
            codes(&Gs1Error::TooLong { len: 0, max: 0 }),
            codes(&Gs1Error::UnsupportedSymbology {
                offset: 0,
                found: s(),
            }),
            codes(&Gs1Error::ExpectedAi {
                offset: 0,
                found: s(),
            }),
            codes(&Gs1Error::UnknownAi { ai: s(), offset: 0 }),
            codes(&Gs1Error::DuplicateAi {
                ai: Gs1Ai::Gtin,
                offset: 0,
                first: 0,
            }),
            codes(&Gs1Error::BadField {
                ai: Gs1Ai::Lot,
                offset: 0,
                reason: s(),
            }),
            codes(&Gs1Error::FieldTooLong {
                ai: Gs1Ai::Serial,
                offset: 0,
                len: 0,
                max: 0,
            }),
            codes(&Gs1Error::InvalidChar {
                ai: Gs1Ai::Lot,
                offset: 0,
                found: ' ',
            }),
            codes(&Gs1Error::BadGtin {
                offset: 0,
                error: gtin,
            }),
            codes(&Gs1Error::BadDate {
                offset: 0,
                value: s(),
                reason: s(),
            }),
            codes(&Gs1Error::MissingGtin),
            codes(&Gs1Error::HriSyntax {
                offset: 0,
                reason: s(),
            }),
            codes(&DeaError::Format {
                input: s(),
                reason: "",
            }),
            codes(&DeaError::CheckDigit {
                input: s(),
                expected: 0,
                found: 0,
            }),
            codes(&PharmacyIdError::Syntax { input: s() }),
            codes(&PharmacyIdError::OutOfRange { value: -1 }),
            codes(&DateError::Syntax { input: s() }),
            codes(&DateError::OutOfRange {
                year: 0,
                month: 0,
                day: 0,
            }),
            codes(&DateError::BadTime {
                hour: 0,
                minute: 0,
                second: 0,
            }),
            codes(&PriceError::Negative { input: s() }),
            codes(&PriceError::Syntax { input: s() }),
            codes(&PriceError::TooPrecise { input: s() }),
            codes(&DawCodeError(10)),
            codes(&UnknownRuleId(s())),
            codes(&AllocationError::ZeroQuantity),
            codes(&AllocationError::Insufficient {
                requested: 0,
                available: 0,
            }),
            codes(&AllocationError::NoSingleLot {
                requested: 0,
                largest_lot: 0,
                available: 0,
            }),
            codes(&ForecastError::ZeroWindow),
            codes(&ContractError::TooLarge {
                document: "request",
                size: 0,
                limit: 0,
            }),
            codes(&ContractError::Syntax {
                document: "request",
                line: 0,
                column: 0,
                reason: s(),
            }),
            codes(&ContractError::Invalid {
                document: "request",
                line: 0,
                column: 0,
                reason: s(),
            }),
        ]
    }

    #[test]
    fn the_table_keeps_the_rules() {
        assert_eq!(check_table("core", ERROR_CODES), Ok(()));
        assert!(ERROR_CODES.iter().all(|row| !row.summary.is_empty()));
    }

    #[test]
    fn every_variant_has_its_row_and_every_row_a_variant() {
        let values = one_of_each();
        for (code, id) in &values {
            assert!(
                ERROR_CODES.iter().any(|r| r.code == *code && r.id == *id),
                "{code} {id} is not in ERROR_CODES"
            );
        }
        for row in ERROR_CODES {
            assert!(
                values.contains(&(row.code, row.id)),
                "no value built for {} {}",
                row.code,
                row.id
            );
        }
    }

    #[test]
    fn the_readme_lists_the_table() {
        let readme = include_str!("../README.md");
        for row in ERROR_CODES {
            let line = format!("| {} | `{}` | {} |", row.code, row.id, row.summary);
            assert!(readme.contains(&line), "README.md lacks {line}");
        }
        let rows = readme.lines().filter(|l| l.starts_with("| 1")).count();
        assert_eq!(
            rows,
            ERROR_CODES.len(),
            "README.md lists codes ERROR_CODES lacks"
        );
    }

    #[test]
    fn a_nested_error_reports_its_own_code_and_keeps_the_inner_one() {
        let inner = NdcError::TooLong {
            input: String::new(),
            len: 40,
            max: 32,
        };
        let outer = GtinError::Ndc(inner.clone());
        assert_eq!((outer.code(), outer.id()), (1016, "core.gtin_ndc"));
        let GtinError::Ndc(held) = &outer else {
            unreachable!("built as GtinError::Ndc")
        };
        assert_eq!(held.code(), 1003);
    }
}
