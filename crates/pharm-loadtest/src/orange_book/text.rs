//! How the generator spells values: amounts, strengths, approval dates, TE code sets.

use crate::rng::XorShift64;

use super::words::{MONTHS, Style};

/// `0.025`, `10`, `2.5` from thousandths.
pub(super) fn milli(v: u32) -> String {
    let (int, frac) = (v / 1000, v % 1000);
    if frac == 0 {
        int.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{int}.{}", f.trim_end_matches('0'))
    }
}

pub(super) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `Mon D, YYYY`, or the pre-1982 literal.
pub(super) fn approval_text(rng: &mut XorShift64, year: u32) -> String {
    if year < 1982 {
        return "Approved Prior to Jan 1, 1982".to_string();
    }
    let month = if year >= 2026 {
        rng.range(1, 5)
    } else {
        rng.range(1, 12)
    };
    let last = if year >= 2026 && month == 5 {
        27
    } else {
        days_in_month(year, month)
    };
    let day = rng.range(1, last);
    format!("{} {day}, {year}", MONTHS[(month - 1) as usize])
}

pub(super) fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn strength_amount(style: Style, v: u32, eq: bool) -> String {
    let n = milli(v);
    match (style, eq) {
        (Style::Solid, true) => format!("EQ {n}MG BASE"),
        (Style::Solid, false) => format!("{n}MG"),
        (Style::OralLiquid, true) => format!("EQ {n}MG BASE/5ML"),
        (Style::OralLiquid, false) => format!("{n}MG/5ML"),
        (Style::PerMl, true) => format!("EQ {n}MG BASE/ML"),
        (Style::PerMl, false) => format!("{n}MG/ML"),
        (Style::Vial, eq) => {
            let amount = if v >= 1_000_000 {
                format!("{}GM", milli(v / 1000))
            } else {
                format!("{n}MG")
            };
            if eq {
                format!("EQ {amount} BASE/VIAL")
            } else {
                format!("{amount}/VIAL")
            }
        }
        (Style::Percent, _) => format!("{n}%"),
        (Style::Inhaler, true) => format!("EQ {n}MG BASE/INH"),
        (Style::Inhaler, false) => format!("{n}MG/INH"),
        (Style::Nasal, _) => format!("{n}MG/SPRAY"),
        (Style::Transdermal, _) => format!("{n}MG/24HR"),
    }
}

pub(super) fn codes_text(family: &str, codes: &[u8]) -> String {
    if codes.is_empty() {
        return family.to_string();
    }
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .iter()
        .map(|n| format!("{family}{n}"))
        .collect::<Vec<_>>()
        .join(",")
}
