//! A realistic business day at one Texas store, plus a few requests under other presets.
//!
//! The day is ~55 scripted events, a table ([`script`]) played by one loop (each event
//! exercising one rule family at a realistic boundary), and ~175 routine requests drawn
//! from a seeded [`XorShift64`] ([`routine`]): refills on time and too soon, DUR alerts,
//! new prescriptions, hand-offs, OTC and pseudoephedrine sales, CIV refills and new CII
//! fills. From 13:30 to 16:00 the store is offline.

mod routine;
mod script;

use pharm_core::contract::SchemaVersion;
use pharm_core::ids::PharmacyId;
use pharm_core::model::{
    DawCode, Fill, ListedChemicalKind, Patient, Prescription, Product, PurchaseRecord, RxOrigin,
    Transfer,
};
use pharm_core::rules::{
    Context, DscsaCheck, EndOfDayRequest, FillRequest, HandOffRequest, IntakeRequest, LotPick,
    NplexResult, OtcSaleRequest, Payment, PendingPmpReport, PmpStatus, Request, RuleId,
    StateProfile, StockMoveKind, StockMoveRequest, TransferRequest,
};
use pharm_core::time::DateTime;

use crate::catalog::*;
use crate::rng::XorShift64;

use script::{Edit, Event, Rx, RxEdit, SCRIPT, What};

/// One labelled request with the context it is evaluated in.
pub type Scenario = (String, Request, Context);

/// Number of randomly drawn routine requests in a day.
pub const ROUTINE_REQUESTS: usize = 175;

struct Day {
    rng: XorShift64,
    next_rx: u32,
    next_patient: usize,
    controlled_handoffs: Vec<(String, DateTime)>,
    /// The request an [`Edit::Keep`] kept for the next [`Rx::Kept`] rows.
    kept: Option<FillRequest>,
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
        kept: None,
        out: Vec::new(),
    };
    for event in SCRIPT {
        play(&mut d, event);
    }
    for _ in 0..ROUTINE_REQUESTS {
        let minute = d.rng.range(9 * 60, 20 * 60 + 45);
        routine::routine(&mut d, time_of_day(day(), minute));
    }
    end_of_day(&mut d);
    d.out.sort_by_key(|(_, _, ctx)| ctx.now);
    d.out
}

/// Plays one scripted event: builds its request and context and adds them to the day.
fn play(d: &mut Day, event: &Event) {
    let t = hm(event.at.0, event.at.1);
    let (label, ctx) = match event.preset {
        None => (event.label.to_string(), store_context(t)),
        Some(profile) => {
            let profile = profile();
            (tagged(&profile, event.label), preset_context(t, profile))
        }
    };
    let request = match &event.what {
        What::Built(build) => {
            let (request, ctx) = build();
            d.push(label, request, ctx);
            return;
        }
        What::Fill { rx, edits } => Request::Fill(scripted_fill(d, rx, edits, t)),
        What::Intake(rx) => {
            let (rx, product) = scripted_rx(d, rx, t);
            Request::Intake(IntakeRequest {
                schema_version: SchemaVersion::CURRENT,
                prescription: rx,
                product,
            })
        }
        What::Transfer { rx, to } => {
            let (rx, product) = scripted_rx(d, rx, t);
            Request::Transfer(TransferRequest {
                schema_version: SchemaVersion::CURRENT,
                prescription: rx,
                product,
                to_pharmacy: PharmacyId::new(*to),
            })
        }
        &What::HandOff {
            product,
            quantity,
            days,
            id,
            insured,
        } => {
            let product = product();
            let rx = filled_today(d, &product, quantity, days, t);
            if id {
                d.controlled_handoffs.push((rx.rx_number.clone(), t));
            }
            let payment = if insured {
                commercial_plan()
            } else {
                Payment::Cash
            };
            hand_off(rx, product, id, payment)
        }
        &What::Pse {
            quantity,
            nplex,
            earlier,
            no_photo_id,
        } => {
            let (_, mut r) = pse_sale(d, quantity, t, nplex);
            if let Some((h, m, tablets)) = earlier {
                r.purchaser_history = vec![pse_record(hm(h, m), tablets)];
            }
            if no_photo_id && let Some(p) = r.purchaser.as_mut() {
                p.photo_id = None;
            }
            Request::OtcSale(r)
        }
        What::CvSyrup { earlier_bottle } => {
            let mut r = cv_syrup_sale(d, t);
            if let Some(earlier) = earlier_bottle {
                r.purchaser_history = vec![PurchaseRecord {
                    at: at(earlier),
                    chemical: None,
                    cv_units: 0,
                    cv_ml: 118,
                    cv_opium: false,
                }];
            }
            Request::OtcSale(r)
        }
        What::DestroyFirstLot(product) => {
            let lot = shelf(&product()).remove(0);
            let quantity = u32::try_from(lot.on_hand).unwrap_or(0);
            Request::StockMove(StockMoveRequest {
                schema_version: SchemaVersion::CURRENT,
                kind: StockMoveKind::Destroy,
                lot,
                quantity,
            })
        }
        What::ZeroReport => Request::EndOfDay(EndOfDayRequest {
            schema_version: SchemaVersion::CURRENT,
            date: day(),
            reportable_dispenses: 0,
            pending_reports: vec![],
        }),
    };
    d.push(label, request, ctx);
}

/// The prescription a scripted row writes (a new patient's), with its product.
fn scripted_rx(d: &mut Day, rx: &Rx, t: DateTime) -> (Prescription, Product) {
    let (mut written, product, edits, history) = match *rx {
        Rx::New {
            product,
            prescriber,
            quantity,
            days,
            refills,
            issued,
            edits,
            history,
        } => {
            let product = product();
            let (_, pt) = d.patient();
            let n = d.rx_number();
            let rx = prescription(
                &n,
                pt,
                prescriber,
                &product,
                quantity,
                days,
                refills,
                date(issued),
            );
            (rx, product, edits, history)
        }
        Rx::Cii {
            product,
            quantity,
            days,
            issued,
            edits,
        } => {
            let product = product();
            let rx = cii_rx(d, &product, quantity, days, issued);
            (rx, product, edits, None)
        }
        Rx::Maintenance {
            product,
            per_day,
            days,
            days_ago,
        } => {
            let product = product();
            let rx = maintenance_rx(d, &product, per_day, days, t, days_ago);
            (rx, product, &[][..], None)
        }
        Rx::Kept => unreachable!("a kept request is a fill, not a prescription"),
    };
    for edit in edits {
        edit_rx(&mut written, edit);
    }
    if let Some((last, count)) = history {
        written = with_history(written, at(last), count);
    }
    (written, product)
}

fn edit_rx(rx: &mut Prescription, edit: &RxEdit) {
    match *edit {
        RxEdit::Daw1 => rx.daw = DawCode::PrescriberRequiresBrand,
        RxEdit::Directions(directions, max_daily) => {
            rx.directions = directions.into();
            rx.max_daily_units = Some(max_daily);
        }
        RxEdit::PastFill(t, quantity, days, partial) => {
            let fill = Fill {
                partial,
                ..past_fill(rx, at(t), quantity, days)
            };
            rx.fills.push(fill);
        }
        RxEdit::EarliestFill(d) => rx.earliest_fill_date = Some(date(d)),
        RxEdit::Fax => rx.origin = RxOrigin::Fax,
        RxEdit::EmergencyOral(h, m, period) => {
            rx.origin = RxOrigin::EmergencyOral;
            rx.signed = false;
            rx.issued_at = Some(hm(h, m));
            rx.emergency_period_days = Some(period);
        }
        RxEdit::NewPatient => rx.patient.new_patient = true,
        RxEdit::TransferredIn(d, from) => rx.transfers.push(Transfer {
            date: date(d),
            from_pharmacy: PharmacyId::new(from),
            to_pharmacy: STORE_ID,
            initial_fill: false,
        }),
    }
}

/// The fill request a scripted row makes, its edits applied in order.
fn scripted_fill(d: &mut Day, rx: &Rx, edits: &[Edit], t: DateTime) -> FillRequest {
    let mut r = match rx {
        Rx::Kept => d.kept.clone().expect("Rx::Kept follows an Edit::Keep"),
        _ => {
            let (rx, product) = scripted_rx(d, rx, t);
            fill_request(rx, &product)
        }
    };
    for edit in edits {
        match *edit {
            Edit::Dispensed(product) => r.dispensed = product(),
            Edit::Insured => insured(&mut r),
            Edit::Cash => r.payment = Payment::Cash,
            Edit::Pmp(h, m) => pmp_queried(&mut r, hm(h, m)),
            Edit::PmpUnavailable(reason) => {
                r.pmp = PmpStatus::Unavailable {
                    reason: reason.into(),
                }
            }
            Edit::Supply(quantity, days) => {
                r.quantity = quantity;
                r.days_supply = days;
            }
            Edit::Partial(pathway) => r.partial = Some(pathway),
            Edit::Shelf => r.lots = shelf(&r.dispensed),
            Edit::Pick(lot_number) => {
                r.picks = vec![LotPick {
                    lot_number: lot_number.into(),
                    quantity: r.quantity,
                }]
            }
            Edit::Fefo => r = with_fefo(r, day()),
            Edit::Dscsa(detail) => {
                r.dscsa = Some(DscsaCheck::Mismatch {
                    detail: detail.into(),
                })
            }
            Edit::OfflineOverrides => offline_overrides(&mut r),
            Edit::Keep => d.kept = Some(r.clone()),
        }
    }
    r
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
