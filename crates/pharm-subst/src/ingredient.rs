//! Orange Book ingredient names: splitting the `Ingredient` list and comparing names by
//! active moiety.
//!
//! # Lists
//! The `Ingredient` column joins several ingredients with `"; "` in alphabetical order
//! (`AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM`). A `;` inside parentheses belongs to a
//! name, so [`split_ingredient_list`] splits only at `;` outside parentheses.
//!
//! # Active moiety
//! 21 CFR 314.3(b) defines the active moiety as the molecule or ion *excluding* the appended
//! portions that make the drug an ester, salt or other noncovalent derivative. On Orange Book
//! names that is: drop the trailing salt, ester and hydrate words ([`SALT_WORDS`]) and
//! compare **all** the words that are left, so
//!
//! * `LEVOTHYROXINE SODIUM` and `LEVOTHYROXINE` share the moiety `LEVOTHYROXINE`;
//!   `WARFARIN SODIUM` and `WARFARIN POTASSIUM` share `WARFARIN`; `LITHIUM CARBONATE` and
//!   `LITHIUM CITRATE` share `LITHIUM` (lithium is the drug, not a counter-ion);
//! * `ESTROGENS, CONJUGATED` and `ESTROGENS, ESTERIFIED` differ (no salt word to drop, and
//!   the names differ);
//! * a name made of salt words only, an inorganic salt such as `POTASSIUM CHLORIDE` or
//!   `CALCIUM ACETATE`, is its own moiety: `POTASSIUM CHLORIDE` and `POTASSIUM CITRATE`
//!   differ, and neither matches `LOSARTAN POTASSIUM`;
//! * a name written as alternatives with `/` (`CEFADROXIL/CEFADROXIL HEMIHYDRATE`) has the
//!   moieties of each alternative.
//!
//! Case and runs of whitespace are ignored. Only *trailing* salt words are dropped
//! (`SODIUM OXYBATE` keeps its name). Names are compared, not chemistry: two names of one
//! moiety that differ in more than salt words (`VALPROIC ACID`, `DIVALPROEX SODIUM`) do not
//! match, so a state list must name each of them.

/// Words dropped from the end of an ingredient name to find its active moiety: counter-ions,
/// ester groups and hydrates as the Orange Book spells them. Sorted (binary search).
/// `LITHIUM` is deliberately absent: in `LITHIUM CARBONATE` lithium is the active ion.
pub const SALT_WORDS: &[&str] = &[
    "ACETATE",
    "ANHYDROUS",
    "ASPARTATE",
    "BENZATHINE",
    "BENZOATE",
    "BESYLATE",
    "BICARBONATE",
    "BISULFATE",
    "BITARTRATE",
    "BROMIDE",
    "BUTYRATE",
    "CALCIUM",
    "CAMSYLATE",
    "CARBONATE",
    "CHLORIDE",
    "CITRATE",
    "CYPIONATE",
    "DECANOATE",
    "DIACETATE",
    "DIHYDRATE",
    "DIHYDROCHLORIDE",
    "DIPOTASSIUM",
    "DIPROPIONATE",
    "DISODIUM",
    "EDISYLATE",
    "ENANTHATE",
    "ERBUMINE",
    "ESTOLATE",
    "ESYLATE",
    "ETHYLSUCCINATE",
    "FUMARATE",
    "FUROATE",
    "GLUCEPTATE",
    "GLUCONATE",
    "HEMIFUMARATE",
    "HEMIHYDRATE",
    "HYCLATE",
    "HYDRATE",
    "HYDROBROMIDE",
    "HYDROCHLORIDE",
    "HYDROIODIDE",
    "IODIDE",
    "ISETHIONATE",
    "LACTATE",
    "LACTOBIONATE",
    "MAGNESIUM",
    "MALATE",
    "MALEATE",
    "MANDELATE",
    "MEGLUMINE",
    "MESYLATE",
    "METHYLSULFATE",
    "MONOHYDRATE",
    "NAPSYLATE",
    "NITRATE",
    "OLAMINE",
    "OXALATE",
    "PALMITATE",
    "PAMOATE",
    "PHOSPHATE",
    "POLISTIREX",
    "POTASSIUM",
    "PROPIONATE",
    "SACCHARATE",
    "SALICYLATE",
    "SESQUIHYDRATE",
    "SODIUM",
    "STEARATE",
    "SUCCINATE",
    "SULFATE",
    "TARTRATE",
    "TOSYLATE",
    "TRIHYDRATE",
    "TROMETHAMINE",
    "UNDECANOATE",
    "VALERATE",
    "XINAFOATE",
];

/// Splits an `Ingredient` field at every `;` outside parentheses, trimming each name.
/// `None` when a name is empty or the parentheses do not balance (a `)` before its `(`, or
/// a `(` never closed): the caller reports the field, nothing is guessed.
pub fn split_ingredient_list(field: &str) -> Option<Vec<String>> {
    let mut names = Vec::with_capacity(1);
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in field.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ';' if depth == 0 => {
                names.push(non_empty_name(&field[start..i])?);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    names.push(non_empty_name(&field[start..])?);
    Some(names)
}

fn non_empty_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn is_salt_word(word: &str) -> bool {
    SALT_WORDS
        .binary_search_by(|w| cmp_ignore_ascii_case(w, word))
        .is_ok()
}

fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

/// The words of one name (no `/`) that make up its active moiety.
fn moiety_words(name: &str) -> impl Iterator<Item = &str> {
    let total = name.split_whitespace().count();
    let salts = name
        .split_whitespace()
        .rev()
        .take_while(|w| is_salt_word(w))
        .count();
    let keep = if salts == total { total } else { total - salts };
    name.split_whitespace().take(keep)
}

fn same_single(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (moiety_words(a), moiety_words(b));
    let mut any = false;
    loop {
        match (x.next(), y.next()) {
            (None, None) => return any,
            (Some(p), Some(q)) if p.eq_ignore_ascii_case(q) => any = true,
            _ => return false,
        }
    }
}

/// Whether two ingredient names (or a name and a state-list entry) have the same active
/// moiety, as described in the [module docs](self). Blank names match nothing.
pub fn same_active_moiety(a: &str, b: &str) -> bool {
    a.split('/')
        .any(|x| b.split('/').any(|y| same_single(x, y)))
}

/// The active moiety of a name, upper-cased with single spaces (for display; compare with
/// [`same_active_moiety`], which also handles `/` alternatives).
pub fn active_moiety(name: &str) -> String {
    name.split('/')
        .map(|alt| {
            moiety_words(alt)
                .map(str::to_ascii_uppercase)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_ingredient_list(s)
    }

    #[test]
    fn salt_words_are_sorted_and_upper_case() {
        assert!(SALT_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(
            SALT_WORDS
                .iter()
                .all(|w| w.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn lists_split_outside_parentheses_only() {
        assert_eq!(split("LORAZEPAM").unwrap(), ["LORAZEPAM"]);
        assert_eq!(
            split("AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM").unwrap(),
            ["AMLODIPINE BESYLATE", "ATORVASTATIN CALCIUM"]
        );
        assert_eq!(
            split("POLYMYXIN B (A; B) SULFATE; TRIMETHOPRIM").unwrap(),
            ["POLYMYXIN B (A; B) SULFATE", "TRIMETHOPRIM"]
        );
        assert_eq!(split("X ((A; B); C); Y").unwrap(), ["X ((A; B); C)", "Y"]);
        for bad in ["", "A; ", "; A", "A;; B", "A (B; C", "A) B; C", "A (B)) (C"] {
            assert_eq!(split(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn moieties() {
        let same = |a, b| same_active_moiety(a, b);
        assert!(same("LEVOTHYROXINE SODIUM", "LEVOTHYROXINE SODIUM"));
        assert!(same("LEVOTHYROXINE SODIUM", "levothyroxine"));
        assert!(same("PHENYTOIN SODIUM", "PHENYTOIN"));
        assert!(same("WARFARIN SODIUM", "WARFARIN  POTASSIUM"));
        assert!(same("LITHIUM CARBONATE", "LITHIUM CITRATE"));
        assert!(same(
            "METHYLPREDNISOLONE ACETATE",
            "METHYLPREDNISOLONE SODIUM SUCCINATE"
        ));
        assert!(same("CEFADROXIL/CEFADROXIL HEMIHYDRATE", "CEFADROXIL"));
        assert!(!same("ESTROGENS, CONJUGATED", "ESTROGENS, ESTERIFIED"));
        assert!(!same(
            "ESTROGENS, CONJUGATED",
            "ESTROGENS, CONJUGATED SYNTHETIC A"
        ));
        assert!(!same("POTASSIUM CHLORIDE", "POTASSIUM CITRATE"));
        assert!(!same("POTASSIUM CHLORIDE", "LOSARTAN POTASSIUM"));
        assert!(!same("POTASSIUM CHLORIDE", "POTASSIUM"));
        assert!(same("POTASSIUM CHLORIDE", "potassium  chloride"));
        assert!(!same("SODIUM OXYBATE", "OXYBATE"));
        assert!(!same(
            "METHYLPHENIDATE HYDROCHLORIDE",
            "DEXMETHYLPHENIDATE HYDROCHLORIDE"
        ));
        assert!(!same("VALPROIC ACID", "DIVALPROEX SODIUM"));
        assert!(!same("", ""));
        assert!(!same("  ", "LORAZEPAM"));
        assert_eq!(active_moiety("Levothyroxine  Sodium"), "LEVOTHYROXINE");
        assert_eq!(active_moiety("POTASSIUM CHLORIDE"), "POTASSIUM CHLORIDE");
        assert_eq!(
            active_moiety("CEFADROXIL/CEFADROXIL HEMIHYDRATE"),
            "CEFADROXIL/CEFADROXIL"
        );
    }

    fn base() -> impl Strategy<Value = String> {
        prop::collection::vec("[A-Z]{3,10}", 1..4)
            .prop_filter("not a salt word", |ws| ws.iter().all(|w| !is_salt_word(w)))
            .prop_map(|ws| ws.join(" "))
    }

    fn salts() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(prop::sample::select(SALT_WORDS), 0..3)
    }

    /// `base` followed by `salts`, joined by `sep`.
    fn salted(base: &str, salts: &[&str], sep: &str) -> String {
        [base]
            .iter()
            .chain(salts)
            .copied()
            .collect::<Vec<_>>()
            .join(sep)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn salt_words_do_not_change_the_moiety(b in base(), s1 in salts(), s2 in salts()) {
            let x = salted(&b, &s1, " ");
            let y = salted(&b, &s2, "  ").to_lowercase();
            prop_assert!(same_active_moiety(&x, &y));
            prop_assert_eq!(active_moiety(&x), b);
        }

        #[test]
        fn different_bases_never_match(a in base(), b in base(), s in salts()) {
            prop_assume!(a != b);
            prop_assert!(!same_active_moiety(&salted(&a, &s, " "), &salted(&b, &s, " ")));
        }

        #[test]
        fn matching_is_symmetric(a in "[A-Z /,]{0,30}", b in "[A-Z /,]{0,30}") {
            prop_assert_eq!(same_active_moiety(&a, &b), same_active_moiety(&b, &a));
        }

        #[test]
        fn split_then_join_round_trips(names in prop::collection::vec("[A-Z]{1,6}( \\([A-Z;]{0,4}\\))?", 1..4)) {
            let field = names.join("; ");
            prop_assert_eq!(split_ingredient_list(&field).unwrap(), names);
        }
    }
}
