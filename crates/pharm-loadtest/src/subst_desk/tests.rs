//! The desk on the generated release and on real FDA rows.

use std::time::Instant;

use super::*;

/// Real rows of the FDA `products.txt` (atorvastatin, levothyroxine, tadalafil …), shared
/// with pharm-subst's tests.
const SAMPLE: &[u8] = include_bytes!("../../../pharm-subst/testdata/products-sample.txt");

fn desk() -> SubstDesk {
    SubstDesk::generated(DEFAULT_SEED).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn generated_desk_is_full_size_and_shareable() {
    assert_send_sync::<SubstDesk>();
    let started = Instant::now();
    let desk = desk();
    eprintln!("SubstDesk::generated: {:?}", started.elapsed());
    assert_eq!(desk.products(), DEFAULT_ROWS);
    assert_eq!(desk.len(), DRAW_KEYS);
    assert!(!desk.is_empty());
}

#[test]
fn lookups_are_deterministic_and_find_choices() {
    let desk = desk();
    let today = business_day();
    let run = |seed| {
        let mut rng = XorShift64::new(seed);
        (0..500)
            .map(|_| desk.lookup(&mut rng, today))
            .collect::<Vec<_>>()
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
    assert!(a.iter().all(|l| l.choices >= 1 && !l.degraded));
    let multi: Vec<_> = a.iter().filter(|l| !l.single_source).collect();
    let single = a.len() - multi.len();
    assert!(multi.len() > 250 && single > 50, "{} multi", multi.len());
    assert!(multi.iter().any(|l| l.choices >= 14));
    assert!(
        multi.iter().all(|l| l.choices >= 2),
        "a multi-source draw finds equivalents"
    );

    let mut rng = XorShift64::new(11);
    let started = Instant::now();
    let n = 20_000;
    let total: usize = (0..n).map(|_| desk.lookup(&mut rng, today).choices).sum();
    eprintln!(
        "SubstDesk::lookup: {:?} each ({total} choices over {n})",
        started.elapsed() / n
    );
}

#[test]
fn a_stale_release_answers_the_product_as_written() {
    let desk = desk();
    let late = business_day().add_days(i64::from(MAX_AGE_DAYS));
    let mut rng = XorShift64::new(3);
    for _ in 0..200 {
        let lookup = desk.lookup(&mut rng, late);
        assert!(lookup.degraded && lookup.choices <= 1, "{lookup:?}");
    }
}

#[test]
fn real_rows_load_and_answer() {
    let desk =
        SubstDesk::from_products(SAMPLE, "products-sample.txt").unwrap_or_else(|e| panic!("{e}"));
    assert!(desk.products() > 40);
    let mut rng = XorShift64::new(5);
    let lookups: Vec<_> = (0..200)
        .map(|_| desk.lookup(&mut rng, business_day()))
        .collect();
    assert!(lookups.iter().all(|l| l.choices >= 1));
    assert!(lookups.iter().any(|l| !l.single_source && l.choices >= 2));
}

#[test]
fn bad_bytes_are_typed_errors_naming_the_input() {
    match SubstDesk::from_products(b"\x00\xffnot an orange book\n", "garbage.txt") {
        Err(e @ DeskError::Parse { .. }) => assert!(
            e.to_string()
                .starts_with("garbage.txt: products.txt refused: "),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }

    let header_only = b"Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name\n";
    assert!(matches!(
        SubstDesk::from_products(header_only, "empty.txt"),
        Err(DeskError::NoRxProducts { input }) if input == "empty.txt"
    ));

    let mut truncated = SAMPLE.to_vec();
    truncated.extend_from_slice(b"ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN\n");
    assert!(matches!(
        SubstDesk::from_products(&truncated, "truncated.txt"),
        Err(DeskError::Parse { .. })
    ));
}
