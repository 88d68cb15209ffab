//! Reference vectors for the identifier functions of rule table §9.8 and §1.5, checked
//! through the public API only (`pharm_core::ids`).

use std::collections::HashSet;

use pharm_core::ids::{
    DataMatrix, DeaError, DeaNumber, Gs1Error, Gtin, GtinError, Ndc, NdcError, NdcLayout,
    ProductMaster, dea_check_digit, gs1_check_digit, parse_datamatrix, parse_human_readable,
    resolve_unsegmented,
};
use pharm_core::time::Date;

fn ndc(s: &str) -> Ndc {
    s.parse().unwrap()
}

/// NDC-10TO11-01: the §3.2 padding table.
#[test]
fn ndc_10_to_11_table() {
    for (ten, layout, eleven, hyphenated) in [
        (
            "0002-7597-01",
            NdcLayout::L442,
            "00002759701",
            "00002-7597-01",
        ),
        (
            "50242-040-62",
            NdcLayout::L532,
            "50242004062",
            "50242-0040-62",
        ),
        (
            "60575-4112-1",
            NdcLayout::L541,
            "60575411201",
            "60575-4112-01",
        ),
    ] {
        let n = ndc(ten);
        assert_eq!(n.layout(), layout);
        assert_eq!(n.to_string(), ten);
        assert_eq!(n.ndc11().as_deref(), Some(eleven));
        assert_eq!(n.ndc11_hyphenated().as_deref(), Some(hyphenated));
        assert_eq!(ndc(eleven), n);
        assert_eq!(ndc(hyphenated), n);
        assert_eq!(ndc(&n.ndc12()), n);
    }
    // The lib.rs example.
    assert_eq!(ndc("0093-7146-56").ndc11().as_deref(), Some("00093714656"));
}

/// NDC-AMBIG-01: §3.3 item 1.
#[test]
fn ndc_unhyphenated_ten_digits_are_never_guessed() {
    let err = "0002759701".parse::<Ndc>().unwrap_err();
    let NdcError::Ambiguous { candidates, .. } = &err else {
        panic!("{err:?}");
    };
    let elevens: Vec<String> = candidates.iter().filter_map(Ndc::ndc11).collect();
    assert_eq!(elevens, ["00002759701", "00027059701", "00027597001"]);

    let master: HashSet<Ndc> = [ndc("00027-0597-01")].into();
    let resolved = resolve_unsegmented("0002759701", &master).unwrap();
    assert_eq!(resolved.to_string(), "00027-597-01");
    assert!(matches!(
        resolve_unsegmented("0002759701", &HashSet::new()),
        Err(NdcError::NotInMaster { .. })
    ));
}

/// §3.3 item 2 and §3.6.
#[test]
fn ndc_placeholder_and_twelve_digit_forms() {
    assert_eq!(ndc("12345-*678-90").to_string(), "12345-678-90");
    assert_eq!(ndc("0002-7597-01").ndc12(), "000002759701");
    assert_eq!(ndc("000002-7597-01"), ndc("0002-7597-01"));
    assert_eq!(ndc("123456-7890-12").ndc11(), None);
}

#[test]
fn product_master_impls() {
    fn knows(master: &(impl ProductMaster + ?Sized), n: &Ndc) -> bool {
        master.contains_ndc(n)
    }
    let n = ndc("0002-7597-01");
    let v = vec![ndc("00002-7597-01")];
    assert!(knows(&v, &n));
    assert!(knows(v.as_slice(), &n));
    assert!(knows(&|x: &Ndc| x.labeler() == 2, &n));
    let set: HashSet<Ndc> = v.iter().copied().collect();
    assert!(knows(&set, &n));
}

/// NDC-GTIN-01: §3.4 vectors.
#[test]
fn gtin_vectors() {
    let n = ndc("0002-7597-01");
    assert_eq!(Gtin::from_ndc(&n, 0).unwrap().to_string(), "00300027597010");
    assert_eq!(Gtin::from_ndc(&n, 5).unwrap().to_string(), "50300027597015");
    let upc: Gtin = "300027597010".parse().unwrap();
    assert_eq!(upc.to_string(), "00300027597010");
    assert_eq!(upc.ndc10_digits().as_deref(), Some("0002759701"));
    assert_eq!(upc.to_ndc(&vec![n]).unwrap(), n);
    assert_eq!(gs1_check_digit(&[3, 0, 0, 0, 2, 7, 5, 9, 7, 0, 1]), 0);
    assert!(matches!(
        "300027597011".parse::<Gtin>(),
        Err(GtinError::BadCheckDigit {
            expected: 0,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        "4006381333931".parse::<Gtin>().unwrap().to_ndc(&vec![n]),
        Err(GtinError::NotAnNdc { .. })
    ));
}

/// GS1-DM-01: §3.5 example and day 00.
#[test]
fn datamatrix_vectors() {
    let example =
        "]d2".to_owned() + "0100300027597010" + "17270531" + "10A123B\u{1d}" + "21100000012345";
    let dm = parse_datamatrix(&example).unwrap();
    assert_eq!(dm.gtin.to_string(), "00300027597010");
    assert_eq!(dm.expiry, Some(Date::from_ymd(2027, 5, 31).unwrap()));
    assert_eq!(dm.lot.as_deref(), Some("A123B"));
    assert_eq!(dm.serial.as_deref(), Some("100000012345"));
    // A GS after a fixed-length field is tolerated.
    let extra_gs = "]d2010030002759701017270531\u{1d}10A123B\u{1d}21100000012345";
    assert_eq!(extra_gs.parse::<DataMatrix>().unwrap(), dm);
    let hri = "(01)00300027597010(17)270531(10)A123B(21)100000012345";
    assert_eq!(parse_human_readable(hri).unwrap(), dm);

    let feb = parse_datamatrix("]d2010030002759701017270200").unwrap();
    assert_eq!(feb.expiry, Some(Date::end_of_month(2027, 2).unwrap()));
    assert!(matches!(
        parse_datamatrix("]d21727053110A123B"),
        Err(Gs1Error::MissingGtin)
    ));
}

/// §1.5 worked examples and the documented blind spot of the check digit.
#[test]
fn dea_vectors() {
    assert!("AB1234563".parse::<DeaNumber>().is_ok());
    assert!("AP5836727".parse::<DeaNumber>().is_ok());
    assert_eq!(
        "AB1234564".parse::<DeaNumber>().unwrap_err(),
        DeaError::CheckDigit {
            input: "AB1234564".into(),
            expected: 3,
            found: 4
        }
    );
    assert_eq!(dea_check_digit([5, 8, 3, 6, 7, 2]), 7);
    let inst: DeaNumber = "F91234563-001AB".parse().unwrap();
    assert_eq!(inst.base(), "F91234563");
    assert_eq!(inst.suffix(), Some("001AB"));
    assert!(inst.matches_last_name("Anyone"));
    // d2 changed by 5 (2 → 7) keeps the weighted sum mod 10: not detectable.
    assert!("AB1734563".parse::<DeaNumber>().is_ok());
}

#[test]
fn serde_uses_display_text() {
    let n = ndc("0002-7597-01");
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"0002-7597-01\"");
    let g = Gtin::from_ndc(&n, 0).unwrap();
    assert_eq!(serde_json::to_string(&g).unwrap(), "\"00300027597010\"");
    let d: DeaNumber = "ab1234563".parse().unwrap();
    assert_eq!(serde_json::to_string(&d).unwrap(), "\"AB1234563\"");
    assert!(serde_json::from_str::<DeaNumber>("\"AB1234564\"").is_err());
}
