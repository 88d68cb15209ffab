//! One arrival as pharm-core sees it: the request, the store's context at the arrival's
//! simulated time, and the dispense the terminal records if the rules allow it.
//!
//! Every detail (product, quantities, history, dates) is drawn from a generator seeded by
//! the run's seed and the arrival's coordinates, so it does not depend on which thread or
//! in which order the arrival is played.

use pharm_core::ids::PharmacyId;
use pharm_core::model::{Fill, Prescription, Product};
use pharm_core::rules::{
    Context, FillRequest, NplexResult, Payment, PmpStatus, Request, StateProfile,
};
use pharm_core::time::{Date, DateTime};

use crate::products::{self, Templates};
use crate::rng::XorShift64;
use crate::workload::{Arrival, Kind, stream_seed};

/// Simulated seconds per simulated millisecond of the hour: the hour plays the store's
/// 12-hour business day (08:00–20:00).
const DAY_SECONDS_PER_HOUR_MS: f64 = 12.0 * 3_600.0 / 3_600_000.0;

/// The simulated business day.
pub fn business_day() -> Date {
    // 2026-04-15 is a valid constant date; the fallback is never taken.
    Date::from_ymd(2026, 4, 15).unwrap_or(Date::MIN)
}

/// Store-local time of an arrival: 08:00 plus the hour's offset stretched over the day.
pub fn local_time(at_ms: u64) -> DateTime {
    let opening = business_day().start().add_hours(8);
    opening.add_seconds((at_ms as f64 * DAY_SECONDS_PER_HOUR_MS) as i64)
}

/// The pharm-core id of pharmacy index `p`.
pub fn pharmacy_id(p: u32) -> PharmacyId {
    PharmacyId::new(p.saturating_add(1))
}

/// What a terminal records when the rules allow the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispense {
    /// The pharmacy's SKU.
    pub sku: u32,
    /// Units.
    pub qty: u64,
    /// Business reference (prescription or receipt number).
    pub reference: String,
}

/// One transaction, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The request for `pharm_core::rules::evaluate`.
    pub request: Request,
    /// The store's context at the arrival's simulated time.
    pub context: Context,
    /// The dispense to apply on the terminal's replica when allowed.
    pub dispense: Dispense,
}

/// Builds the transaction of `arrival` in a store with `skus` SKUs (`None` for an
/// inventory operation, which the rule engine does not decide).
pub fn build(
    templates: &Templates,
    profile: &StateProfile,
    seed: u64,
    skus: u32,
    arrival: &Arrival,
) -> Option<Transaction> {
    let mut rng = XorShift64::new(stream_seed(
        seed,
        &[
            u64::from(arrival.pharmacy),
            u64::from(arrival.terminal),
            u64::from(arrival.seq),
            0xA11,
        ],
    ));
    let now = local_time(arrival.at_ms);
    let reference = format!(
        "{}-{}-{}",
        pharmacy_id(arrival.pharmacy).get(),
        arrival.terminal,
        arrival.seq
    );
    let product = match arrival.kind {
        Kind::Otc => pick(&mut rng, products::OTC),
        Kind::Pseudoephedrine => products::PSEUDOEPHEDRINE,
        Kind::Refill | Kind::NewFill => pick(&mut rng, products::MAINTENANCE),
        Kind::ScheduleIv => products::ALPRAZOLAM,
        Kind::ScheduleIi => pick(&mut rng, products::SCHEDULE_II),
        Kind::Receipt | Kind::Count | Kind::Transfer => return None,
    };
    let mut draw = Draw {
        templates,
        rng: &mut rng,
        now,
        reference: &reference,
    };
    let (request, qty) = match arrival.kind {
        Kind::Otc | Kind::Pseudoephedrine => draw.otc(product),
        kind => draw.fill(kind, product),
    };
    let mut context = Context::new(now, profile.clone());
    context.pharmacy.id = pharmacy_id(arrival.pharmacy);
    context.recall_feed_as_of = Some(business_day().start().add_hours(6));
    Some(Transaction {
        request,
        context,
        dispense: Dispense {
            sku: sku_of(&mut rng, product, skus),
            qty: u64::from(qty),
            reference,
        },
    })
}

/// A SKU of the store stocking `product` (SKU `s` stocks product `s % PRODUCTS`).
fn sku_of(rng: &mut XorShift64, product: usize, skus: u32) -> u32 {
    let n = products::PRODUCTS as u32;
    let copies = (skus.saturating_sub(product as u32)).div_ceil(n).max(1);
    product as u32 + n * rng.below(copies)
}

fn pick(rng: &mut XorShift64, range: std::ops::Range<usize>) -> usize {
    range.start + rng.index(range.len())
}

/// What a request is drawn from: the templates, the arrival's generator, its time and
/// reference.
struct Draw<'a> {
    templates: &'a Templates,
    rng: &'a mut XorShift64,
    now: DateTime,
    reference: &'a str,
}

impl Draw<'_> {
    fn otc(&mut self, product: usize) -> (Request, u32) {
        let (templates, rng, now, reference) =
            (self.templates, &mut *self.rng, self.now, self.reference);
        let p = templates.product(product).clone();
        let mut r = templates.otc_sale.clone();
        let quantity = p.package.size * rng.range(1, 2);
        r.quantity = quantity;
        if p.listed_chemical.is_some() {
            r.nplex = NplexResult::Approved;
            if let Some(buyer) = r.purchaser.as_mut() {
                buyer.key = format!("DL-TX-{reference}");
            }
            if let Some(log) = r.logbook.as_mut() {
                log.at = Some(now);
                log.quantity = quantity;
                log.product_name = p.name.clone();
            }
        } else {
            r.purchaser = None;
            r.logbook = None;
            r.nplex = NplexResult::NotRequired;
        }
        r.product = p;
        (Request::OtcSale(r), quantity)
    }

    fn fill(&mut self, kind: Kind, product: usize) -> (Request, u32) {
        let (templates, rng, now, reference) =
            (self.templates, &mut *self.rng, self.now, self.reference);
        let p = templates.product(product).clone();
        let mut r: FillRequest = templates.fill.clone();
        let (days, per_day, refills) = match kind {
            Kind::Refill | Kind::NewFill => {
                let days = if rng.chance(30) { 90 } else { 30 };
                (
                    days,
                    products::units_per_day(product),
                    if days == 90 { 3 } else { 5 },
                )
            }
            Kind::ScheduleIv => (30, rng.range(1, 2), 0),
            _ => (rng.range(3, 10), 4, 0),
        };
        let quantity = days * per_day;
        let rx = &mut r.prescription;
        rx.rx_number = format!("RX-{reference}");
        rx.patient.id = format!("P-{reference}");
        set_product(rx, &p, quantity, days, per_day, refills);
        let today = now.date();
        if kind == Kind::Refill {
            // On time (the last fill one days supply, plus up to five days, ago), except one
            // refill in twenty asked for a quarter of the way through its supply (too soon).
            let fills = rng.range(1, 2);
            let since = if rng.chance(5) {
                days / 4
            } else {
                days + rng.range(0, 5)
            };
            let last = now.add_hours(-24 * i64::from(since));
            for k in (0..fills).rev() {
                rx.fills.push(Fill {
                    at: last.add_hours(-24 * i64::from(days * k)),
                    quantity,
                    days_supply: days,
                    ndc: p.ndc,
                    partial: None,
                    fill_number: None,
                });
            }
            let first = last.add_hours(-24 * i64::from(days * (fills - 1)));
            rx.issue_date = first.date().add_days(-i64::from(rng.range(1, 6)));
        } else {
            rx.issue_date = today.add_days(-i64::from(rng.range(0, 6)));
        }
        rx.issued_at = Some(rx.issue_date.start().add_hours(9));
        r.quantity = quantity;
        r.days_supply = days;
        r.payment = if rng.chance(25) {
            Payment::Cash
        } else {
            r.payment
        };
        if p.is_controlled() {
            let minutes_ago = i64::from(rng.range(5, 30));
            r.pmp = PmpStatus::Queried {
                at: now.add_seconds(-60 * minutes_ago),
            };
        }
        r.prescribed = p.clone();
        r.dispensed = p;
        (Request::Fill(r), quantity)
    }
}

fn set_product(
    rx: &mut Prescription,
    p: &Product,
    quantity: u32,
    days: u32,
    per_day: u32,
    refills: u32,
) {
    rx.prescribed_ndc = p.ndc;
    rx.drug_name = p.name.clone();
    rx.strength = p.strength.clone();
    rx.dosage_form = p.dosage_form.clone();
    rx.quantity = quantity;
    rx.days_supply = days;
    rx.max_daily_units = Some(per_day);
    rx.refills_authorized = refills;
    rx.directions = if per_day == 1 {
        format!("take 1 {} by mouth daily", p.dosage_form)
    } else {
        format!("take 1 {} by mouth {per_day} times daily", p.dosage_form)
    };
}
