//! The generator: firms, application numbers and names handed out once, each plan emitted
//! as rows, and the rows rendered as `products.txt` text.

use std::collections::HashSet;

use crate::rng::XorShift64;

use super::draw::*;
use super::plan::*;
use super::text::*;
use super::words::*;
use super::{DEFAULT_ROWS, FR_NOTE, HEADER};

pub(super) struct Gen {
    pub(super) rng: XorShift64,
    pub(super) rows: Vec<Row>,
    pub(super) firms: Vec<Firm>,
    /// `firms[..brand_firms]` are brand companies, the rest generic companies.
    pub(super) brand_firms: usize,
    pub(super) used_nda: HashSet<u32>,
    pub(super) used_anda: HashSet<u32>,
    pub(super) next_overflow: u32,
    pub(super) molecule_names: HashSet<String>,
    pub(super) brand_names: HashSet<String>,
    /// Single-ingredient molecules made so far (name, salted, ladder) for combinations.
    pub(super) singles: Vec<(String, bool, usize)>,
}

impl Gen {
    pub(super) fn new(seed: u64) -> Self {
        let mut rng = XorShift64::new(seed ^ 0x6F72_616E_6765_626B);
        let mut firms: Vec<Firm> = REAL_BRANDS
            .iter()
            .map(|&(s, f)| Firm {
                short: s.to_string(),
                full: f.to_string(),
            })
            .collect();
        let mut names: HashSet<String> = firms.iter().map(|f| f.short.clone()).collect();
        let mut add_synthetic = |firms: &mut Vec<Firm>, rng: &mut XorShift64, n: usize| {
            let mut made = 0;
            while made < n {
                let word = format!("{}{}", pick(rng, FIRM_A), pick(rng, FIRM_B));
                let (s, f) = pick(rng, FIRM_SUFFIX);
                let short = if s.is_empty() {
                    word.clone()
                } else {
                    format!("{word} {s}")
                };
                if names.insert(short.clone()) {
                    firms.push(Firm {
                        short,
                        full: format!("{word} {f}"),
                    });
                    made += 1;
                }
            }
        };
        add_synthetic(&mut firms, &mut rng, 60);
        let brand_firms = firms.len();
        for &(s, f) in REAL_GENERICS {
            firms.push(Firm {
                short: s.to_string(),
                full: f.to_string(),
            });
        }
        add_synthetic(&mut firms, &mut rng, 230);
        Gen {
            rng,
            rows: Vec::with_capacity(DEFAULT_ROWS + 64),
            firms,
            brand_firms,
            used_nda: HashSet::new(),
            used_anda: HashSet::new(),
            next_overflow: 220_000,
            molecule_names: HashSet::new(),
            brand_names: HashSet::new(),
            singles: Vec::new(),
        }
    }

    pub(super) fn firm(&self, short: &str) -> u32 {
        self.firms
            .iter()
            .position(|f| f.short == short)
            .unwrap_or(0) as u32
    }

    /// A brand company, the big ones more often.
    pub(super) fn brand_firm(&mut self) -> u32 {
        let u = unit(&mut self.rng);
        ((self.brand_firms as f64 * u * u) as usize).min(self.brand_firms - 1) as u32
    }

    /// A generic company, the big ones (Teva, Mylan, Sun …) far more often.
    pub(super) fn generic_firm(&mut self) -> u32 {
        let n = self.firms.len() - self.brand_firms;
        let u = unit(&mut self.rng);
        (self.brand_firms + ((n as f64 * u.powf(2.2)) as usize).min(n - 1)) as u32
    }

    pub(super) fn unique_number(&mut self, anda: bool, year: u32) -> u32 {
        let (lo, hi) = match (anda, year) {
            (false, ..1982) => (1, 18_999),
            (false, 1982..2010) => (19_000, 22_999),
            (false, _) => (200_000, 219_999),
            (true, ..1982) => (80_000, 89_999),
            (true, 1982..2000) => (70_000, 75_999),
            (true, 2000..2010) => (76_000, 79_999),
            (true, 2010..2017) => (200_000, 209_999),
            (true, _) => (210_000, 219_999),
        };
        let mut tries = 0;
        loop {
            let n = self.rng.range(lo, hi);
            let set = if anda {
                &mut self.used_anda
            } else {
                &mut self.used_nda
            };
            if set.insert(n) {
                return n;
            }
            tries += 1;
            if tries > 24 {
                // Crowded range (very large files): numbers above every range are free.
                loop {
                    let n = self.next_overflow;
                    self.next_overflow += 1;
                    let set = if anda {
                        &mut self.used_anda
                    } else {
                        &mut self.used_nda
                    };
                    if set.insert(n) {
                        return n;
                    }
                }
            }
        }
    }

    pub(super) fn molecule_name(&mut self) -> String {
        loop {
            let stem = format!(
                "{}{}{}",
                pick(&mut self.rng, STEM_A),
                pick(&mut self.rng, STEM_B),
                pick(&mut self.rng, STEM_C)
            );
            if !self.molecule_names.contains(&stem) {
                self.molecule_names.insert(stem.clone());
                return stem;
            }
        }
    }

    pub(super) fn brand_name(&mut self) -> String {
        for attempt in 0u32.. {
            let mut name = String::new();
            let parts = if self.rng.chance(70) { 2 } else { 1 };
            for _ in 0..parts {
                name.push_str(pick(&mut self.rng, BRAND_A));
            }
            name.push_str(pick(&mut self.rng, BRAND_B));
            if attempt > 40 {
                name = format!("{name}-{attempt}");
            }
            if self.brand_names.insert(name.clone()) {
                return name;
            }
        }
        unreachable!("brand names never run out")
    }

    pub(super) fn strengths_count(&mut self) -> usize {
        weighted(
            &mut self.rng,
            &[(1, 24), (2, 26), (3, 20), (4, 14), (5, 10), (6, 6)],
        )
    }

    /// One invented molecule with all its dosage forms.
    pub(super) fn synthetic_molecule(&mut self) {
        let combo = self.singles.len() > 20 && self.rng.chance(12);
        // (name, salted, ladder) per ingredient, alphabetical.
        let mut parts: Vec<(String, bool, usize)> = Vec::new();
        if combo {
            let n = if self.rng.chance(85) { 2 } else { 3 };
            while parts.len() < n {
                let p = self.singles[self.rng.index(self.singles.len())].clone();
                if !parts.iter().any(|q| q.0 == p.0) {
                    parts.push(p);
                }
            }
            parts.sort_by(|a, b| a.0.cmp(&b.0));
            let key = parts
                .iter()
                .map(|p| p.0.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if !self.molecule_names.insert(key) {
                return;
            }
        } else {
            let stem = if !self.singles.is_empty() && self.rng.chance(5) {
                // A second salt of an existing moiety (metoprolol tartrate / succinate).
                let base = self.singles[self.rng.index(self.singles.len())].0.clone();
                base.split(' ').next().unwrap_or("").to_string()
            } else {
                self.molecule_name()
            };
            let salt = if self.rng.chance(45) {
                None
            } else {
                Some(weighted(&mut self.rng, SALTS))
            };
            let name = match salt {
                Some(s) => format!("{stem} {s}"),
                None => stem,
            };
            if !self.molecule_names.insert(format!("#{name}")) {
                return;
            }
            let ladder = self.rng.index(SOLID_LADDERS.len());
            let eq = salt.is_some() && self.rng.chance(55);
            parts.push((name, eq, ladder));
            self.singles.push(parts[0].clone());
        }
        let ingredient = parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let generic_name = parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(" AND ");
        let kind = if combo {
            0
        } else {
            weighted(
                &mut self.rng,
                &[(0u8, 62), (1, 18), (2, 9), (3, 4), (4, 3), (5, 4)],
            )
        };
        let (first, extra, n_forms): (Forms, Forms, usize) = match kind {
            0 => {
                let n = if combo {
                    weighted(&mut self.rng, &[(1, 70), (2, 30)])
                } else {
                    weighted(&mut self.rng, &[(1, 40), (2, 32), (3, 17), (4, 11)])
                };
                (&[(TABLET, 65), (CAPSULE, 35)], ORAL_EXTRA, n)
            }
            1 => (
                INJECTABLE_FORMS,
                INJECTABLE_FORMS,
                weighted(&mut self.rng, &[(1, 60), (2, 30), (3, 10)]),
            ),
            2 => (
                TOPICAL_FORMS,
                TOPICAL_FORMS,
                weighted(&mut self.rng, &[(1, 45), (2, 35), (3, 15), (4, 5)]),
            ),
            3 => (
                OPHTHALMIC_FORMS,
                OPHTHALMIC_FORMS,
                weighted(&mut self.rng, &[(1, 80), (2, 20)]),
            ),
            4 => (
                INHALATION_FORMS,
                INHALATION_FORMS,
                weighted(&mut self.rng, &[(1, 75), (2, 25)]),
            ),
            _ => (
                OTHER_FORMS,
                OTHER_FORMS,
                weighted(&mut self.rng, &[(1, 80), (2, 20)]),
            ),
        };
        let mut forms: Vec<FormSpec> = vec![weighted(&mut self.rng, first)];
        let mut guard = 0;
        while forms.len() < n_forms && guard < 50 {
            guard += 1;
            let candidate = weighted(&mut self.rng, extra);
            if !forms.iter().any(|f| f.df_route == candidate.df_route) {
                forms.push(candidate);
            }
        }
        let otc = matches!(kind, 0 | 2) && self.rng.chance(12);
        let year = self.rng.range(1955, 2025);
        let brand = self.brand_name();
        let brand_firm = self.brand_firm();
        for (i, form) in forms.iter().enumerate() {
            let form_year = if i == 0 {
                year
            } else {
                (year + self.rng.range(2, 18)).min(2025)
            };
            let s = self.strengths_count();
            let ladder_len = style_ladder(form.style, form.family, parts[0].2).len();
            let s = s.min(ladder_len);
            let start = self.rng.index(ladder_len - s + 1);
            let strengths: Vec<String> = (start..start + s)
                .map(|j| {
                    parts
                        .iter()
                        .map(|p| {
                            let ladder = style_ladder(form.style, form.family, p.2);
                            strength_amount(form.style, ladder[j.min(ladder.len() - 1)], p.1)
                        })
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .collect();
            let trade_name = if i == 0 {
                brand.clone()
            } else if form.er {
                format!("{brand}{}", pick(&mut self.rng, ER_SUFFIX))
            } else if self.rng.chance(60) {
                brand.clone()
            } else {
                self.brand_name()
            };
            let generics = if otc {
                generic_count(&mut self.rng).min(12)
            } else {
                generic_count(&mut self.rng)
            };
            let family = match form.family {
                Family::Oral if !form.er && self.rng.chance(16) => "AA",
                Family::Oral | Family::Ab => "AB",
                Family::Solution => {
                    if self.rng.chance(70) {
                        "AA"
                    } else {
                        "AB"
                    }
                }
                Family::Injectable
                    if form.df_route.ends_with(";INTRAMUSCULAR") && self.rng.chance(30) =>
                {
                    "AO"
                }
                Family::Injectable => "AP",
                Family::Topical => {
                    if self.rng.chance(60) {
                        "AT"
                    } else {
                        "AB"
                    }
                }
                Family::Nebulized => "AN",
            };
            let scheme = if otc || generics < 2 || family == "AA" {
                Scheme::Single
            } else {
                match self.rng.below(1000) {
                    0..24 => Scheme::TwoRld,
                    24..42 => Scheme::MultiCode(self.rng.range(3, 4) as u8),
                    _ => Scheme::Single,
                }
            };
            let all_strengths: Vec<usize> = (0..strengths.len()).collect();
            let mut brands = vec![BrandPlan {
                trade_name,
                applicant: brand_firm,
                rld: true,
                strengths: all_strengths.clone(),
                codes: Vec::new(),
                year: form_year,
                appl_no: None,
            }];
            match scheme {
                Scheme::Single => {}
                Scheme::TwoRld => {
                    brands[0].codes = vec![1];
                    let k = self.rng.range(1, 2).min(strengths.len() as u32) as usize;
                    let from = self.rng.index(strengths.len() - k + 1);
                    let applicant = if self.rng.chance(50) {
                        brand_firm
                    } else {
                        self.brand_firm()
                    };
                    let trade_name = self.brand_name();
                    brands.push(BrandPlan {
                        trade_name,
                        applicant,
                        rld: true,
                        strengths: (from..from + k).collect(),
                        codes: vec![2],
                        year: (form_year + self.rng.range(1, 8)).min(2025),
                        appl_no: None,
                    });
                }
                Scheme::MultiCode(k) => {
                    let n_brands = self.rng.range(2, u32::from(k)) as u8;
                    brands[0].codes = self.code_set(k, 1);
                    for r in 2..=n_brands {
                        let trade_name = self.brand_name();
                        let applicant = self.brand_firm();
                        let codes = self.code_set(k, r);
                        brands.push(BrandPlan {
                            trade_name,
                            applicant,
                            rld: true,
                            strengths: all_strengths.clone(),
                            codes,
                            year: (form_year + self.rng.range(0, 6)).min(2025),
                            appl_no: None,
                        });
                    }
                    if self.rng.chance(50) {
                        // A 505(b)(2) NDA rated against several references (Levo-T).
                        let trade_name = self.brand_name();
                        let applicant = self.brand_firm();
                        let codes = (1..k).collect();
                        brands.push(BrandPlan {
                            trade_name,
                            applicant,
                            rld: false,
                            strengths: all_strengths.clone(),
                            codes,
                            year: (form_year + self.rng.range(0, 6)).min(2025),
                            appl_no: None,
                        });
                    }
                }
            }
            let special_note = matches!(scheme, Scheme::MultiCode(_)).then(|| {
                format!(
                    " **See current Annual Edition, 1.8 Description of Special Situations, {}",
                    title_case(&ingredient)
                )
            });
            let all_discn = self.rng.chance(12);
            let plan = Plan {
                ingredient: ingredient.clone(),
                generic_name: generic_name.clone(),
                form: *form,
                strengths,
                brands,
                generic_codes: Vec::new(),
                generics,
                scheme,
                family,
                otc,
                all_discn,
                brand_discn: 15,
                special_note,
            };
            self.emit(&plan);
        }
    }

    /// A random code set of `k` references that contains `own`.
    pub(super) fn code_set(&mut self, k: u8, own: u8) -> Vec<u8> {
        let mut set = vec![own];
        for r in 1..=k {
            if r != own && self.rng.chance(45) {
                set.push(r);
            }
        }
        set.sort_unstable();
        set
    }

    /// A generic's code set in a multi-coded group: one reference, several, or all.
    pub(super) fn generic_code_set(&mut self, k: u8) -> Vec<u8> {
        let roll = self.rng.below(100);
        if roll < 35 {
            vec![self.rng.range(1, u32::from(k)) as u8]
        } else if roll < 70 {
            let mut set: Vec<u8> = (1..=k).filter(|_| self.rng.chance(60)).collect();
            if set.len() < 2 {
                set = vec![1, 2];
            }
            set
        } else {
            (1..=k).collect()
        }
    }

    pub(super) fn strength_cell(
        &mut self,
        plan: &Plan,
        idx: usize,
        status: Status,
        rld: bool,
    ) -> String {
        let mut s = plan.strengths[idx].clone();
        if status == Status::Discn && rld && self.rng.chance(40) {
            s.push_str(FR_NOTE);
        } else if let Some(note) = &plan.special_note
            && (status != Status::Discn || self.rng.chance(50))
        {
            s.push_str(note);
        } else if per_mille(&mut self.rng, 4) {
            s.push(' ');
        }
        s
    }

    pub(super) fn emit(&mut self, plan: &Plan) {
        let first_row = self.rows.len();
        let rated = !plan.otc && (plan.generics > 0 || plan.brands.len() > 1);
        // Brands.
        let mut rs_candidates: Vec<(usize, usize)> = Vec::new(); // (row, strength) of RX RLD rows
        for brand in &plan.brands {
            let appl_no = match brand.appl_no {
                Some(n) if self.used_nda.insert(n) => n,
                _ => self.unique_number(false, brand.year),
            };
            let mut best: Option<(usize, usize)> = None;
            for (n, &idx) in brand.strengths.iter().enumerate() {
                let status = if plan.all_discn || self.rng.chance(plan.brand_discn) {
                    Status::Discn
                } else if plan.otc {
                    Status::Otc
                } else {
                    Status::Rx
                };
                let te = if status == Status::Rx && rated {
                    codes_text(plan.family, &brand.codes)
                } else {
                    String::new()
                };
                let year = if n == 0 {
                    brand.year
                } else {
                    (brand.year + self.rng.range(0, 5)).min(2026)
                };
                let approval = approval_text(&mut self.rng, year);
                let strength = self.strength_cell(plan, idx, status, brand.rld);
                self.rows.push(Row {
                    ingredient: plan.ingredient.clone(),
                    df_route: plan.form.df_route,
                    trade_name: brand.trade_name.clone(),
                    applicant: brand.applicant,
                    strength,
                    strength_rank: idx,
                    nda: true,
                    appl_no,
                    product_no: (n + 1) as u16,
                    te,
                    approval,
                    rld: brand.rld,
                    rs: false,
                    status,
                });
                if brand.rld && status != Status::Discn {
                    best = Some((self.rows.len() - 1, idx));
                }
            }
            if let Some(b) = best {
                rs_candidates.push(b);
            }
        }
        for (row, _) in &rs_candidates {
            self.rows[*row].rs = true;
        }
        // Generics: one ANDA per applicant (two for some applicants in two-RLD groups).
        let mut chosen: Vec<u32> = Vec::with_capacity(plan.generics);
        let brand_year = plan.brands.first().map_or(1990, |b| b.year);
        let mut generic_rows_start = None;
        for g in 0..plan.generics {
            let mut applicant = self.generic_firm();
            let mut guard = 0;
            while chosen.contains(&applicant) && guard < 64 {
                applicant = self.generic_firm();
                guard += 1;
            }
            chosen.push(applicant);
            // (allowed strengths, codes) per ANDA of this applicant.
            let mut andas: Vec<(Vec<usize>, Vec<u8>)> = Vec::with_capacity(2);
            let all: Vec<usize> = (0..plan.strengths.len()).collect();
            match plan.scheme {
                Scheme::Single => andas.push((all, Vec::new())),
                Scheme::TwoRld => {
                    let second = plan
                        .brands
                        .get(1)
                        .map(|b| b.strengths.clone())
                        .unwrap_or_default();
                    // Big groups: one ANDA per applicant, so no bucket passes 40.
                    let both = if plan.generics > 20 { 100 } else { 90 };
                    match self.rng.below(both) {
                        0..70 => andas.push((all, vec![1])),
                        70..90 => andas.push((second, vec![2])),
                        _ => {
                            andas.push((all, vec![1]));
                            andas.push((second, vec![2]));
                        }
                    }
                }
                Scheme::MultiCode(k) => {
                    let codes = match plan.generic_codes.get(g) {
                        Some(c) => c.clone(),
                        None => self.generic_code_set(k),
                    };
                    andas.push((all, codes));
                }
            }
            for (allowed, codes) in andas {
                if allowed.is_empty() {
                    continue;
                }
                let year = self.rng.range((brand_year + 3).min(2026), 2026);
                let appl_no = self.unique_number(true, year);
                let approval = approval_text(&mut self.rng, year);
                let app_discn = plan.all_discn || self.rng.chance(24);
                let app_b = self.rng.chance(2);
                let b = b_code(&mut self.rng, &plan.form);
                let mut covered: Vec<usize> = allowed
                    .iter()
                    .copied()
                    .filter(|_| self.rng.chance(85))
                    .collect();
                if covered.is_empty() {
                    covered.push(allowed[self.rng.index(allowed.len())]);
                }
                let trade_name = if self.rng.chance(3) && !plan.otc {
                    self.brand_name()
                } else {
                    plan.generic_name.clone()
                };
                for (n, idx) in covered.into_iter().enumerate() {
                    let status = if app_discn || self.rng.chance(8) {
                        Status::Discn
                    } else if plan.otc {
                        Status::Otc
                    } else {
                        Status::Rx
                    };
                    let te = if status != Status::Rx || !rated {
                        String::new()
                    } else if app_b {
                        b.to_string()
                    } else if per_mille(&mut self.rng, 5) {
                        // Not yet rated.
                        String::new()
                    } else {
                        codes_text(plan.family, &codes)
                    };
                    let strength = self.strength_cell(plan, idx, status, false);
                    generic_rows_start.get_or_insert(self.rows.len());
                    self.rows.push(Row {
                        ingredient: plan.ingredient.clone(),
                        df_route: plan.form.df_route,
                        trade_name: trade_name.clone(),
                        applicant,
                        strength,
                        strength_rank: idx,
                        nda: false,
                        appl_no,
                        product_no: (n + 1) as u16,
                        te,
                        approval: approval.clone(),
                        rld: false,
                        rs: false,
                        status,
                    });
                }
            }
        }
        // No marketed RLD: an ANDA of the top strength becomes the reference standard.
        if rs_candidates.is_empty()
            && let Some(start) = generic_rows_start
        {
            let top = self.rows[start..]
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status == Status::Rx)
                .max_by_key(|(_, r)| r.strength_rank)
                .map(|(i, _)| start + i);
            if let Some(i) = top {
                self.rows[i].rs = true;
            }
        }
        debug_assert!(self.rows.len() >= first_row);
    }

    pub(super) fn render(mut self) -> String {
        let firms = &self.firms;
        self.rows.sort_by(|a, b| {
            (
                a.df_route,
                &a.trade_name,
                &firms[a.applicant as usize].short,
                a.strength_rank,
                !a.nda,
                a.appl_no,
                a.product_no,
            )
                .cmp(&(
                    b.df_route,
                    &b.trade_name,
                    &firms[b.applicant as usize].short,
                    b.strength_rank,
                    !b.nda,
                    b.appl_no,
                    b.product_no,
                ))
        });
        let mut out = String::with_capacity(self.rows.len() * 150 + HEADER.len() + 1);
        out.push_str(HEADER);
        out.push('\n');
        for r in &self.rows {
            let firm = &firms[r.applicant as usize];
            let yes = |b: bool| if b { "Yes" } else { "No" };
            let status = match r.status {
                Status::Rx => "RX",
                Status::Otc => "OTC",
                Status::Discn => "DISCN",
            };
            for field in [
                r.ingredient.as_str(),
                r.df_route,
                &r.trade_name,
                &firm.short,
                &r.strength,
                if r.nda { "N" } else { "A" },
                &format!("{:06}", r.appl_no),
                &format!("{:03}", r.product_no),
                &r.te,
                &r.approval,
                yes(r.rld),
                yes(r.rs),
                status,
            ] {
                out.push_str(field);
                out.push('~');
            }
            out.push_str(&firm.full);
            out.push('\n');
        }
        out
    }
}
