//! Builders for realistic, valid requests; each scenario changes one thing.

use pharm_core::contract::SchemaVersion;
use pharm_core::model::*;
use pharm_core::rules::*;
use pharm_core::time::{Date, DateTime};

pub fn date(s: &str) -> Date {
    s.parse().unwrap()
}

pub fn at(s: &str) -> DateTime {
    s.parse().unwrap()
}

fn product(ndc: &str, name: &str, strength: &str) -> Product {
    Product {
        ndc: ndc.parse().unwrap(),
        name: name.into(),
        strength: strength.into(),
        dosage_form: "tablet".into(),
        rx_only: true,
        schedule: None,
        listed_chemical: None,
        cv_otc_class: None,
        nti: false,
        non_interchangeable_biologic: false,
        brand: false,
        multi_source: true,
        classes: vec![],
        state_reportable: false,
        package: Package {
            size: 90,
            unit: DosageUnit::Each,
        },
        removal_lead_days: 0,
        bud_days: None,
        unit_price: None,
    }
}

/// Atorvastatin 20 mg, generic (non-controlled).
pub fn atorvastatin() -> Product {
    product("0093-7146-56", "Atorvastatin calcium", "20 mg")
}

/// Lipitor 20 mg, multi-source brand.
pub fn lipitor() -> Product {
    Product {
        brand: true,
        ..product("0071-0155-23", "Lipitor", "20 mg")
    }
}

/// Oxycodone 5 mg, CII opioid.
pub fn oxycodone() -> Product {
    Product {
        schedule: Some(Schedule::C2),
        classes: vec![DrugClass::Opioid],
        ..product("0406-0552-01", "Oxycodone HCl", "5 mg")
    }
}

/// Acetaminophen/codeine 300/30, CIII opioid.
pub fn apap_codeine() -> Product {
    Product {
        schedule: Some(Schedule::C3),
        classes: vec![DrugClass::Opioid],
        ..product("0093-0150-01", "Acetaminophen and codeine", "300 mg/30 mg")
    }
}

/// Alprazolam 0.5 mg, CIV benzodiazepine.
pub fn alprazolam() -> Product {
    Product {
        schedule: Some(Schedule::C4),
        classes: vec![DrugClass::Benzodiazepine],
        ..product("0781-1077-01", "Alprazolam", "0.5 mg")
    }
}

/// Pregabalin 75 mg, CV.
pub fn pregabalin() -> Product {
    Product {
        schedule: Some(Schedule::C5),
        classes: vec![DrugClass::Gabapentinoid],
        ..product("0071-1015-68", "Pregabalin", "75 mg")
    }
}

/// Guaifenesin/codeine syrup, CV sold OTC where allowed (mL).
pub fn codeine_syrup() -> Product {
    Product {
        rx_only: false,
        schedule: Some(Schedule::C5),
        cv_otc_class: Some(CvOtcClass::Other),
        dosage_form: "syrup".into(),
        package: Package {
            size: 118,
            unit: DosageUnit::Milliliter,
        },
        ..product(
            "0603-1339-54",
            "Guaifenesin and codeine",
            "100 mg/10 mg per 5 mL",
        )
    }
}

/// Pseudoephedrine HCl 30 mg × 24 (24 577 µg base per tablet).
pub fn pse30() -> Product {
    Product {
        rx_only: false,
        multi_source: false,
        listed_chemical: Some(ListedChemical {
            kind: ListedChemicalKind::Pseudoephedrine,
            base_ug_per_unit: 24_577,
            salt_ug_per_unit: 30_000,
        }),
        package: Package {
            size: 24,
            unit: DosageUnit::Each,
        },
        ..product("0280-0470-24", "Pseudoephedrine HCl", "30 mg")
    }
}

/// Ibuprofen 200 mg OTC.
pub fn ibuprofen() -> Product {
    Product {
        rx_only: false,
        ..product("0573-0164-40", "Ibuprofen", "200 mg")
    }
}

pub fn address() -> Address {
    Address {
        line1: "1 Main St".into(),
        city: "Austin".into(),
        state: "TX".into(),
        zip: "78701".into(),
    }
}

pub fn prescriber() -> Prescriber {
    Prescriber {
        first_name: "Bo".into(),
        last_name: "Brown".into(),
        address: Some(address()),
        dea: Some("AB1234563".into()),
        npi: Some("1234567893".into()),
        registration: Some(DeaRegistration {
            expires: date("2028-01-31"),
            active: true,
            schedules: vec![Schedule::C2, Schedule::C3, Schedule::C4, Schedule::C5],
            fetched_at: at("2026-02-20T08:00:00"),
        }),
    }
}

pub fn patient() -> Patient {
    Patient {
        id: "P-1".into(),
        first_name: "Ana".into(),
        last_name: "Diaz".into(),
        address: Some(address()),
        birth_date: Some(date("1970-05-01")),
        new_patient: false,
    }
}

/// A complete, signed electronic prescription issued 2026-03-01 for 30 units / 30 days.
pub fn rx(p: &Product, refills: u32) -> Prescription {
    Prescription {
        rx_number: "RX-100".into(),
        patient: patient(),
        prescriber: prescriber(),
        prescribed_ndc: p.ndc,
        drug_name: p.name.clone(),
        strength: p.strength.clone(),
        dosage_form: p.dosage_form.clone(),
        quantity: 30,
        days_supply: 30,
        directions: "1 tablet daily".into(),
        max_daily_units: Some(1),
        refills_authorized: refills,
        issue_date: date("2026-03-01"),
        issued_at: Some(at("2026-03-01T09:00:00")),
        earliest_fill_date: None,
        signed: true,
        origin: RxOrigin::Electronic,
        emergency_period_days: None,
        emergency_followup: None,
        special_population: SpecialPopulation::None,
        prescriber_partial_quantity: None,
        may_fill_up_to_days: None,
        daw: DawCode::NoSelection,
        fills: vec![],
        transfers: vec![],
        void: false,
    }
}

pub fn fill_record(when: &str, quantity: u32, p: &Product) -> Fill {
    Fill {
        at: at(when),
        quantity,
        days_supply: quantity,
        ndc: p.ndc,
        partial: None,
        fill_number: None,
    }
}

/// Fill `quantity` units of `rx`'s product for `quantity` days, no lots.
pub fn fill(rx: Prescription, p: &Product, quantity: u32) -> FillRequest {
    FillRequest {
        schema_version: SchemaVersion::CURRENT,
        prescription: rx,
        prescribed: p.clone(),
        dispensed: p.clone(),
        quantity,
        days_supply: quantity,
        picks: vec![],
        lots: vec![],
        partial: None,
        payment: Payment::Cash,
        pmp: PmpStatus::NotQueried,
        dur_alerts: vec![],
        dscsa: None,
        overrides: vec![],
    }
}

pub fn ctx(now: &str) -> Context {
    Context::new(at(now), StateProfile::federal())
}

pub fn ctx_in(now: &str, profile: StateProfile) -> Context {
    Context::new(at(now), profile)
}

pub fn offline(mut c: Context, since: &str) -> Context {
    c.connectivity = Connectivity::Offline { since: at(since) };
    c
}

pub fn lot(p: &Product, number: &str, expiry: &str, on_hand: i64) -> Lot {
    Lot {
        ndc: p.ndc,
        lot_number: number.into(),
        expiry: expiry.parse().unwrap(),
        status: LotStatus::Active,
        on_hand,
        received: None,
    }
}

pub fn eval_fill(r: &FillRequest, c: &Context) -> Decision {
    evaluate(&Request::Fill(r.clone()), c)
}

/// The outcome of `rule` in `d` (the most severe if raised more than once).
pub fn outcome_of(d: &Decision, rule: &str) -> Option<Outcome> {
    d.findings
        .iter()
        .filter(|f| f.rule.as_str() == rule)
        .map(|f| f.outcome)
        .max()
}

/// Asserts `rule` has `expected` outcome in `d` (None = not raised), naming the case.
#[track_caller]
pub fn expect(case: &str, d: &Decision, rule: &str, expected: Option<Outcome>) {
    let got = outcome_of(d, rule);
    assert_eq!(
        got, expected,
        "case {case:?}: {rule} expected {expected:?}, got {got:?}; findings: {:#?}",
        d.findings
    );
}

pub use Outcome::{Allow, Block, RequireOverride, Warn};
