//! The store's reference data: products, prescribers, patients, lots, payers, and small
//! builders for prescriptions and requests.
//!
//! Every value is realistic and valid unless a scenario changes one thing on purpose:
//! prescriptions are complete and signed, DEA numbers have valid check digits and match
//! the prescriber's last name, registrations were fetched a few days before the demo day.

use pharm_core::contract::SchemaVersion;
use pharm_core::fefo::{AllocationPolicy, allocate};
use pharm_core::ids::{Ndc, PharmacyId};
use pharm_core::model::{
    Address, CvOtcClass, DawCode, DeaRegistration, DosageUnit, DrugClass, Expiry, Fill,
    ListedChemical, ListedChemicalKind, Lot, LotStatus, Package, Patient, PhotoId, Prescriber,
    Prescription, Product, Purchaser, RxOrigin, Schedule, SpecialPopulation,
};
use pharm_core::rules::{
    Connectivity, Context, FillRequest, LogbookEntry, LotPick, NplexResult, OtcSaleRequest,
    Override, Payment, PmpStatus, StateProfile,
};
use pharm_core::time::{Date, DateTime};

/// The demo day (a Wednesday).
pub const DAY: &str = "2026-04-15";

/// Id of the Texas store the demo day runs in.
pub const STORE_ID: PharmacyId = PharmacyId::new(417);

/// Name of the Texas store the demo day runs in, as the demo prints it.
pub const STORE_NAME: &str = "TX-0417";

/// Id of the store each other state's preset context runs in.
pub const PRESET_STORE_ID: PharmacyId = PharmacyId::new(101);

/// Parses a constant `YYYY-MM-DD` literal.
pub fn date(s: &str) -> Date {
    s.parse().expect("constant date literal")
}

/// Parses a constant `YYYY-MM-DDTHH:MM:SS` literal.
pub fn at(s: &str) -> DateTime {
    s.parse().expect("constant timestamp literal")
}

/// Parses a constant NDC literal.
pub fn ndc(s: &str) -> Ndc {
    s.parse().expect("constant NDC literal")
}

/// The demo day as a [`Date`].
pub fn day() -> Date {
    date(DAY)
}

/// `minute` minutes after midnight on `day` (clamped to the last minute of the day).
pub fn time_of_day(day: Date, minute: u32) -> DateTime {
    let minute = minute.min(24 * 60 - 1);
    DateTime::new(day, minute / 60, minute % 60, 0).unwrap_or_else(|_| day.start())
}

/// `hh:mm` on the demo day.
pub fn hm(hour: u32, minute: u32) -> DateTime {
    time_of_day(day(), hour * 60 + minute)
}

/// `days` days before `t`, same time of day.
pub fn days_before(t: DateTime, days: i64) -> DateTime {
    t.add_hours(-24 * days)
}

/// Minutes between midnight and `t`.
pub fn minute_of_day(t: DateTime) -> u32 {
    let secs = t.seconds_since(t.date().start());
    u32::try_from(secs / 60).unwrap_or(0)
}

fn tablet(ndc_text: &str, name: &str, strength: &str, size: u32) -> Product {
    Product {
        ndc: ndc(ndc_text),
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
            size,
            unit: DosageUnit::Each,
        },
        removal_lead_days: 0,
        bud_days: None,
        unit_price: None,
    }
}

/// Atorvastatin 20 mg, generic statin.
pub fn atorvastatin() -> Product {
    tablet("0093-7146-56", "Atorvastatin calcium", "20 mg", 90)
}

/// Lipitor 20 mg, the multi-source brand of atorvastatin.
pub fn lipitor() -> Product {
    Product {
        brand: true,
        ..tablet("0071-0155-23", "Lipitor", "20 mg", 90)
    }
}

/// Lisinopril 10 mg.
pub fn lisinopril() -> Product {
    tablet("68180-513-01", "Lisinopril", "10 mg", 90)
}

/// Metformin 500 mg (taken twice daily).
pub fn metformin() -> Product {
    tablet("65162-175-10", "Metformin HCl", "500 mg", 100)
}

/// Amlodipine 5 mg.
pub fn amlodipine() -> Product {
    tablet("67877-199-90", "Amlodipine besylate", "5 mg", 90)
}

/// Sertraline 50 mg.
pub fn sertraline() -> Product {
    tablet("16714-612-01", "Sertraline HCl", "50 mg", 30)
}

/// Omeprazole 20 mg delayed-release capsules.
pub fn omeprazole() -> Product {
    Product {
        dosage_form: "capsule".into(),
        ..tablet("62175-118-37", "Omeprazole DR", "20 mg", 30)
    }
}

/// Levothyroxine 50 mcg, generic (narrow therapeutic index).
pub fn levothyroxine() -> Product {
    Product {
        nti: true,
        removal_lead_days: 30,
        ..tablet("0378-1800-01", "Levothyroxine sodium", "50 mcg", 90)
    }
}

/// Synthroid 50 mcg, brand levothyroxine (NTI).
pub fn synthroid() -> Product {
    Product {
        nti: true,
        brand: true,
        ..tablet("0074-6624-90", "Synthroid", "50 mcg", 90)
    }
}

/// Amoxicillin 400 mg/5 mL suspension: reconstituted, 14-day beyond-use date.
pub fn amoxicillin_suspension() -> Product {
    Product {
        dosage_form: "suspension".into(),
        package: Package {
            size: 100,
            unit: DosageUnit::Milliliter,
        },
        bud_days: Some(14),
        ..tablet("0781-6156-46", "Amoxicillin", "400 mg/5 mL", 100)
    }
}

/// Oxycodone 5 mg, CII opioid.
pub fn oxycodone() -> Product {
    Product {
        schedule: Some(Schedule::C2),
        classes: vec![DrugClass::Opioid],
        ..tablet("0406-0552-01", "Oxycodone HCl", "5 mg", 100)
    }
}

/// Hydrocodone/acetaminophen 5/325 mg, CII opioid.
pub fn hydrocodone_apap() -> Product {
    Product {
        schedule: Some(Schedule::C2),
        classes: vec![DrugClass::Opioid],
        ..tablet(
            "0406-0123-01",
            "Hydrocodone bitartrate and acetaminophen",
            "5 mg/325 mg",
            100,
        )
    }
}

/// Methylphenidate ER 36 mg, CII stimulant (no Texas PMP query mandate).
pub fn methylphenidate() -> Product {
    Product {
        schedule: Some(Schedule::C2),
        classes: vec![DrugClass::Stimulant],
        multi_source: false,
        ..tablet("0591-2718-01", "Methylphenidate HCl ER", "36 mg", 100)
    }
}

/// Acetaminophen/codeine 300/30 mg, CIII opioid.
pub fn apap_codeine() -> Product {
    Product {
        schedule: Some(Schedule::C3),
        classes: vec![DrugClass::Opioid],
        ..tablet(
            "0093-0150-01",
            "Acetaminophen and codeine",
            "300 mg/30 mg",
            100,
        )
    }
}

/// Alprazolam 0.5 mg, CIV benzodiazepine.
pub fn alprazolam() -> Product {
    Product {
        schedule: Some(Schedule::C4),
        classes: vec![DrugClass::Benzodiazepine],
        ..tablet("0781-1077-01", "Alprazolam", "0.5 mg", 100)
    }
}

/// Zolpidem 10 mg, CIV hypnotic (no Texas PMP query mandate).
pub fn zolpidem() -> Product {
    Product {
        schedule: Some(Schedule::C4),
        ..tablet("0093-0073-01", "Zolpidem tartrate", "10 mg", 100)
    }
}

/// Pregabalin 75 mg capsules, CV gabapentinoid.
pub fn pregabalin() -> Product {
    Product {
        schedule: Some(Schedule::C5),
        classes: vec![DrugClass::Gabapentinoid],
        dosage_form: "capsule".into(),
        ..tablet("0071-1015-68", "Pregabalin", "75 mg", 90)
    }
}

/// Guaifenesin/codeine syrup, a CV sold without a prescription where allowed (mL).
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
        ..tablet(
            "0603-1339-54",
            "Guaifenesin and codeine",
            "100 mg/10 mg per 5 mL",
            118,
        )
    }
}

/// Pseudoephedrine HCl 30 mg × 24 (24 577 µg base per tablet, 589.8 mg per box).
pub fn pse30() -> Product {
    Product {
        rx_only: false,
        multi_source: false,
        listed_chemical: Some(ListedChemical {
            kind: ListedChemicalKind::Pseudoephedrine,
            base_ug_per_unit: 24_577,
            salt_ug_per_unit: 30_000,
        }),
        ..tablet("0280-0470-24", "Pseudoephedrine HCl", "30 mg", 24)
    }
}

/// Ibuprofen 200 mg × 100, OTC.
pub fn ibuprofen() -> Product {
    Product {
        rx_only: false,
        ..tablet("0573-0164-40", "Ibuprofen", "200 mg", 100)
    }
}

/// Loratadine 10 mg × 30, OTC.
pub fn loratadine() -> Product {
    Product {
        rx_only: false,
        ..tablet("45802-650-78", "Loratadine", "10 mg", 30)
    }
}

/// A non-controlled maintenance drug of the routine refill mix: product, units per day.
pub fn maintenance_drugs() -> Vec<(Product, u32)> {
    vec![
        (atorvastatin(), 1),
        (lisinopril(), 1),
        (metformin(), 2),
        (amlodipine(), 1),
        (sertraline(), 1),
        (omeprazole(), 1),
        (levothyroxine(), 1),
    ]
}

/// A Texas street address.
pub fn address(line1: &str, city: &str, zip: &str) -> Address {
    Address {
        line1: line1.into(),
        city: city.into(),
        state: "TX".into(),
        zip: zip.into(),
    }
}

const PRESCRIBERS: [(&str, &str, &str); 4] = [
    ("Bo", "Brown", "AB1234563"),
    ("Sara", "Smith", "BS2345672"),
    ("Minh", "Nguyen", "FN3456781"),
    ("Priya", "Patel", "MP4567890"),
];

/// Prescriber `i` (modulo 4), with a DEA registration covering CII-CV fetched on
/// 2026-04-12.
pub fn prescriber(i: usize) -> Prescriber {
    let (first, last, dea) = PRESCRIBERS[i % PRESCRIBERS.len()];
    Prescriber {
        first_name: first.into(),
        last_name: last.into(),
        address: Some(address("1200 Medical Pkwy", "Austin", "78756")),
        dea: Some(dea.into()),
        npi: Some("1234567893".into()),
        registration: Some(DeaRegistration {
            expires: date("2028-01-31"),
            active: true,
            schedules: vec![Schedule::C2, Schedule::C3, Schedule::C4, Schedule::C5],
            fetched_at: at("2026-04-12T06:00:00"),
        }),
    }
}

const FIRST_NAMES: [&str; 12] = [
    "Ana", "Luis", "Grace", "Omar", "Mei", "James", "Fatima", "Carlos", "Linda", "Tomas", "Aisha",
    "Robert",
];
const LAST_NAMES: [&str; 10] = [
    "Diaz", "Garcia", "Johnson", "Khan", "Lee", "Martinez", "Nguyen", "Okafor", "Smith", "Walker",
];
const STREETS: [&str; 5] = [
    "Oak St",
    "Congress Ave",
    "Lamar Blvd",
    "Pecan St",
    "Riverside Dr",
];

/// Patient `i`: a deterministic name and Austin address.
pub fn patient(i: usize) -> Patient {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / FIRST_NAMES.len() + i * 7) % LAST_NAMES.len()];
    let street = STREETS[i % STREETS.len()];
    let number = 100 + (i * 37) % 900;
    let year = 1940 + (i * 13) % 60;
    let month = 1 + i % 12;
    Patient {
        id: format!("P-{:04}", 1000 + i),
        first_name: first.into(),
        last_name: last.into(),
        address: Some(address(&format!("{number} {street}"), "Austin", "78704")),
        birth_date: Some(date(&format!("{year:04}-{month:02}-15"))),
        new_patient: false,
    }
}

/// A driver's licence.
pub fn drivers_license(number: &str) -> PhotoId {
    PhotoId {
        kind: "drivers_license".into(),
        issuer: "TX".into(),
        number: number.into(),
    }
}

/// The adult purchaser behind patient `i`, with ID shown.
pub fn purchaser(i: usize) -> Purchaser {
    let p = patient(i);
    Purchaser {
        key: format!("DL-TX-{:08}", 40_000_000 + i * 7919),
        name: format!("{} {}", p.first_name, p.last_name),
        address: p.address,
        birth_date: p.birth_date,
        photo_id: Some(drivers_license(&format!("{:08}", 40_000_000 + i * 7919))),
        known_to_pharmacist: false,
    }
}

/// A complete signed logbook entry for `quantity` units of `product` sold at `t`.
pub fn logbook(
    purchaser: &Purchaser,
    product: &Product,
    quantity: u32,
    t: DateTime,
) -> LogbookEntry {
    LogbookEntry {
        purchaser_name: purchaser.name.clone(),
        purchaser_address: purchaser
            .address
            .as_ref()
            .map(|a| format!("{}, {}", a.line1, a.city))
            .unwrap_or_default(),
        at: Some(t),
        product_name: product.name.clone(),
        quantity,
        signed: true,
    }
}

/// A commercial PBM plan: refill-too-soon at 80 %, 90 days supply per claim.
pub fn commercial_plan() -> Payment {
    Payment::Insurance {
        payer: "BCBSTX-610014".into(),
        rts_percent: 80,
        max_days_supply: 90,
    }
}

/// A Medicare Part D plan: refill-too-soon at 75 %, 90 days supply per claim.
pub fn part_d_plan() -> Payment {
    Payment::Insurance {
        payer: "PARTD-004336".into(),
        rts_percent: 75,
        max_days_supply: 90,
    }
}

/// A complete, signed electronic prescription written by `prescriber(prescriber_ix)`.
#[allow(clippy::too_many_arguments)]
pub fn prescription(
    rx_number: &str,
    patient: Patient,
    prescriber_ix: usize,
    product: &Product,
    quantity: u32,
    days_supply: u32,
    refills: u32,
    issued: Date,
) -> Prescription {
    let per_day = (quantity / days_supply.max(1)).max(1);
    Prescription {
        rx_number: rx_number.into(),
        patient,
        prescriber: prescriber(prescriber_ix),
        prescribed_ndc: product.ndc,
        drug_name: product.name.clone(),
        strength: product.strength.clone(),
        dosage_form: product.dosage_form.clone(),
        quantity,
        days_supply,
        directions: if per_day == 1 {
            format!("take 1 {} by mouth daily", product.dosage_form)
        } else {
            format!(
                "take 1 {} by mouth {per_day} times daily",
                product.dosage_form
            )
        },
        max_daily_units: Some(per_day),
        refills_authorized: refills,
        issue_date: issued,
        issued_at: Some(DateTime::new(issued, 9, 0, 0).unwrap_or_else(|_| issued.start())),
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

/// A past fill of `rx` at `t`.
pub fn past_fill(rx: &Prescription, t: DateTime, quantity: u32, days_supply: u32) -> Fill {
    Fill {
        at: t,
        quantity,
        days_supply,
        ndc: rx.prescribed_ndc,
        partial: None,
        fill_number: None,
    }
}

/// Adds `count` whole past fills spaced one days supply apart, the last one at `last`.
pub fn with_history(mut rx: Prescription, last: DateTime, count: u32) -> Prescription {
    let spacing = i64::from(rx.days_supply);
    for k in (0..count).rev() {
        let t = days_before(last, spacing * i64::from(k));
        let f = past_fill(&rx, t, rx.quantity, rx.days_supply);
        rx.fills.push(f);
    }
    rx
}

/// A fill of `rx` as written (its quantity and days supply), same product prescribed and
/// dispensed, cash, no lots.
pub fn fill_request(rx: Prescription, product: &Product) -> FillRequest {
    let (quantity, days_supply) = (rx.quantity, rx.days_supply);
    FillRequest {
        schema_version: SchemaVersion::CURRENT,
        prescription: rx,
        prescribed: product.clone(),
        dispensed: product.clone(),
        quantity,
        days_supply,
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

/// A lot of `product`.
pub fn lot(
    product: &Product,
    number: &str,
    expiry: Expiry,
    status: LotStatus,
    on_hand: i64,
) -> Lot {
    Lot {
        ndc: product.ndc,
        lot_number: number.into(),
        expiry,
        status,
        on_hand,
        received: None,
    }
}

/// A month expiry (`YYYY-MM`, in date through the month's last day).
pub fn month(year: i32, m: u32) -> Expiry {
    Expiry::month(year, m).unwrap_or_else(|_| Expiry::Day(day()))
}

/// The shelf for `product` on the demo day, in receiving order: an expired lot
/// (`…EXP`, March 2026), a recalled lot (`…REC`), the FEFO lot (`…A`, September 2026)
/// and a later lot (`…B`, March 2027).
pub fn shelf(product: &Product) -> Vec<Lot> {
    let prefix = product
        .name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect::<String>()
        .to_uppercase();
    vec![
        lot(
            product,
            &format!("{prefix}25EXP"),
            month(2026, 3),
            LotStatus::Active,
            40,
        ),
        lot(
            product,
            &format!("{prefix}26REC"),
            month(2026, 6),
            LotStatus::Recalled,
            300,
        ),
        lot(
            product,
            &format!("{prefix}26A"),
            month(2026, 9),
            LotStatus::Active,
            400,
        ),
        lot(
            product,
            &format!("{prefix}27B"),
            month(2027, 3),
            LotStatus::Active,
            600,
        ),
    ]
}

/// Lot picks chosen by FEFO allocation ([`pharm_core::fefo::allocate`]) on `today`;
/// empty when no single lot can cover the quantity (the request then has no picks).
pub fn fefo_picks(
    lots: &[Lot],
    product: &Product,
    quantity: u32,
    days_supply: Option<u32>,
    today: Date,
) -> Vec<LotPick> {
    let policy = AllocationPolicy {
        days_supply,
        ..AllocationPolicy::for_product(product)
    };
    allocate(lots, quantity, today, &policy)
        .map(|a| {
            a.picks
                .into_iter()
                .map(|p| LotPick {
                    lot_number: p.lot_number,
                    quantity: p.quantity,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Puts the product's shelf and a FEFO pick on a fill request.
pub fn with_fefo(mut r: FillRequest, today: Date) -> FillRequest {
    r.lots = shelf(&r.dispensed);
    r.picks = fefo_picks(
        &r.lots,
        &r.dispensed,
        r.quantity,
        Some(r.days_supply),
        today,
    );
    r
}

/// An OTC sale of `quantity` units of `product` with no purchaser, lots or logbook.
pub fn otc_sale(product: Product, quantity: u32) -> OtcSaleRequest {
    OtcSaleRequest {
        schema_version: SchemaVersion::CURRENT,
        product,
        quantity,
        picks: vec![],
        lots: vec![],
        purchaser: None,
        purchaser_history: vec![],
        logbook: None,
        seller_is_pharmacist: false,
        nplex: NplexResult::NotRequired,
        overrides: vec![],
    }
}

/// A pharmacist's override of `rule` with a reason code.
pub fn override_of(rule: pharm_core::rules::RuleId, reason_code: &str, note: &str) -> Override {
    Override {
        rule,
        reason_code: reason_code.into(),
        pharmacist: "RPh J. Lopez".into(),
        note: note.into(),
        dur: None,
    }
}

/// When the store loses its connection on the demo day.
pub fn outage_start() -> DateTime {
    hm(13, 30)
}

/// When the connection comes back.
pub fn outage_end() -> DateTime {
    hm(16, 0)
}

/// The Texas store's context at `now`: offline during the afternoon outage, recall feed
/// refreshed at 06:00 (the last refresh before the outage).
pub fn store_context(now: DateTime) -> Context {
    let mut ctx = Context::new(now, StateProfile::texas());
    ctx.pharmacy.id = STORE_ID;
    ctx.recall_feed_as_of = Some(hm(6, 0));
    if now >= outage_start() && now < outage_end() {
        ctx.connectivity = Connectivity::Offline {
            since: outage_start(),
        };
    }
    ctx
}

/// An online context at `now` under another state's preset profile.
pub fn preset_context(now: DateTime, profile: StateProfile) -> Context {
    let mut ctx = Context::new(now, profile);
    ctx.pharmacy.id = PRESET_STORE_ID;
    ctx.recall_feed_as_of = Some(hm(6, 0));
    ctx
}
