//! A realistic business day at one Texas store, plus a few requests under other presets.
//!
//! The day mixes ~55 scripted events (each exercising one rule family at a realistic
//! boundary) with ~175 routine requests drawn from a seeded [`XorShift64`]: refills on
//! time and too soon, DUR alerts, new prescriptions, hand-offs, OTC and pseudoephedrine
//! sales, CIV refills and new CII fills. From 13:30 to 16:00 the store is offline.

use pharm_core::contract::SchemaVersion;
use pharm_core::ids::PharmacyId;
use pharm_core::model::{
    DawCode, Fill, ListedChemicalKind, PartialPathway, Patient, Prescription, Product,
    PurchaseRecord, RxOrigin, Transfer,
};
use pharm_core::rules::{
    Context, DscsaCheck, DurAlert, DurPps, DurSeverity, EndOfDayRequest, FillRequest,
    HandOffRequest, IntakeRequest, LotPick, NplexResult, OtcSaleRequest, Payment, PendingPmpReport,
    PmpStatus, Request, RuleId, StateProfile, StockMoveKind, StockMoveRequest, TransferRequest,
};
use pharm_core::time::DateTime;

use crate::catalog::*;
use crate::rng::XorShift64;

/// One labelled request with the context it is evaluated in.
pub type Scenario = (String, Request, Context);

/// Number of randomly drawn routine requests in a day.
pub const ROUTINE_REQUESTS: usize = 175;

struct Day {
    rng: XorShift64,
    next_rx: u32,
    next_patient: usize,
    controlled_handoffs: Vec<(String, DateTime)>,
    out: Vec<Scenario>,
}

impl Day {
    fn rx_number(&mut self) -> String {
        self.next_rx += 1;
        format!("RX-{}", 6_100_000 + self.next_rx)
    }

    fn patient(&mut self) -> (usize, Patient) {
        self.next_patient += 1;
        (self.next_patient, patient(self.next_patient))
    }

    fn push(&mut self, label: impl Into<String>, request: Request, ctx: Context) {
        self.out.push((label.into(), request, ctx));
    }

    fn store(&mut self, label: impl Into<String>, request: Request, now: DateTime) {
        self.push(label, request, store_context(now));
    }
}

/// `[XX] label` for a request under another state's preset.
fn tagged(profile: &StateProfile, label: &str) -> String {
    format!("[{}] {label}", profile.state)
}

fn insured(r: &mut FillRequest) {
    r.payment = commercial_plan();
}

fn pmp_queried(r: &mut FillRequest, t: DateTime) {
    r.pmp = PmpStatus::Queried { at: t };
}

fn hand_off(rx: Prescription, product: Product, id: bool, payment: Payment) -> Request {
    Request::HandOff(HandOffRequest {
        schema_version: SchemaVersion::CURRENT,
        prescription: rx,
        product,
        pickup_id: id.then(|| drivers_license("31415926")),
        payment,
    })
}

/// The scripted and routine requests of one day, in time order. `seed` drives the
/// routine mix; the scripted events are the same for every seed.
pub fn realistic_day(seed: u64) -> Vec<Scenario> {
    let mut d = Day {
        rng: XorShift64::new(seed),
        next_rx: 0,
        next_patient: 0,
        controlled_handoffs: Vec::new(),
        out: Vec::new(),
    };
    scripted_morning(&mut d);
    scripted_controlled(&mut d);
    scripted_otc(&mut d);
    scripted_offline(&mut d);
    scripted_evening(&mut d);
    other_presets(&mut d);
    for _ in 0..ROUTINE_REQUESTS {
        let minute = d.rng.range(9 * 60, 20 * 60 + 45);
        routine(&mut d, time_of_day(day(), minute));
    }
    end_of_day(&mut d);
    d.out.sort_by_key(|(_, _, ctx)| ctx.now);
    d.out
}

/// Refill history of a maintenance drug whose last fill was `days_ago` days before `now`.
fn maintenance_rx(
    d: &mut Day,
    product: &Product,
    per_day: u32,
    days: u32,
    now: DateTime,
    days_ago: u32,
) -> Prescription {
    let fills = if days >= 90 {
        d.rng.range(1, 2)
    } else {
        d.rng.range(1, 3)
    };
    let refills = if days >= 90 { 3 } else { 5 };
    let last_minute = d.rng.range(9 * 60, 19 * 60);
    let last = days_before(time_of_day(now.date(), last_minute), i64::from(days_ago));
    let first = days_before(last, i64::from(days) * i64::from(fills - 1));
    let issued = first.date().add_days(-i64::from(d.rng.range(0, 6)));
    let (_, pt) = d.patient();
    let number = d.rx_number();
    let prescriber_ix = d.rng.index(4);
    let rx = prescription(
        &number,
        pt,
        prescriber_ix,
        product,
        days * per_day,
        days,
        refills,
        issued,
    );
    with_history(rx, last, fills)
}

// ---------------------------------------------------------------------------------------
// Scripted events, Texas store
// ---------------------------------------------------------------------------------------

fn scripted_morning(d: &mut Day) {
    // Intake of a CIV written with more refills than federal law allows.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = prescription(&n, pt, 1, &alprazolam(), 60, 30, 6, date("2026-04-14"));
    d.store(
        "intake: CIV alprazolam with 6 refills",
        Request::Intake(IntakeRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: alprazolam(),
        }),
        hm(9, 5),
    );

    // DAW 1 (brand medically necessary) but the generic was picked.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let mut rx = prescription(&n, pt, 0, &lipitor(), 30, 30, 5, date("2026-02-10"));
    rx.daw = DawCode::PrescriberRequiresBrand;
    let rx = with_history(rx, at("2026-03-14T10:20:00"), 1);
    let mut r = fill_request(rx, &lipitor());
    r.dispensed = atorvastatin();
    insured(&mut r);
    d.store(
        "refill Lipitor DAW 1, generic picked",
        Request::Fill(r),
        hm(9, 12),
    );

    // DAW 0 with the multi-source brand dispensed.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 2, &lipitor(), 30, 30, 5, date("2026-01-20")),
        at("2026-03-16T17:05:00"),
        2,
    );
    let mut r = fill_request(rx, &lipitor());
    r.payment = Payment::Cash;
    d.store(
        "refill Lipitor DAW 0, brand dispensed",
        Request::Fill(r),
        hm(9, 20),
    );

    // Non-controlled prescription past its one-year validity.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = prescription(&n, pt, 3, &metformin(), 60, 30, 12, date("2025-04-02"));
    let rx = with_history(rx, at("2026-03-18T11:00:00"), 12);
    let mut r = fill_request(rx, &metformin());
    insured(&mut r);
    d.store(
        "refill metformin, Rx written 2025-04-02",
        Request::Fill(r),
        hm(9, 31),
    );

    // All refills used.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 0, &lisinopril(), 30, 30, 2, date("2026-01-05")),
        at("2026-03-17T09:45:00"),
        3,
    );
    let mut r = fill_request(rx, &lisinopril());
    insured(&mut r);
    d.store(
        "refill lisinopril, no refills left",
        Request::Fill(r),
        hm(9, 40),
    );

    // Synthroid written, generic levothyroxine dispensed (Texas allows NTI substitution).
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 1, &synthroid(), 90, 90, 3, date("2025-12-20")),
        at("2026-01-14T12:00:00"),
        1,
    );
    let mut r = fill_request(rx, &synthroid());
    r.dispensed = levothyroxine();
    insured(&mut r);
    let r = with_fefo(r, day());
    d.store(
        "Synthroid Rx, generic levothyroxine",
        Request::Fill(r),
        hm(9, 48),
    );

    // One levothyroxine refill, four scans: expired, recalled, not FEFO, then FEFO.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 2, &levothyroxine(), 90, 90, 3, date("2025-12-01")),
        at("2026-01-17T10:00:00"),
        1,
    );
    let mut base = fill_request(rx, &levothyroxine());
    insured(&mut base);
    base.lots = shelf(&levothyroxine());
    let scans = [
        ("levothyroxine: scan expired lot", "LEV25EXP", 10, 2),
        ("levothyroxine: scan recalled lot", "LEV26REC", 10, 4),
        ("levothyroxine: scan later lot (not FEFO)", "LEV27B", 10, 6),
    ];
    for (label, lot_number, h, m) in scans {
        let mut r = base.clone();
        r.picks = vec![LotPick {
            lot_number: lot_number.into(),
            quantity: r.quantity,
        }];
        d.store(label, Request::Fill(r), hm(h, m));
    }
    let r = with_fefo(base.clone(), day());
    d.store(
        "levothyroxine: FEFO allocation",
        Request::Fill(r),
        hm(10, 8),
    );

    // DSCSA: the scanned unit does not match the transaction record.
    let mut r = with_fefo(base, day());
    r.dscsa = Some(DscsaCheck::Mismatch {
        detail: "serial 8837261 not in T3 for lot LEV26A".into(),
    });
    d.store(
        "levothyroxine: DSCSA mismatch on scan",
        Request::Fill(r),
        hm(10, 12),
    );

    // Reconstituted antibiotic: 14-day beyond-use date on the label.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let amox = amoxicillin_suspension();
    let mut rx = prescription(&n, pt, 3, &amox, 100, 10, 0, day());
    rx.directions = "take 5 mL by mouth twice daily for 10 days".into();
    rx.max_daily_units = Some(10);
    let mut r = with_fefo(fill_request(rx, &amox), day());
    insured(&mut r);
    d.store(
        "new Rx amoxicillin susp (BUD 14 d)",
        Request::Fill(r),
        hm(10, 15),
    );

    // Expired lot goes to the reverse distributor's destruction bin.
    let lot = shelf(&levothyroxine()).remove(0);
    let quantity = u32::try_from(lot.on_hand).unwrap_or(0);
    d.store(
        "destroy expired lot LEV25EXP",
        Request::StockMove(StockMoveRequest {
            schema_version: SchemaVersion::CURRENT,
            kind: StockMoveKind::Destroy,
            lot,
            quantity,
        }),
        hm(10, 20),
    );

    // The benchmark's typical refill happens at 10:40.
    let (request, ctx) = crate::typical_refill();
    d.push("refill atorvastatin (typical refill)", request, ctx);
}

fn cii_rx(d: &mut Day, product: &Product, quantity: u32, days: u32, issued: &str) -> Prescription {
    let (_, pt) = d.patient();
    let n = d.rx_number();
    prescription(
        &n,
        pt,
        d.next_rx as usize,
        product,
        quantity,
        days,
        0,
        date(issued),
    )
}

fn scripted_controlled(d: &mut Day) {
    // New CII, PMP checked, EPCS.
    let rx = cii_rx(d, &oxycodone(), 60, 15, "2026-04-14");
    let mut r = with_fefo(fill_request(rx, &oxycodone()), day());
    insured(&mut r);
    pmp_queried(&mut r, hm(10, 25));
    d.store(
        "new CII oxycodone, PMP checked",
        Request::Fill(r),
        hm(10, 30),
    );

    // Texas requires the PMP check before dispensing an opioid.
    let rx = cii_rx(d, &hydrocodone_apap(), 40, 10, "2026-04-15");
    let r = fill_request(rx, &hydrocodone_apap());
    d.store(
        "new CII hydrocodone, PMP not checked",
        Request::Fill(r),
        hm(10, 34),
    );

    // Pathway (a): pharmacy can supply only 20 of 60.
    let rx = cii_rx(d, &oxycodone(), 60, 15, "2026-04-15");
    let mut r = fill_request(rx, &oxycodone());
    r.quantity = 20;
    r.days_supply = 5;
    r.partial = Some(PartialPathway::UnableToSupply);
    pmp_queried(&mut r, hm(10, 40));
    d.store(
        "CII partial 20/60 (unable to supply)",
        Request::Fill(r),
        hm(10, 45),
    );

    // Pathway (b): patient asks for half.
    let rx = cii_rx(d, &hydrocodone_apap(), 60, 15, "2026-04-13");
    let mut r = fill_request(rx, &hydrocodone_apap());
    r.quantity = 30;
    r.days_supply = 7;
    r.partial = Some(PartialPathway::PatientRequest);
    pmp_queried(&mut r, hm(10, 48));
    d.store(
        "CII partial 30/60 (patient request)",
        Request::Fill(r),
        hm(10, 50),
    );

    // Pathway (a) remainder inside 72 hours (the benchmark's CII partial fill).
    let (request, ctx) = crate::cii_partial_fill();
    d.push("CII remainder 40/60 within 72 h", request, ctx);

    // Pathway (a) remainder after 72 hours: needs a new prescription.
    let mut rx = cii_rx(d, &oxycodone(), 60, 15, "2026-04-11");
    let first = Fill {
        partial: Some(PartialPathway::UnableToSupply),
        ..past_fill(&rx, at("2026-04-11T15:10:00"), 20, 5)
    };
    rx.fills.push(first);
    let mut r = fill_request(rx, &oxycodone());
    r.quantity = 40;
    r.days_supply = 10;
    pmp_queried(&mut r, hm(11, 0));
    d.store(
        "CII remainder 40/60 after 72 h",
        Request::Fill(r),
        hm(11, 5),
    );

    // Refill of a fully dispensed CII.
    let mut rx = cii_rx(d, &oxycodone(), 60, 15, "2026-03-30");
    let f = past_fill(&rx, at("2026-03-31T14:00:00"), 60, 15);
    rx.fills.push(f);
    let mut r = fill_request(rx, &oxycodone());
    pmp_queried(&mut r, hm(11, 8));
    d.store("CII refill requested", Request::Fill(r), hm(11, 10));

    // Texas: CII valid 30 days after issue.
    let rx = cii_rx(d, &hydrocodone_apap(), 30, 5, "2026-03-11");
    let mut r = fill_request(rx, &hydrocodone_apap());
    pmp_queried(&mut r, hm(11, 12));
    d.store(
        "CII written 2026-03-11 (TX 30 days)",
        Request::Fill(r),
        hm(11, 15),
    );

    // Sequential CII with an earliest fill date (no PMP mandate for stimulants in TX).
    let mut rx = cii_rx(d, &methylphenidate(), 30, 30, "2026-03-25");
    rx.earliest_fill_date = Some(date("2026-04-24"));
    let r = fill_request(rx, &methylphenidate());
    d.store(
        "CII stimulant before earliest fill date",
        Request::Fill(r),
        hm(11, 20),
    );

    // Faxed CII for an ambulatory patient.
    let mut rx = cii_rx(d, &oxycodone(), 30, 5, "2026-04-15");
    rx.origin = RxOrigin::Fax;
    let mut r = fill_request(rx, &oxycodone());
    pmp_queried(&mut r, hm(11, 22));
    d.store(
        "CII received by fax (not LTCF/hospice)",
        Request::Fill(r),
        hm(11, 25),
    );

    // Emergency oral CII for 3 days: allowed, follow-up prescription due in 7 days.
    let mut rx = cii_rx(d, &oxycodone(), 12, 3, "2026-04-15");
    rx.origin = RxOrigin::EmergencyOral;
    rx.signed = false;
    rx.issued_at = Some(hm(11, 20));
    rx.emergency_period_days = Some(3);
    let mut r = fill_request(rx, &oxycodone());
    pmp_queried(&mut r, hm(11, 26));
    d.store(
        "emergency oral CII, 3-day supply",
        Request::Fill(r),
        hm(11, 30),
    );

    // CIII refill more than six months after issue.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 0, &apap_codeine(), 30, 10, 5, date("2025-10-10")),
        at("2026-01-20T15:00:00"),
        3,
    );
    let mut r = fill_request(rx, &apap_codeine());
    pmp_queried(&mut r, hm(11, 38));
    d.store(
        "CIII refill 6+ months after issue",
        Request::Fill(r),
        hm(11, 40),
    );

    // CIV: sixth refill of a prescription written for six (federal cap five).
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 1, &alprazolam(), 60, 30, 6, date("2025-10-20")),
        at("2026-03-20T16:00:00"),
        6,
    );
    let mut r = fill_request(rx, &alprazolam());
    pmp_queried(&mut r, hm(11, 43));
    d.store("CIV refill #6 of 6 (cap 5)", Request::Fill(r), hm(11, 45));

    // CV refill within authorization.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 2, &pregabalin(), 60, 30, 5, date("2026-01-10")),
        at("2026-03-18T13:00:00"),
        3,
    );
    let mut r = with_fefo(fill_request(rx, &pregabalin()), day());
    insured(&mut r);
    d.store("CV pregabalin refill", Request::Fill(r), hm(11, 50));

    // Hand-offs: Texas wants the ID of whoever picks up a CII; every controlled
    // hand-off queues a PMP report due within 24 hours.
    for (label, id, h, m) in [
        ("hand-off CII oxycodone with ID", true, 12, 45),
        ("hand-off CII oxycodone, no ID", false, 12, 50),
    ] {
        let t = hm(h, m);
        let rx = filled_today(d, &oxycodone(), 30, 5, t);
        if id {
            d.controlled_handoffs.push((rx.rx_number.clone(), t));
        }
        d.store(label, hand_off(rx, oxycodone(), id, commercial_plan()), t);
    }
}

/// A prescription of `product` filled an hour before `t` (for hand-offs).
fn filled_today(
    d: &mut Day,
    product: &Product,
    quantity: u32,
    days: u32,
    t: DateTime,
) -> Prescription {
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let refills = if product.schedule == Some(pharm_core::model::Schedule::C2) {
        0
    } else {
        2
    };
    let rx = prescription(
        &n,
        pt,
        d.next_rx as usize,
        product,
        quantity,
        days,
        refills,
        t.date().add_days(-1),
    );
    with_history(rx, t.add_hours(-1), 1)
}

fn pse_sale(
    d: &mut Day,
    quantity: u32,
    t: DateTime,
    nplex: NplexResult,
) -> (usize, OtcSaleRequest) {
    let (i, _) = d.patient();
    let buyer = purchaser(i);
    let mut r = otc_sale(pse30(), quantity);
    r.logbook = Some(logbook(&buyer, &pse30(), quantity, t));
    r.purchaser = Some(buyer);
    r.nplex = nplex;
    (i, r)
}

fn pse_record(t: DateTime, tablets: u64) -> PurchaseRecord {
    PurchaseRecord {
        at: t,
        chemical: Some((ListedChemicalKind::Pseudoephedrine, tablets * 24_577)),
        cv_units: 0,
        cv_ml: 0,
        cv_opium: false,
    }
}

fn cv_syrup_sale(d: &mut Day, t: DateTime) -> OtcSaleRequest {
    let (i, _) = d.patient();
    let buyer = purchaser(i);
    let syrup = codeine_syrup();
    let mut r = otc_sale(syrup.clone(), 118);
    r.logbook = Some(logbook(&buyer, &syrup, 118, t));
    r.purchaser = Some(buyer);
    r.seller_is_pharmacist = true;
    r
}

fn scripted_otc(d: &mut Day) {
    let t = hm(12, 0);
    let (_, r) = pse_sale(d, 48, t, NplexResult::Approved);
    d.store("PSE 2 x 24 ct, ID + logbook", Request::OtcSale(r), t);

    let t = hm(12, 10);
    let (_, mut r) = pse_sale(d, 48, t, NplexResult::Approved);
    r.purchaser_history = vec![pse_record(hm(9, 40), 120)];
    d.store(
        "PSE 48 ct after 120 ct this morning",
        Request::OtcSale(r),
        t,
    );

    let t = hm(12, 20);
    let (_, mut r) = pse_sale(d, 24, t, NplexResult::Approved);
    if let Some(p) = r.purchaser.as_mut() {
        p.photo_id = None;
    }
    d.store("PSE 24 ct, no photo ID", Request::OtcSale(r), t);

    let t = hm(12, 30);
    let r = cv_syrup_sale(d, t);
    d.store("CV codeine syrup 118 mL, no Rx", Request::OtcSale(r), t);

    let t = hm(12, 35);
    let mut r = cv_syrup_sale(d, t);
    r.purchaser_history = vec![PurchaseRecord {
        at: at("2026-04-14T18:20:00"),
        chemical: None,
        cv_units: 0,
        cv_ml: 118,
        cv_opium: false,
    }];
    d.store("CV syrup, 2nd bottle within 48 h", Request::OtcSale(r), t);
}

fn offline_overrides(r: &mut FillRequest) {
    r.overrides = vec![
        override_of(
            RuleId::CsOffline01,
            "OFFLINE-EST",
            "established patient, verified profile and prior fills",
        ),
        override_of(
            RuleId::CsPmp01,
            "PMP-DOWN",
            "PMP unreachable while offline; query queued",
        ),
    ];
}

fn scripted_offline(d: &mut Day) {
    // CII while offline, PMP checked this morning.
    let rx = cii_rx(d, &oxycodone(), 40, 10, "2026-04-15");
    let mut r = fill_request(rx, &oxycodone());
    pmp_queried(&mut r, hm(9, 15));
    d.store(
        "offline: CII, no override yet",
        Request::Fill(r.clone()),
        hm(13, 40),
    );
    offline_overrides(&mut r);
    d.store(
        "offline: same CII with override",
        Request::Fill(r),
        hm(13, 45),
    );

    // CIV while offline, PMP unreachable: two overrides, both reconciled later.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 3, &alprazolam(), 60, 30, 5, date("2026-01-02")),
        at("2026-03-18T10:00:00"),
        3,
    );
    let mut r = fill_request(rx, &alprazolam());
    r.pmp = PmpStatus::Unavailable {
        reason: "store offline".into(),
    };
    offline_overrides(&mut r);
    d.store(
        "offline: CIV, PMP unreachable, overrides",
        Request::Fill(r),
        hm(13, 55),
    );

    // Insurance refills while offline: sold now, claims queued.
    let product = amlodipine();
    let rx = maintenance_rx(d, &product, 1, 30, hm(14, 5), 26);
    let mut r = with_fefo(fill_request(rx, &product), day());
    insured(&mut r);
    d.store(
        "offline: insured refill, claim queued",
        Request::Fill(r),
        hm(14, 5),
    );

    let product = sertraline();
    let rx = maintenance_rx(d, &product, 1, 30, hm(14, 15), 18);
    let mut r = fill_request(rx, &product);
    insured(&mut r);
    d.store(
        "offline: insured refill too soon",
        Request::Fill(r),
        hm(14, 15),
    );

    // Texas blocks listed-chemical sales without the NPLEx cross-store check.
    let t = hm(14, 25);
    let (_, r) = pse_sale(d, 24, t, NplexResult::Unreachable);
    d.store(
        "offline: PSE 24 ct (NPLEx unreachable)",
        Request::OtcSale(r),
        t,
    );

    let t = hm(14, 35);
    let r = cv_syrup_sale(d, t);
    d.store("offline: CV codeine syrup, no Rx", Request::OtcSale(r), t);

    // CII to a patient with no history here: Texas allows it offline with an override.
    let mut rx = cii_rx(d, &hydrocodone_apap(), 20, 5, "2026-04-15");
    rx.patient.new_patient = true;
    let mut r = fill_request(rx, &hydrocodone_apap());
    r.pmp = PmpStatus::Unavailable {
        reason: "store offline".into(),
    };
    offline_overrides(&mut r);
    d.store(
        "offline: CII new patient, overrides",
        Request::Fill(r),
        hm(14, 45),
    );

    let t = hm(15, 0);
    let rx = filled_today(d, &oxycodone(), 40, 10, t);
    d.controlled_handoffs.push((rx.rx_number.clone(), t));
    d.store(
        "offline: hand-off CII with ID",
        hand_off(rx, oxycodone(), true, Payment::Cash),
        t,
    );
}

fn scripted_evening(d: &mut Day) {
    // Back online: the PMP query that was skipped is made, the fill goes through.
    let rx = cii_rx(d, &oxycodone(), 40, 10, "2026-04-15");
    let mut r = with_fefo(fill_request(rx, &oxycodone()), day());
    pmp_queried(&mut r, hm(16, 3));
    insured(&mut r);
    d.store("back online: CII, PMP checked", Request::Fill(r), hm(16, 5));

    // CIII refill transferred out a second time.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let mut rx = with_history(
        prescription(&n, pt, 0, &apap_codeine(), 30, 10, 5, date("2026-03-01")),
        at("2026-03-20T12:00:00"),
        2,
    );
    rx.transfers.push(Transfer {
        date: date("2026-03-10"),
        from_pharmacy: PharmacyId::new(300),
        to_pharmacy: STORE_ID,
        initial_fill: false,
    });
    d.store(
        "transfer CIII refills out a 2nd time",
        Request::Transfer(TransferRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: apap_codeine(),
            to_pharmacy: PharmacyId::new(988),
        }),
        hm(16, 20),
    );

    // Unfilled EPCS CII: one transfer for initial filling is allowed.
    let rx = cii_rx(d, &oxycodone(), 30, 5, "2026-04-15");
    d.store(
        "transfer unfilled EPCS CII",
        Request::Transfer(TransferRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: oxycodone(),
            to_pharmacy: PharmacyId::new(988),
        }),
        hm(16, 25),
    );

    let t = hm(17, 30);
    let rx = filled_today(d, &hydrocodone_apap(), 20, 5, t);
    d.controlled_handoffs.push((rx.rx_number.clone(), t));
    d.store(
        "hand-off CII hydrocodone with ID",
        hand_off(rx, hydrocodone_apap(), true, commercial_plan()),
        t,
    );
}

fn other_presets(d: &mut Day) {
    // California: CII valid six months.
    let ca = StateProfile::california();
    let rx = cii_rx(d, &oxycodone(), 30, 5, "2026-02-14");
    let mut r = fill_request(rx, &oxycodone());
    pmp_queried(&mut r, hm(16, 38));
    d.push(
        tagged(&ca, "CII written 60 days ago"),
        Request::Fill(r),
        preset_context(hm(16, 40), ca),
    );

    // New York: emergency oral CII capped at 5 days supply.
    let ny = StateProfile::new_york();
    let mut rx = cii_rx(d, &oxycodone(), 28, 7, "2026-04-15");
    rx.origin = RxOrigin::EmergencyOral;
    rx.signed = false;
    rx.issued_at = Some(hm(16, 30));
    rx.emergency_period_days = Some(7);
    let r = fill_request(rx, &oxycodone());
    d.push(
        tagged(&ny, "emergency oral CII, 7 days"),
        Request::Fill(r),
        preset_context(hm(16, 45), ny.clone()),
    );

    // New York: no substitution of narrow-therapeutic-index drugs.
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 1, &synthroid(), 90, 90, 3, date("2025-12-20")),
        at("2026-01-14T12:00:00"),
        1,
    );
    let mut r = fill_request(rx, &synthroid());
    r.dispensed = levothyroxine();
    d.push(
        tagged(&ny, "Synthroid Rx, generic levothyroxine"),
        Request::Fill(r),
        preset_context(hm(16, 50), ny),
    );

    // Massachusetts: the prescriber's follow-up for an emergency oral CII is due in 3 days.
    let ma = StateProfile::massachusetts();
    let mut rx = cii_rx(d, &oxycodone(), 12, 3, "2026-04-15");
    rx.origin = RxOrigin::EmergencyOral;
    rx.signed = false;
    rx.issued_at = Some(hm(16, 50));
    rx.emergency_period_days = Some(3);
    let r = fill_request(rx, &oxycodone());
    d.push(
        tagged(&ma, "emergency oral CII, follow-up in 3 d"),
        Request::Fill(r),
        preset_context(hm(17, 0), ma),
    );

    // Alaska: PMP check mandatory for CIII with no exemption when it is down.
    let ak = StateProfile::alaska();
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = with_history(
        prescription(&n, pt, 2, &apap_codeine(), 30, 10, 2, date("2026-03-20")),
        at("2026-04-02T09:30:00"),
        1,
    );
    let mut r = fill_request(rx, &apap_codeine());
    r.pmp = PmpStatus::Unavailable {
        reason: "PMP gateway timeout".into(),
    };
    d.push(
        tagged(&ak, "CIII refill, PMP down"),
        Request::Fill(r),
        preset_context(hm(17, 10), ak),
    );

    // Federal baseline: NPLEx unreachable → pharmacist override, upload later.
    let us = StateProfile::federal();
    let t = hm(17, 20);
    let (_, r) = pse_sale(d, 24, t, NplexResult::Unreachable);
    d.push(
        tagged(&us, "PSE 24 ct, NPLEx unreachable"),
        Request::OtcSale(r),
        preset_context(t, us),
    );

    // Minnesota: a day without reportable dispenses still needs a zero report.
    let mn = StateProfile::minnesota();
    d.push(
        tagged(&mn, "end of day, nothing reportable"),
        Request::EndOfDay(EndOfDayRequest {
            schema_version: SchemaVersion::CURRENT,
            date: day(),
            reportable_dispenses: 0,
            pending_reports: vec![],
        }),
        preset_context(hm(20, 58), mn),
    );
}

fn end_of_day(d: &mut Day) {
    let deadline = i64::from(StateProfile::texas().pmp_reporting_deadline_hours);
    let mut pending = vec![PendingPmpReport {
        rx_number: "RX-6099871".into(),
        due: at("2026-04-15T09:30:00"),
    }];
    pending.extend(
        d.controlled_handoffs
            .iter()
            .map(|(rx_number, t)| PendingPmpReport {
                rx_number: rx_number.clone(),
                due: t.add_hours(deadline),
            }),
    );
    let reportable = u32::try_from(d.controlled_handoffs.len()).unwrap_or(u32::MAX);
    d.store(
        "end of day",
        Request::EndOfDay(EndOfDayRequest {
            schema_version: SchemaVersion::CURRENT,
            date: day(),
            reportable_dispenses: reportable,
            pending_reports: pending,
        }),
        hm(21, 0),
    );
}

// ---------------------------------------------------------------------------------------
// Routine requests
// ---------------------------------------------------------------------------------------

const DUR_ALERTS: [(&str, &str); 4] = [
    ("DD", "drug-drug interaction with warfarin on profile"),
    (
        "TD",
        "therapeutic duplication with a fill from another pharmacy",
    ),
    ("ER", "overuse: early refill pattern in the last 90 days"),
    ("HD", "high dose for patient age"),
];

fn routine(d: &mut Day, t: DateTime) {
    let offline = store_context(t).connectivity.is_offline();
    match d.rng.below(100) {
        0..38 => routine_refill(d, t, RefillKind::OnTime),
        38..46 => routine_refill(d, t, RefillKind::TooSoon),
        46..53 => routine_refill(d, t, RefillKind::Dur),
        53..58 => routine_new_rx(d, t),
        58..70 => routine_hand_off(d, t, false),
        70..75 => routine_hand_off(d, t, true),
        75..85 => routine_otc(d, t),
        85..92 => routine_civ(d, t, offline),
        92..95 => {
            let nplex = if offline {
                NplexResult::Unreachable
            } else {
                NplexResult::Approved
            };
            let quantity = 24 * d.rng.range(1, 2);
            let (_, r) = pse_sale(d, quantity, t, nplex);
            d.store(format!("PSE {quantity} ct"), Request::OtcSale(r), t);
        }
        _ => routine_cii(d, t, offline),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefillKind {
    OnTime,
    TooSoon,
    Dur,
}

fn routine_refill(d: &mut Day, t: DateTime, kind: RefillKind) {
    let drugs = maintenance_drugs();
    let (product, per_day) = drugs[d.rng.index(drugs.len())].clone();
    let days = if d.rng.chance(30) { 90 } else { 30 };
    let payment = match d.rng.below(10) {
        0..4 => commercial_plan(),
        4..7 => part_d_plan(),
        _ => Payment::Cash,
    };
    let percent = match &payment {
        Payment::Insurance { rts_percent, .. } => *rts_percent,
        Payment::Cash => 75,
    };
    let threshold = (days * percent).div_ceil(100);
    let days_ago = match kind {
        RefillKind::TooSoon => d.rng.range(days / 3, threshold - 1),
        _ => threshold + d.rng.range(0, 5),
    };
    let rx = maintenance_rx(d, &product, per_day, days, t, days_ago);
    let mut r = fill_request(rx, &product);
    r.payment = payment;
    if d.rng.chance(50) {
        r = with_fefo(r, t.date());
    }
    let short = product
        .name
        .split_whitespace()
        .next()
        .unwrap_or("drug")
        .to_lowercase();
    let pay = if matches!(r.payment, Payment::Cash) {
        "cash"
    } else {
        "ins"
    };
    let mut label = format!("refill {short} {days}d {pay}");
    match kind {
        RefillKind::OnTime => {}
        RefillKind::TooSoon => {
            label.push_str(", too soon");
            if pay == "ins" && d.rng.chance(30) {
                r.overrides
                    .push(override_of(RuleId::RxRts01, "SCC-03", "vacation supply"));
                label.push_str(" (SCC 03)");
            }
        }
        RefillKind::Dur => {
            let (reason, message) = DUR_ALERTS[d.rng.index(DUR_ALERTS.len())];
            let roll = d.rng.below(10);
            let severity = if roll < 5 {
                DurSeverity::Moderate
            } else {
                DurSeverity::Major
            };
            r.dur_alerts.push(DurAlert {
                reason: reason.into(),
                severity,
                message: message.into(),
            });
            let sev = if severity == DurSeverity::Major {
                "major"
            } else {
                "moderate"
            };
            label.push_str(&format!(", DUR {reason} {sev}"));
            if roll >= 8 {
                let mut o = override_of(RuleId::RxDur01, "M0-1A", "prescriber consulted");
                o.dur = Some(DurPps {
                    reason: reason.into(),
                    service: "M0".into(),
                    result: "1A".into(),
                });
                r.overrides.push(o);
                label.push_str(" (PPS)");
            }
        }
    }
    d.store(label, Request::Fill(r), t);
}

fn routine_new_rx(d: &mut Day, t: DateTime) {
    let drugs = maintenance_drugs();
    let (product, per_day) = drugs[d.rng.index(drugs.len())].clone();
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let issued = t.date().add_days(-i64::from(d.rng.range(0, 4)));
    let prescriber_ix = d.rng.index(4);
    let rx = prescription(&n, pt, prescriber_ix, &product, 30 * per_day, 30, 5, issued);
    let mut r = with_fefo(fill_request(rx, &product), t.date());
    if d.rng.chance(70) {
        r.payment = part_d_plan();
    }
    let short = product
        .name
        .split_whitespace()
        .next()
        .unwrap_or("drug")
        .to_lowercase();
    d.store(format!("new Rx {short}"), Request::Fill(r), t);
}

fn routine_hand_off(d: &mut Day, t: DateTime, controlled: bool) {
    let product = if controlled {
        if d.rng.chance(50) {
            alprazolam()
        } else {
            zolpidem()
        }
    } else {
        let drugs = maintenance_drugs();
        drugs[d.rng.index(drugs.len())].0.clone()
    };
    let rx = filled_today(d, &product, 30, 30, t);
    if controlled {
        d.controlled_handoffs.push((rx.rx_number.clone(), t));
    }
    let short = product
        .name
        .split_whitespace()
        .next()
        .unwrap_or("drug")
        .to_lowercase();
    let payment = if d.rng.chance(70) {
        commercial_plan()
    } else {
        Payment::Cash
    };
    let id = controlled || d.rng.chance(20);
    d.store(
        format!("hand-off {short}"),
        hand_off(rx, product, id, payment),
        t,
    );
}

fn routine_otc(d: &mut Day, t: DateTime) {
    let product = if d.rng.chance(60) {
        ibuprofen()
    } else {
        loratadine()
    };
    let quantity = product.package.size * d.rng.range(1, 2);
    let mut r = otc_sale(product, quantity);
    if d.rng.chance(40) {
        r.lots = shelf(&r.product);
        r.picks = fefo_picks(&r.lots, &r.product, quantity, None, t.date());
    }
    let short = r
        .product
        .name
        .split_whitespace()
        .next()
        .unwrap_or("item")
        .to_lowercase();
    d.store(format!("OTC {short} x{quantity}"), Request::OtcSale(r), t);
}

fn routine_civ(d: &mut Day, t: DateTime, offline: bool) {
    let (product, per_day) = if d.rng.chance(60) {
        (alprazolam(), 2)
    } else {
        (zolpidem(), 1)
    };
    let days_ago = 24 + d.rng.range(0, 4);
    let rx = maintenance_rx(d, &product, per_day, 30, t, days_ago);
    let mut r = fill_request(rx, &product);
    if d.rng.chance(50) {
        insured(&mut r);
    }
    let short = product
        .name
        .split_whitespace()
        .next()
        .unwrap_or("drug")
        .to_lowercase();
    let mut label = format!("refill CIV {short}");
    if offline {
        r.pmp = PmpStatus::Unavailable {
            reason: "store offline".into(),
        };
        if d.rng.chance(70) {
            offline_overrides(&mut r);
            label.push_str(" (overrides)");
        }
    } else {
        let back = d.rng.range(5, 60);
        r.pmp = PmpStatus::Queried {
            at: time_of_day(t.date(), minute_of_day(t).saturating_sub(back)),
        };
    }
    d.store(label, Request::Fill(r), t);
}

fn routine_cii(d: &mut Day, t: DateTime, offline: bool) {
    let (product, name) = if d.rng.chance(60) {
        (oxycodone(), "oxycodone")
    } else {
        (hydrocodone_apap(), "hydrocodone")
    };
    let days = d.rng.range(3, 10);
    let issued = t.date().add_days(-i64::from(d.rng.range(0, 7)));
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = prescription(
        &n,
        pt,
        d.next_rx as usize,
        &product,
        days * 4,
        days,
        0,
        issued,
    );
    let mut r = fill_request(rx, &product);
    insured(&mut r);
    let mut label = format!("new CII {name} {days}d");
    if offline {
        r.pmp = PmpStatus::Unavailable {
            reason: "store offline".into(),
        };
        if d.rng.chance(70) {
            offline_overrides(&mut r);
            label.push_str(" (overrides)");
        }
    } else {
        let back = d.rng.range(5, 30);
        r.pmp = PmpStatus::Queried {
            at: time_of_day(t.date(), minute_of_day(t).saturating_sub(back)),
        };
        r = with_fefo(r, t.date());
    }
    d.store(label, Request::Fill(r), t);
}
