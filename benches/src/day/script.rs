//! The day's scripted events as a table: one row per request, each exercising one rule
//! family at a realistic boundary. [`super::realistic_day`] plays the rows in this order
//! (patients and Rx numbers are handed out in it) and then sorts the day by time.

use pharm_core::model::{PartialPathway, Product};
use pharm_core::rules::{Context, NplexResult, Request, StateProfile};

use crate::catalog::*;

/// One scripted request.
pub(super) struct Event {
    /// When it happens (`hh`, `mm`); a [`What::Built`] request carries its own context,
    /// at this time.
    pub(super) at: (u32, u32),
    /// The state preset it runs under; `None` for the Texas store.
    pub(super) preset: Option<fn() -> StateProfile>,
    /// What the demo prints.
    pub(super) label: &'static str,
    /// The request.
    pub(super) what: What,
}

/// The kinds of scripted request.
pub(super) enum What {
    /// A fill of a new prescription (or of the kept request), with its edits in order.
    Fill {
        /// The prescription.
        rx: Rx,
        /// Edits of the request, in order.
        edits: &'static [Edit],
    },
    /// Intake of a new prescription.
    Intake(Rx),
    /// A transfer of a new prescription to pharmacy `to`.
    Transfer {
        /// The prescription.
        rx: Rx,
        /// Receiving pharmacy.
        to: u32,
    },
    /// Hand-off of a prescription filled an hour earlier; with an ID, a PMP report is due.
    HandOff {
        /// The product.
        product: fn() -> Product,
        /// Units.
        quantity: u32,
        /// Days supply.
        days: u32,
        /// The pick-up person shows an ID.
        id: bool,
        /// Insured (else cash).
        insured: bool,
    },
    /// A pseudoephedrine sale with logbook entry.
    Pse {
        /// Tablets.
        quantity: u32,
        /// The NPLEx answer.
        nplex: NplexResult,
        /// Tablets the buyer bought earlier today, at (`hh`, `mm`).
        earlier: Option<(u32, u32, u64)>,
        /// The buyer shows no photo ID.
        no_photo_id: bool,
    },
    /// A codeine syrup sale without a prescription.
    CvSyrup {
        /// When the buyer bought an earlier 118 mL bottle, if they did.
        earlier_bottle: Option<&'static str>,
    },
    /// Destruction of the product's first (expired) shelf lot.
    DestroyFirstLot(fn() -> Product),
    /// A request built elsewhere, with its own context.
    Built(fn() -> (Request, Context)),
    /// An end-of-day report with no reportable dispenses.
    ZeroReport,
}

/// How a scripted prescription is written.
pub(super) enum Rx {
    /// A new patient's prescription: product, prescriber index, quantity, days supply,
    /// refills, issue date, edits, and the past fills (last fill, count).
    New {
        /// The product.
        product: fn() -> Product,
        /// Index of the prescriber.
        prescriber: usize,
        /// Units.
        quantity: u32,
        /// Days supply.
        days: u32,
        /// Refills authorized.
        refills: u32,
        /// Issue date.
        issued: &'static str,
        /// Edits of the prescription, in order.
        edits: &'static [RxEdit],
        /// Past fills: the last one's time and how many.
        history: Option<(&'static str, u32)>,
    },
    /// A new patient's CII with no refills (prescriber drawn from the Rx number).
    Cii {
        /// The product.
        product: fn() -> Product,
        /// Units.
        quantity: u32,
        /// Days supply.
        days: u32,
        /// Issue date.
        issued: &'static str,
        /// Edits of the prescription, in order.
        edits: &'static [RxEdit],
    },
    /// A maintenance refill whose last fill was `days_ago` days before the event.
    Maintenance {
        /// The product.
        product: fn() -> Product,
        /// Units a day.
        per_day: u32,
        /// Days supply.
        days: u32,
        /// Days since the last fill.
        days_ago: u32,
    },
    /// The request kept by the last [`Edit::Keep`].
    Kept,
}

/// An edit of a scripted prescription.
pub(super) enum RxEdit {
    /// DAW 1: the prescriber requires the brand.
    Daw1,
    /// Directions and the most units a day.
    Directions(&'static str, u32),
    /// A past fill: time, units, days supply, partial-fill pathway.
    PastFill(&'static str, u32, u32, Option<PartialPathway>),
    /// Earliest fill date.
    EarliestFill(&'static str),
    /// Received by fax.
    Fax,
    /// Emergency oral order, unsigned, issued at (`hh`, `mm`), for a period in days.
    EmergencyOral(u32, u32, u32),
    /// The patient is new to the store.
    NewPatient,
    /// Transferred in on a date from pharmacy `from` (for refills).
    TransferredIn(&'static str, u32),
}

/// An edit of a scripted fill request.
pub(super) enum Edit {
    /// Another product dispensed than prescribed.
    Dispensed(fn() -> Product),
    /// Paid by the commercial plan.
    Insured,
    /// Paid in cash.
    Cash,
    /// PMP queried at (`hh`, `mm`).
    Pmp(u32, u32),
    /// PMP unreachable, for a reason.
    PmpUnavailable(&'static str),
    /// Units and days supply dispensed.
    Supply(u32, u32),
    /// A partial fill under a pathway.
    Partial(PartialPathway),
    /// The store's lots of the dispensed product.
    Shelf,
    /// The pharmacist scans a lot for the whole quantity.
    Pick(&'static str),
    /// FEFO allocation on the demo day.
    Fefo,
    /// DSCSA verification mismatch.
    Dscsa(&'static str),
    /// The two offline overrides (CS-OFFLINE-01, CS-PMP-01).
    OfflineOverrides,
    /// Keep the request as it is now for the next [`Rx::Kept`] rows.
    Keep,
}

use Edit::*;

const fn store(at: (u32, u32), label: &'static str, what: What) -> Event {
    Event {
        at,
        preset: None,
        label,
        what,
    }
}

const fn preset(
    at: (u32, u32),
    profile: fn() -> StateProfile,
    label: &'static str,
    what: What,
) -> Event {
    Event {
        at,
        preset: Some(profile),
        label,
        what,
    }
}

#[allow(clippy::too_many_arguments)]
const fn rx(
    product: fn() -> Product,
    prescriber: usize,
    quantity: u32,
    days: u32,
    refills: u32,
    issued: &'static str,
    edits: &'static [RxEdit],
    history: Option<(&'static str, u32)>,
) -> Rx {
    Rx::New {
        product,
        prescriber,
        quantity,
        days,
        refills,
        issued,
        edits,
        history,
    }
}

const fn cii(
    product: fn() -> Product,
    quantity: u32,
    days: u32,
    issued: &'static str,
    edits: &'static [RxEdit],
) -> Rx {
    Rx::Cii {
        product,
        quantity,
        days,
        issued,
        edits,
    }
}

const fn fill(rx: Rx, edits: &'static [Edit]) -> What {
    What::Fill { rx, edits }
}

const fn pse(quantity: u32, nplex: NplexResult) -> What {
    What::Pse {
        quantity,
        nplex,
        earlier: None,
        no_photo_id: false,
    }
}

const OFFLINE: &str = "store offline";

/// The scripted events, in the order they are played.
#[rustfmt::skip]
pub(super) const SCRIPT: &[Event] = &[
    // Morning, Texas store.
    store((9, 5), "intake: CIV alprazolam with 6 refills",
        What::Intake(rx(alprazolam, 1, 60, 30, 6, "2026-04-14", &[], None))),
    store((9, 12), "refill Lipitor DAW 1, generic picked",
        fill(rx(lipitor, 0, 30, 30, 5, "2026-02-10", &[RxEdit::Daw1], Some(("2026-03-14T10:20:00", 1))),
            &[Dispensed(atorvastatin), Insured])),
    store((9, 20), "refill Lipitor DAW 0, brand dispensed",
        fill(rx(lipitor, 2, 30, 30, 5, "2026-01-20", &[], Some(("2026-03-16T17:05:00", 2))), &[Cash])),
    store((9, 31), "refill metformin, Rx written 2025-04-02",
        fill(rx(metformin, 3, 60, 30, 12, "2025-04-02", &[], Some(("2026-03-18T11:00:00", 12))), &[Insured])),
    store((9, 40), "refill lisinopril, no refills left",
        fill(rx(lisinopril, 0, 30, 30, 2, "2026-01-05", &[], Some(("2026-03-17T09:45:00", 3))), &[Insured])),
    // Texas allows NTI substitution.
    store((9, 48), "Synthroid Rx, generic levothyroxine",
        fill(rx(synthroid, 1, 90, 90, 3, "2025-12-20", &[], Some(("2026-01-14T12:00:00", 1))),
            &[Dispensed(levothyroxine), Insured, Fefo])),
    // One levothyroxine refill, four scans: expired, recalled, not FEFO, then FEFO.
    store((10, 2), "levothyroxine: scan expired lot",
        fill(rx(levothyroxine, 2, 90, 90, 3, "2025-12-01", &[], Some(("2026-01-17T10:00:00", 1))),
            &[Insured, Shelf, Keep, Pick("LEV25EXP")])),
    store((10, 4), "levothyroxine: scan recalled lot", fill(Rx::Kept, &[Pick("LEV26REC")])),
    store((10, 6), "levothyroxine: scan later lot (not FEFO)", fill(Rx::Kept, &[Pick("LEV27B")])),
    store((10, 8), "levothyroxine: FEFO allocation", fill(Rx::Kept, &[Fefo])),
    store((10, 12), "levothyroxine: DSCSA mismatch on scan",
        fill(Rx::Kept, &[Fefo, Dscsa("serial 8837261 not in T3 for lot LEV26A")])),
    // Reconstituted antibiotic: 14-day beyond-use date on the label.
    store((10, 15), "new Rx amoxicillin susp (BUD 14 d)",
        fill(rx(amoxicillin_suspension, 3, 100, 10, 0, "2026-04-15",
            &[RxEdit::Directions("take 5 mL by mouth twice daily for 10 days", 10)], None),
            &[Fefo, Insured])),
    store((10, 20), "destroy expired lot LEV25EXP", What::DestroyFirstLot(levothyroxine)),
    store((10, 40), "refill atorvastatin (typical refill)", What::Built(crate::typical_refill)),
    // Controlled substances.
    store((10, 30), "new CII oxycodone, PMP checked",
        fill(cii(oxycodone, 60, 15, "2026-04-14", &[]), &[Fefo, Insured, Pmp(10, 25)])),
    // Texas requires the PMP check before dispensing an opioid.
    store((10, 34), "new CII hydrocodone, PMP not checked",
        fill(cii(hydrocodone_apap, 40, 10, "2026-04-15", &[]), &[])),
    store((10, 45), "CII partial 20/60 (unable to supply)",
        fill(cii(oxycodone, 60, 15, "2026-04-15", &[]),
            &[Supply(20, 5), Partial(PartialPathway::UnableToSupply), Pmp(10, 40)])),
    store((10, 50), "CII partial 30/60 (patient request)",
        fill(cii(hydrocodone_apap, 60, 15, "2026-04-13", &[]),
            &[Supply(30, 7), Partial(PartialPathway::PatientRequest), Pmp(10, 48)])),
    store((11, 0), "CII remainder 40/60 within 72 h", What::Built(crate::cii_partial_fill)),
    store((11, 5), "CII remainder 40/60 after 72 h",
        fill(cii(oxycodone, 60, 15, "2026-04-11",
            &[RxEdit::PastFill("2026-04-11T15:10:00", 20, 5, Some(PartialPathway::UnableToSupply))]),
            &[Supply(40, 10), Pmp(11, 0)])),
    store((11, 10), "CII refill requested",
        fill(cii(oxycodone, 60, 15, "2026-03-30", &[RxEdit::PastFill("2026-03-31T14:00:00", 60, 15, None)]),
            &[Pmp(11, 8)])),
    // Texas: CII valid 30 days after issue.
    store((11, 15), "CII written 2026-03-11 (TX 30 days)",
        fill(cii(hydrocodone_apap, 30, 5, "2026-03-11", &[]), &[Pmp(11, 12)])),
    // No PMP mandate for stimulants in Texas.
    store((11, 20), "CII stimulant before earliest fill date",
        fill(cii(methylphenidate, 30, 30, "2026-03-25", &[RxEdit::EarliestFill("2026-04-24")]), &[])),
    store((11, 25), "CII received by fax (not LTCF/hospice)",
        fill(cii(oxycodone, 30, 5, "2026-04-15", &[RxEdit::Fax]), &[Pmp(11, 22)])),
    // Allowed; the follow-up prescription is due in 7 days.
    store((11, 30), "emergency oral CII, 3-day supply",
        fill(cii(oxycodone, 12, 3, "2026-04-15", &[RxEdit::EmergencyOral(11, 20, 3)]), &[Pmp(11, 26)])),
    store((11, 40), "CIII refill 6+ months after issue",
        fill(rx(apap_codeine, 0, 30, 10, 5, "2025-10-10", &[], Some(("2026-01-20T15:00:00", 3))), &[Pmp(11, 38)])),
    // Federal cap: five refills.
    store((11, 45), "CIV refill #6 of 6 (cap 5)",
        fill(rx(alprazolam, 1, 60, 30, 6, "2025-10-20", &[], Some(("2026-03-20T16:00:00", 6))), &[Pmp(11, 43)])),
    store((11, 50), "CV pregabalin refill",
        fill(rx(pregabalin, 2, 60, 30, 5, "2026-01-10", &[], Some(("2026-03-18T13:00:00", 3))), &[Fefo, Insured])),
    // Texas wants the ID of whoever picks up a CII; a controlled hand-off queues a PMP report.
    store((12, 45), "hand-off CII oxycodone with ID",
        What::HandOff { product: oxycodone, quantity: 30, days: 5, id: true, insured: true }),
    store((12, 50), "hand-off CII oxycodone, no ID",
        What::HandOff { product: oxycodone, quantity: 30, days: 5, id: false, insured: true }),
    // Over the counter.
    store((12, 0), "PSE 2 x 24 ct, ID + logbook", pse(48, NplexResult::Approved)),
    store((12, 10), "PSE 48 ct after 120 ct this morning",
        What::Pse { quantity: 48, nplex: NplexResult::Approved, earlier: Some((9, 40, 120)), no_photo_id: false }),
    store((12, 20), "PSE 24 ct, no photo ID",
        What::Pse { quantity: 24, nplex: NplexResult::Approved, earlier: None, no_photo_id: true }),
    store((12, 30), "CV codeine syrup 118 mL, no Rx", What::CvSyrup { earlier_bottle: None }),
    store((12, 35), "CV syrup, 2nd bottle within 48 h", What::CvSyrup { earlier_bottle: Some("2026-04-14T18:20:00") }),
    // Offline, 13:30-16:00.
    store((13, 40), "offline: CII, no override yet",
        fill(cii(oxycodone, 40, 10, "2026-04-15", &[]), &[Pmp(9, 15), Keep])),
    store((13, 45), "offline: same CII with override", fill(Rx::Kept, &[OfflineOverrides])),
    // PMP unreachable: two overrides, both reconciled later.
    store((13, 55), "offline: CIV, PMP unreachable, overrides",
        fill(rx(alprazolam, 3, 60, 30, 5, "2026-01-02", &[], Some(("2026-03-18T10:00:00", 3))),
            &[PmpUnavailable(OFFLINE), OfflineOverrides])),
    // Insurance refills while offline: sold now, claims queued.
    store((14, 5), "offline: insured refill, claim queued",
        fill(Rx::Maintenance { product: amlodipine, per_day: 1, days: 30, days_ago: 26 }, &[Fefo, Insured])),
    store((14, 15), "offline: insured refill too soon",
        fill(Rx::Maintenance { product: sertraline, per_day: 1, days: 30, days_ago: 18 }, &[Insured])),
    // Texas blocks listed-chemical sales without the NPLEx cross-store check.
    store((14, 25), "offline: PSE 24 ct (NPLEx unreachable)", pse(24, NplexResult::Unreachable)),
    store((14, 35), "offline: CV codeine syrup, no Rx", What::CvSyrup { earlier_bottle: None }),
    // Texas allows a CII to a new patient offline with an override.
    store((14, 45), "offline: CII new patient, overrides",
        fill(cii(hydrocodone_apap, 20, 5, "2026-04-15", &[RxEdit::NewPatient]),
            &[PmpUnavailable(OFFLINE), OfflineOverrides])),
    store((15, 0), "offline: hand-off CII with ID",
        What::HandOff { product: oxycodone, quantity: 40, days: 10, id: true, insured: false }),
    // Evening: back online, the skipped PMP query is made and the fill goes through.
    store((16, 5), "back online: CII, PMP checked",
        fill(cii(oxycodone, 40, 10, "2026-04-15", &[]), &[Fefo, Pmp(16, 3), Insured])),
    store((16, 20), "transfer CIII refills out a 2nd time",
        What::Transfer {
            rx: rx(apap_codeine, 0, 30, 10, 5, "2026-03-01", &[RxEdit::TransferredIn("2026-03-10", 300)],
                Some(("2026-03-20T12:00:00", 2))),
            to: 988,
        }),
    // One transfer of an unfilled EPCS CII for initial filling is allowed.
    store((16, 25), "transfer unfilled EPCS CII",
        What::Transfer { rx: cii(oxycodone, 30, 5, "2026-04-15", &[]), to: 988 }),
    store((17, 30), "hand-off CII hydrocodone with ID",
        What::HandOff { product: hydrocodone_apap, quantity: 20, days: 5, id: true, insured: true }),
    // Other state presets.
    // California: CII valid six months.
    preset((16, 40), StateProfile::california, "CII written 60 days ago",
        fill(cii(oxycodone, 30, 5, "2026-02-14", &[]), &[Pmp(16, 38)])),
    // New York: emergency oral CII capped at 5 days supply.
    preset((16, 45), StateProfile::new_york, "emergency oral CII, 7 days",
        fill(cii(oxycodone, 28, 7, "2026-04-15", &[RxEdit::EmergencyOral(16, 30, 7)]), &[])),
    // New York: no substitution of narrow-therapeutic-index drugs.
    preset((16, 50), StateProfile::new_york, "Synthroid Rx, generic levothyroxine",
        fill(rx(synthroid, 1, 90, 90, 3, "2025-12-20", &[], Some(("2026-01-14T12:00:00", 1))),
            &[Dispensed(levothyroxine)])),
    // Massachusetts: the follow-up for an emergency oral CII is due in 3 days.
    preset((17, 0), StateProfile::massachusetts, "emergency oral CII, follow-up in 3 d",
        fill(cii(oxycodone, 12, 3, "2026-04-15", &[RxEdit::EmergencyOral(16, 50, 3)]), &[])),
    // Alaska: PMP check mandatory for CIII, no exemption when it is down.
    preset((17, 10), StateProfile::alaska, "CIII refill, PMP down",
        fill(rx(apap_codeine, 2, 30, 10, 2, "2026-03-20", &[], Some(("2026-04-02T09:30:00", 1))),
            &[PmpUnavailable("PMP gateway timeout")])),
    // Federal baseline: NPLEx unreachable → pharmacist override, upload later.
    preset((17, 20), StateProfile::federal, "PSE 24 ct, NPLEx unreachable", pse(24, NplexResult::Unreachable)),
    // Minnesota: a day without reportable dispenses still needs a zero report.
    preset((20, 58), StateProfile::minnesota, "end of day, nothing reportable", What::ZeroReport),
];
