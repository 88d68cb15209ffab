//! Rule table §9.2: Schedule II.

use crate::model::{PartialPathway, Prescription, RxOrigin, SpecialPopulation};
use crate::rules::compliance;
use crate::rules::sink::Sink;
use crate::rules::{FillRequest, FollowUp, RuleId};

/// Hours allowed for the remainder of a pathway (a) partial fill, and for an emergency
/// oral order's pathway (b) remainder.
const SEVENTY_TWO_HOURS: i64 = 72;
/// Days allowed for pathway (b) remainders after the date written.
const REQUESTED_PARTIAL_DAYS: i64 = 30;
/// Days allowed for any portion under pathway (c).
const LTCF_PARTIAL_DAYS: i64 = 60;

/// CS2-FORM-01, CS2-REFILL-01, CS2-EARLIEST-01, CS2-STATEEXP-01, CS2-PARTIAL-*, CS2-EMERG-*.
pub(crate) fn fill(s: &mut Sink<'_>, r: &FillRequest) {
    let rx = &r.prescription;
    let today = s.ctx.today();
    form(s, rx);

    let owed = u64::from(rx.quantity);
    let dispensed = rx.dispensed_total();
    if owed > 0 && dispensed >= owed {
        s.block(
            RuleId::Cs2Refill01,
            format!(
                "{} units of {} already dispensed; a Schedule II prescription cannot be refilled",
                dispensed, owed
            ),
        );
    }
    if let Some(earliest) = rx.earliest_fill_date
        && today < earliest
    {
        s.block(
            RuleId::Cs2Earliest01,
            format!("this Schedule II prescription may not be filled before {earliest} (today is {today})"),
        );
    }
    if let Some(days) = s.ctx.profile.cii_valid_days {
        let (base, what) = match rx.earliest_fill_date {
            Some(e) if s.ctx.profile.cii_valid_from_earliest_fill => (e, "earliest fill date"),
            _ => (rx.issue_date, "issue date"),
        };
        let last = base.add_days(i64::from(days));
        if today > last {
            s.block(
                RuleId::Cs2StateExp01,
                format!(
                    "Schedule II prescription expired: {} allows {days} days after the {what} {base} (last day {last})",
                    s.ctx.profile.state
                ),
            );
        }
    }
    let after = dispensed + u64::from(r.quantity);
    if after > owed {
        s.block(
            RuleId::Cs2PartialTotal01,
            format!("total dispensed would be {after}, more than the {owed} prescribed"),
        );
    }
    partial(s, r, dispensed < owed && dispensed > 0, after < owed);
    emergency(s, r);
}

/// 1306.11: a CII needs a written or electronic prescription; oral only in an emergency,
/// fax only for LTCF and hospice (terminally ill) patients.
fn form(s: &mut Sink<'_>, rx: &Prescription) {
    match rx.origin {
        RxOrigin::Oral => s.block(
            RuleId::Cs2Form01,
            "a Schedule II prescription may be oral only as an emergency oral order".into(),
        ),
        RxOrigin::Fax if rx.special_population == SpecialPopulation::None => s.block(
            RuleId::Cs2Form01,
            "a faxed Schedule II prescription serves as the original only for LTCF or hospice patients".into(),
        ),
        _ => {}
    }
}

/// `continuing`: earlier portions exist and the quantity is not yet complete;
/// `leaves_remainder`: this fill leaves part of the quantity for later.
fn partial(s: &mut Sink<'_>, r: &FillRequest, continuing: bool, leaves_remainder: bool) {
    let rx = &r.prescription;
    if !continuing && !leaves_remainder {
        return;
    }
    // The pathway recorded on the first portion (in time order) of the fill in progress.
    let recorded = rx.open_partial_start().and_then(|f| f.partial);
    let pathway = if continuing { recorded } else { r.partial };
    let Some(pathway) = pathway else {
        if continuing {
            // A remainder whose first portion recorded no pathway: apply the strictest
            // (pathway (a), 72 hours from the first portion).
            supply_window(s, rx);
        } else {
            s.block(
                RuleId::Cs2PartialReq01,
                "a Schedule II partial fill needs a documented pathway (unable to supply, patient or prescriber request, LTCF/terminal)".into(),
            );
        }
        return;
    };
    let today = s.ctx.today();
    match pathway {
        PartialPathway::UnableToSupply => {
            if continuing {
                supply_window(s, rx);
            }
        }
        PartialPathway::PatientRequest | PartialPathway::PrescriberRequest => {
            if !s.ctx.profile.partial_cii_allowed {
                s.block(
                    RuleId::Cs2PartialReq01,
                    format!(
                        "{} law does not allow requested Schedule II partial fills",
                        s.ctx.profile.state
                    ),
                );
            }
            if pathway == PartialPathway::PrescriberRequest && !continuing {
                match rx.prescriber_partial_quantity {
                    None => s.block(
                        RuleId::Cs2PartialReq01,
                        "a prescriber-requested partial fill needs the partial quantity on the prescription".into(),
                    ),
                    Some(q) if r.quantity > q => s.block(
                        RuleId::Cs2PartialReq01,
                        format!("the prescriber specified a partial quantity of {q}; {} requested", r.quantity),
                    ),
                    Some(_) => {}
                }
            }
            if continuing {
                if rx.origin == RxOrigin::EmergencyOral {
                    emergency_remainder_window(s, rx);
                } else {
                    let last = rx.issue_date.add_days(REQUESTED_PARTIAL_DAYS);
                    if today > last {
                        s.block(
                            RuleId::Cs2PartialReq02,
                            format!("remaining portions must be filled within 30 days of the date written {} (last day {last})", rx.issue_date),
                        );
                    }
                }
            }
        }
        PartialPathway::LtcfOrTerminal => {
            if rx.special_population == SpecialPopulation::None {
                s.block(
                    RuleId::Cs2PartialLtcf01,
                    "pathway (c) needs an LTCF patient or a documented terminal illness on the prescription".into(),
                );
            }
            let last = rx.issue_date.add_days(LTCF_PARTIAL_DAYS);
            if today > last {
                s.block(
                    RuleId::Cs2PartialLtcf01,
                    format!("no portion may be dispensed more than 60 days after issue {} (last day {last})", rx.issue_date),
                );
            }
        }
    }
}

/// Pathway (b) of an emergency oral order: remaining portions within 72 hours of issue.
/// Without a recorded issue time the order may have been issued at any second of its
/// day: after the latest possible deadline the remainder is blocked, and between the
/// earliest and the latest the pharmacist must confirm the time (never a guessed midnight).
fn emergency_remainder_window(s: &mut Sink<'_>, rx: &Prescription) {
    let (earliest, latest) = rx.issue_time_bounds();
    let (first_deadline, last_deadline) = (
        earliest.add_hours(SEVENTY_TWO_HOURS),
        latest.add_hours(SEVENTY_TWO_HOURS),
    );
    if s.ctx.now > last_deadline {
        s.block(
            RuleId::Cs2PartialReq02,
            format!("remaining portion of an emergency oral order is due within 72 hours of issue (by {last_deadline})"),
        );
    } else if s.ctx.now > first_deadline {
        s.require_override(
            RuleId::Cs2PartialReq02,
            format!("the time of the emergency oral order of {} is not recorded: its 72-hour window ends between {first_deadline} and {last_deadline}; confirm the order was issued after {} before dispensing", rx.issue_date, s.ctx.now.add_hours(-SEVENTY_TWO_HOURS)),
        );
    }
}

/// Pathway (a): the remainder within 72 hours of the first partial fill.
fn supply_window(s: &mut Sink<'_>, rx: &Prescription) {
    // The first portion, in time order, of the fill in progress.
    let Some(first) = rx.open_partial_start() else {
        return;
    };
    let deadline = first.at.add_hours(SEVENTY_TWO_HOURS);
    if s.ctx.now > deadline {
        s.block(
            RuleId::Cs2PartialSupply01,
            format!(
                "remainder of a partial fill first dispensed {} was due by {deadline}; a new prescription is needed",
                first.at
            ),
        );
        s.follow(FollowUp::NotifyPrescriber {
            rx_number: rx.rx_number.clone(),
            reason: "Schedule II remainder not supplied within 72 hours (21 CFR 1306.13(a))".into(),
        });
    }
}

fn emergency(s: &mut Sink<'_>, r: &FillRequest) {
    let rx = &r.prescription;
    if rx.origin != RxOrigin::EmergencyOral {
        return;
    }
    let profile = &s.ctx.profile;
    match (profile.emergency_cii_max_days_supply, rx.emergency_period_days) {
        (Some(cap), _) if r.days_supply > cap => s.block(
            RuleId::Cs2Emerg01,
            format!("{} limits an emergency oral Schedule II to {cap} days supply; {} entered", profile.state, r.days_supply),
        ),
        (_, Some(period)) if r.days_supply <= period => {}
        (_, period) => s.require_override(
            RuleId::Cs2Emerg01,
            match period {
                Some(p) => format!("{} days supply exceeds the documented emergency period of {p} days", r.days_supply),
                None => "emergency period not documented; the pharmacist must confirm the quantity covers only the emergency".into(),
            },
        ),
    }
    compliance::emergency_follow_up(s, rx, true);
}

/// CS2-XFER-01: only an unfilled electronic CII, once.
pub(crate) fn transfer(s: &mut Sink<'_>, rx: &Prescription) {
    let mut why = Vec::new();
    if rx.origin != RxOrigin::Electronic {
        why.push("it is not an electronic prescription");
    }
    if !rx.fills.is_empty() {
        why.push("it has already been (partially) filled");
    }
    if !rx.transfers.is_empty() {
        why.push("it has already been transferred once");
    }
    if !why.is_empty() {
        s.block(
            RuleId::Cs2Xfer01,
            format!(
                "Schedule II prescription {} cannot be transferred: {}",
                rx.rx_number,
                why.join("; ")
            ),
        );
    }
}
