//! Random draws the generator makes: uniform, per-mille and weighted picks, generic counts,
//! strength ladders and B codes.

use crate::rng::XorShift64;

use super::words::*;

pub(super) fn unit(rng: &mut XorShift64) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

pub(super) fn per_mille(rng: &mut XorShift64, n: u32) -> bool {
    rng.below(1000) < n
}

pub(super) fn pick<T: Copy>(rng: &mut XorShift64, items: &[T]) -> T {
    items[rng.index(items.len())]
}

pub(super) fn weighted<T: Copy>(rng: &mut XorShift64, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, w)| w).sum();
    let mut r = rng.below(total);
    for &(item, w) in items {
        if r < w {
            return item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Heavy-tailed number of ANDA applicants for one (molecule, form): a fifth single-source,
/// a median of two or three, a few dozen groups of 25–40.
pub(super) fn generic_count(rng: &mut XorShift64) -> usize {
    if rng.chance(18) {
        return 0;
    }
    let g = (1.6 / unit(rng).powf(0.85)).floor() as usize;
    if g > 40 { 25 + rng.index(16) } else { g.max(1) }
}

pub(super) fn style_ladder(style: Style, family: Family, solid: usize) -> &'static [u32] {
    match style {
        Style::Solid | Style::OralLiquid => SOLID_LADDERS[solid % SOLID_LADDERS.len()],
        Style::PerMl => PER_ML,
        Style::Vial => VIAL,
        Style::Percent if family == Family::Nebulized => NEBULIZER,
        Style::Percent => PERCENT,
        Style::Inhaler => INHALER,
        Style::Nasal => NASAL,
        Style::Transdermal => TRANSDERMAL,
    }
}

pub(super) fn b_code(rng: &mut XorShift64, form: &FormSpec) -> &'static str {
    if form.er {
        return "BC";
    }
    match form.family {
        Family::Topical => "BT",
        Family::Nebulized => "BN",
        Family::Injectable => "BP",
        _ => weighted(rng, &[("BX", 70), ("BP", 15), ("BD", 10), ("BE", 5)]),
    }
}
