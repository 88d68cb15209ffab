//! Rule table §9.1: prescriber and prescription validity.

use crate::ids::{DeaError, DeaNumber};
use crate::model::{Prescription, RxOrigin, Schedule};
use crate::rules::sink::Sink;
use crate::rules::{Outcome, RuleId};

/// RX-FIELDS-01, RX-POSTDATED-01, DEA-FMT-01, DEA-CHK-01, DEA-NAME-01, DEA-REG-01.
pub(crate) fn validity(s: &mut Sink<'_>, rx: &Prescription, schedule: Option<Schedule>) {
    let today = s.ctx.today();
    if schedule.is_some() {
        required_fields(s, rx);
    }
    if rx.issue_date > today {
        s.block(
            RuleId::RxPostdated01,
            format!(
                "prescription is dated {} but today is {today}; post-dating is prohibited",
                rx.issue_date
            ),
        );
    }
    if let Some(text) = rx.prescriber.dea.as_deref() {
        dea_number(s, text, &rx.prescriber.last_name, schedule.is_some());
    }
    if let Some(sched) = schedule {
        registration(s, rx, sched);
    }
}

fn required_fields(s: &mut Sink<'_>, rx: &Prescription) {
    let mut missing: Vec<&str> = Vec::new();
    let blank = |t: &str| t.trim().is_empty();
    if blank(&rx.patient.first_name) || blank(&rx.patient.last_name) {
        missing.push("patient full name");
    }
    if !rx.patient.address.as_ref().is_some_and(|a| a.is_complete()) {
        missing.push("patient address");
    }
    if blank(&rx.drug_name) {
        missing.push("drug name");
    }
    if blank(&rx.strength) {
        missing.push("strength");
    }
    if blank(&rx.dosage_form) {
        missing.push("dosage form");
    }
    if rx.quantity == 0 {
        missing.push("quantity");
    }
    if blank(&rx.directions) {
        missing.push("directions for use");
    }
    if blank(&rx.prescriber.first_name) || blank(&rx.prescriber.last_name) {
        missing.push("prescriber name");
    }
    if !rx
        .prescriber
        .address
        .as_ref()
        .is_some_and(|a| a.is_complete())
    {
        missing.push("prescriber address");
    }
    if rx.prescriber.dea.as_deref().is_none_or(blank) {
        missing.push("prescriber DEA number");
    }
    let needs_signature = matches!(
        rx.origin,
        RxOrigin::Written | RxOrigin::Electronic | RxOrigin::Fax
    );
    if needs_signature && !rx.signed {
        missing.push("prescriber signature");
    }
    if !missing.is_empty() {
        s.block(
            RuleId::RxFields01,
            format!(
                "controlled-substance prescription {} is missing: {}",
                rx.rx_number,
                missing.join(", ")
            ),
        );
    }
}

fn dea_number(s: &mut Sink<'_>, text: &str, last_name: &str, controlled: bool) {
    let severity = if controlled {
        Outcome::Block
    } else {
        Outcome::Warn
    };
    match text.parse::<DeaNumber>() {
        Ok(dea) => {
            if !dea.has_known_registrant_letter() {
                s.warn(
                    RuleId::DeaFmt01,
                    format!(
                        "DEA number {dea} starts with '{}', not a registrant type letter in use",
                        dea.registrant_type()
                    ),
                );
            }
            if !dea.matches_last_name(last_name) {
                s.warn(
                    RuleId::DeaName01,
                    format!(
                        "DEA number {dea} second letter '{}' does not match prescriber last name {last_name:?} (name change or business registration?)",
                        dea.second_char()
                    ),
                );
            }
        }
        Err(e @ DeaError::CheckDigit { .. }) => s.add(RuleId::DeaChk01, severity, e.to_string()),
        Err(e) => s.add(RuleId::DeaFmt01, severity, e.to_string()),
    }
}

fn registration(s: &mut Sink<'_>, rx: &Prescription, schedule: Schedule) {
    let today = s.ctx.today();
    let stale_outcome = if schedule == Schedule::C2 {
        Outcome::RequireOverride
    } else {
        Outcome::Warn
    };
    let Some(reg) = rx.prescriber.registration.as_ref() else {
        s.add(
            RuleId::DeaReg01,
            stale_outcome,
            "prescriber's DEA registration has not been verified (no cached registrant record)"
                .into(),
        );
        return;
    };
    if !reg.active {
        s.block(
            RuleId::DeaReg01,
            "prescriber's DEA registration is not active".into(),
        );
    } else if reg.expires < today {
        s.block(
            RuleId::DeaReg01,
            format!("prescriber's DEA registration expired on {}", reg.expires),
        );
    } else if !reg.schedules.contains(&schedule) {
        s.block(
            RuleId::DeaReg01,
            format!(
                "prescriber's DEA registration does not cover schedule {}",
                schedule.label()
            ),
        );
    }
    let max = i64::from(s.ctx.policy.dea_cache_max_age_hours);
    if reg.fetched_at > s.ctx.latest_record_time() {
        s.add(
            RuleId::DeaReg01,
            stale_outcome,
            format!("cached DEA registrant data is dated {}, after now: its age is unknown; verify the registration", reg.fetched_at),
        );
    } else if s.ctx.now.more_than_hours_after(reg.fetched_at, max) {
        let age_h = s.ctx.now.hours_since(reg.fetched_at);
        s.add(
            RuleId::DeaReg01,
            stale_outcome,
            format!("cached DEA registrant data is {age_h} h old (limit {max} h); verify the registration"),
        );
    }
}
